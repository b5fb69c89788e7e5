"""The workspace half of a checkpoint: a commit object of every file git can see (untracked ones
included, .gitignore honoured), built with a temporary index so the agent's index, HEAD, branch
and stash are never touched.

Why it is cheap: the temporary index starts as a copy of a "shadow" index kept from the task's
previous checkpoint (or of the agent's own index the first time). Its stat cache lets
`git add -A` skip every unchanged file, so the cost follows the changed files, not the repo.

Git runs as us; whatever it writes into a workspace is handed to the sandbox user (`uid`) right
away, so the agent can keep committing there. Only the paths a command can have written are
visited (see the ownership helpers at the end), so this stays cheap.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from backend.errors import WorkspaceError
from backend.workspace import fetch_from_workspace, give_back, give_back_objects, run_git

REF_ROOT = "refs/corral/checkpoints"
SHADOW_INDEX = "corral-checkpoint.index"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
GITLINK = "160000"
AUTHOR = {
    "GIT_AUTHOR_NAME": "Corral checkpoint",
    "GIT_AUTHOR_EMAIL": "checkpoint@corral.invalid",
    "GIT_COMMITTER_NAME": "Corral checkpoint",
    "GIT_COMMITTER_EMAIL": "checkpoint@corral.invalid",
}


def ref_name(task_id: str, n: int) -> str:
    return f"{REF_ROOT}/{task_id}/{n}"


@dataclass
class TreeSnapshot:
    tree: str
    index: Path  # the temporary index that produced it (keep it as the next shadow, or drop it)


def head_sha(ws: Path, uid: int) -> str | None:
    """Where the agent's HEAD points. Read from the files when they are plain (saves a git
    process on every checkpoint), else asked of git."""
    fast = _read_head(ws / ".git")
    if fast:
        return fast
    try:
        return run_git(ws, "rev-parse", "-q", "--verify", "HEAD^{commit}") or None
    except WorkspaceError:
        return None  # an unborn branch: no commits yet


def _read_head(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head if len(head) == 40 else None
        name = head[5:]
        loose = git_dir / name
        if loose.is_file():
            sha = loose.read_text().strip()
            return sha if len(sha) == 40 else None
        for line in (git_dir / "packed-refs").read_text().splitlines():
            if line.endswith(f" {name}") and not line.startswith(("#", "^")):
                return line.split(" ", 1)[0]
    except OSError:
        pass
    return None


def snapshot_tree(ws: Path, uid: int, *, purpose: str = "checkpoint") -> TreeSnapshot:
    """Write a tree of the workspace as it is now (blobs land in the workspace's objects)."""
    git_dir = ws / ".git"
    if not git_dir.is_dir():
        raise WorkspaceError(f"{ws} is not a git workspace any more; it cannot be checkpointed")
    tmp = git_dir / f"{SHADOW_INDEX}.{purpose}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    for seed in (git_dir / SHADOW_INDEX, git_dir / "index"):
        if seed.exists():
            shutil.copy2(seed, tmp)  # copy2 keeps the mtime git's racy-clean check relies on
            _own(tmp, uid)
            break
    env = {"GIT_INDEX_FILE": str(tmp)}
    try:
        since = time.time_ns()
        run_git(ws, "add", "-A", "--ignore-errors", env=env)
        tree = run_git(ws, "write-tree", env=env)
        give_back_objects(ws, uid, since)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return TreeSnapshot(tree, tmp)


def keep_as_shadow(ws: Path, snap: TreeSnapshot) -> None:
    os.replace(snap.index, ws / ".git" / SHADOW_INDEX)


def drop(snap: TreeSnapshot) -> None:
    snap.index.unlink(missing_ok=True)


def commit_tree(ws: Path, uid: int, tree: str, parent: str | None, message: str) -> str:
    args = ["commit-tree", tree, "-m", message or "checkpoint"]
    if parent:
        args += ["-p", parent]
    since = time.time_ns()
    commit = run_git(ws, *args, env=AUTHOR)
    give_back_objects(ws, uid, since)
    return commit


def set_ref(repo: Path, ref: str, sha: str, uid: int = 0) -> None:
    run_git(repo, "update-ref", ref, sha)
    _give_back_tree(repo / ".git" / "refs" / "corral", uid)


def mirror(root: Path, ws: Path, ref: str) -> None:
    """Copy a checkpoint ref (and the objects it needs) into the user's repo, where it
    outlives the workspace."""
    fetch_from_workspace(root, ws, f"+{ref}:{ref}")


def list_refs(repo: Path, task_id: str | None = None, uid: int = 0) -> dict[tuple[str, int], str]:
    """(task id, n) -> commit for every checkpoint ref in `repo` (or one task's)."""
    prefix = f"{REF_ROOT}/{task_id}/" if task_id else f"{REF_ROOT}/"
    out = run_git(repo, "for-each-ref", "--format=%(objectname) %(refname)", prefix)
    found: dict[tuple[str, int], str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        parts = ref.removeprefix(f"{REF_ROOT}/").split("/")
        if len(parts) == 2 and parts[1].isdigit():
            found[(parts[0], int(parts[1]))] = sha
    return found


def delete_ref(repo: Path, ref: str, uid: int = 0) -> None:
    with contextlib.suppress(WorkspaceError):  # already gone
        run_git(repo, "update-ref", "-d", ref)


def has_object(repo: Path, sha: str, uid: int = 0) -> bool:
    try:
        run_git(repo, "cat-file", "-e", f"{sha}^{{commit}}")
        return True
    except WorkspaceError:
        return False


@dataclass
class Change:
    old_mode: str
    new_mode: str
    status: str  # A, D, M, T
    path: str


def changes(repo: Path, uid: int, a: str, b: str) -> list[Change]:
    """Every file that differs between two tree-ishes (no rename detection: exact)."""
    out = run_git(repo, "diff-tree", "-r", "-z", "--no-renames", a, b)
    fields = out.split("\0")
    result: list[Change] = []
    i = 0
    while i + 1 < len(fields):
        meta, path = fields[i], fields[i + 1]
        i += 2
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, _old, _new, status = meta[1:].split(" ")
        result.append(Change(old_mode, new_mode, status[:1], path))
    return result


def count_changes(repo: Path, uid: int, a: str | None, b: str) -> int:
    return len(changes(repo, uid, a or EMPTY_TREE, b))


def restore_files(ws: Path, uid: int, current: str, target: str) -> tuple[int, int]:
    """Make the workspace files those of `target`, given that they are now those of `current`
    (a tree taken a moment ago). Touches only what differs: removes files `target` lacks,
    writes the rest with their recorded modes and symlinks. Ignored files are never in either
    tree, so they are left alone. Returns (files written, files removed)."""
    diff = [c for c in changes(ws, uid, current, target) if GITLINK not in (c.old_mode, c.new_mode)]
    removed = [c.path for c in diff if c.status == "D"]
    written = [c.path for c in diff if c.status in ("A", "M", "T")]
    for rel in removed:
        _remove(ws, rel)
    if written:
        tmp = ws / ".git" / f"{SHADOW_INDEX}.restore-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        env = {"GIT_INDEX_FILE": str(tmp)}
        try:
            run_git(ws, "read-tree", target, env=env)
            for start in range(0, len(written), 500):  # stay far below the argv limit
                chunk = written[start : start + 500]
                run_git(ws, "checkout-index", "-f", "-q", "--", *chunk, env=env)
            for rel in written:
                _give_back_path(ws, rel, uid)
        finally:
            tmp.unlink(missing_ok=True)
    return len(written), len(removed)


def reset_head(ws: Path, uid: int, head: str) -> None:
    """Put the agent's branch (and index) back where they were at the checkpoint; the files
    are restored separately. Later commits stay reachable from the safety checkpoint."""
    since = time.time_ns()
    run_git(ws, "reset", "-q", "--mixed", head)  # writes only inside .git: no tree walk
    give_back(ws, uid, since)


def diff_text(repo: Path, uid: int, a: str, b: str, max_bytes: int) -> tuple[str, bool]:
    patch = run_git(repo, "diff", "--no-color", "--no-ext-diff", "--binary", a, b)
    if len(patch) > max_bytes:
        return patch[:max_bytes], True
    return patch, False


def _remove(ws: Path, rel: str) -> None:
    target = ws / rel
    try:
        if target.is_dir() and not target.is_symlink():
            return  # a directory where the tree had a file: git's view was stale; leave it
        target.unlink()
    except FileNotFoundError:
        pass
    parent = target.parent
    while parent != ws and parent.is_relative_to(ws):
        try:
            parent.rmdir()  # only succeeds when empty: git cannot hold empty directories
        except OSError:
            break
        parent = parent.parent


def _own(path: Path, uid: int) -> None:
    if uid and os.geteuid() == 0:
        os.lchown(path, uid, uid)


# Ownership. Git runs as us (root, in the usual setup) and what it writes into a workspace is
# handed to the sandbox user right after, so the agent's own git keeps working (gc, commit).
# Only what the command can have written is visited: walking the whole workspace after every
# git call would cost more than the checkpoint itself.


def _give_back_tree(top: Path, uid: int) -> None:
    if not uid or os.geteuid() != 0 or not top.exists():
        return
    _own(top, uid)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            if os.lstat(full).st_uid != uid:
                os.lchown(full, uid, uid)


def _give_back_path(ws: Path, rel: str, uid: int) -> None:
    """A file checkout-index wrote, and any directory it had to create for it."""
    if not uid or os.geteuid() != 0:
        return
    target = ws / rel
    while target != ws and target.is_relative_to(ws):
        try:
            if os.lstat(target).st_uid == uid:
                break
            os.lchown(target, uid, uid)
        except FileNotFoundError:
            pass
        target = target.parent
