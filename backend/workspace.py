"""Task workspaces: a branch `corral/<slug>` in the user's repo and a self-contained clone of it.

Why a clone and not a worktree: a worktree's `.git` file holds an absolute host path, which does
not exist inside the sandbox, so git would break there. `git clone --local` hard-links objects
(cheap) and is self-contained. The user's checkout is never touched: only the task's branch ref
is written (by `sync_branch`, which fetches the agent's commits back).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from backend.errors import ConflictError, UsageError, WorkspaceError

# Host-side git runs as us on a workspace owned by the sandbox user: let git trust it.
GIT_ENV = {
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "safe.directory",
    "GIT_CONFIG_VALUE_0": "*",
    "GIT_CONFIG_KEY_1": "protocol.file.allow",
    "GIT_CONFIG_VALUE_1": "always",
    "GIT_TERMINAL_PROMPT": "0",
}


def _git(path: Path | str) -> git.Git:
    g = git.Git(str(path))
    g.update_environment(**GIT_ENV)
    return g


def run_git(path: Path | str, *args: str, uid: int = 0, env: dict[str, str] | None = None) -> str:
    """Run git in `path`. With `uid` (and us root) the files git writes in a workspace are
    handed to that user afterwards, so the agent in the sandbox can keep committing.

    Why not run git as the uid: the data dir usually sits under a root-only home (/root), which
    that user cannot even traverse, so git could not find its own working tree."""
    since = time.time_ns()
    result = _run(path, list(args), env or {})
    if uid and os.geteuid() == 0:
        give_back(Path(path), uid, since, whole_tree=bool(args) and args[0] in _TREE_WRITERS)
    return result


# git commands that write working-tree files (the rest write only inside .git).
_TREE_WRITERS = {"checkout", "checkout-index", "reset", "restore", "stash", "merge", "rm", "mv",
                 "clean", "read-tree", "apply", "cherry-pick", "revert", "pull"}  # fmt: skip


def _run(path: Path | str, args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=path,
        env={**os.environ, **GIT_ENV, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise WorkspaceError(
            f"git {args[0]} failed in {path}: {detail[-1] if detail else f'exit {proc.returncode}'}"
        )
    return proc.stdout.rstrip("\n")


def give_back(path: Path, uid: int, since_ns: int, *, whole_tree: bool = False) -> None:
    """chown to `uid` what root wrote in a workspace since `since_ns`. Inside .git that is the
    small metadata (HEAD, index, refs, logs) plus new loose objects — object directories are
    visited only when they changed, so the cost follows what git wrote, not the repo size.
    `whole_tree` adds the working files (after checkout, reset, ...)."""
    if not uid or os.geteuid() != 0:
        return
    git_dir = path / ".git"
    if whole_tree or not git_dir.is_dir():
        _give_back_walk(path, uid, skip=git_dir)
    if git_dir.is_dir():
        _give_back_walk(git_dir, uid, skip=git_dir / "objects")
        give_back_objects(path, uid, since_ns)


def _give_back_walk(top: Path, uid: int, skip: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        if Path(dirpath) == skip.parent and skip.name in dirnames:
            dirnames.remove(skip.name)
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if st.st_uid == 0 and (st.st_nlink == 1 or name in dirnames):
                os.lchown(full, uid, uid)
    if os.lstat(top).st_uid == 0:
        os.lchown(top, uid, uid)


def give_back_objects(ws: Path, uid: int, since_ns: int) -> None:
    """New loose objects: only object directories changed since `since_ns` are read. Objects
    hard-linked with the user's repo (several links) are left alone: chowning them would change
    the user's repo."""
    if not uid or os.geteuid() != 0:
        return
    objects = ws / ".git" / "objects"
    if not objects.is_dir():
        return
    with os.scandir(objects) as top:
        for entry in top:
            if len(entry.name) != 2 or not entry.is_dir(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            if st.st_mtime_ns < since_ns - 1_000_000_000 and st.st_uid == uid:
                continue  # untouched (a second of slack for coarse timestamps)
            if st.st_uid != uid:
                os.lchown(entry.path, uid, uid)
            with os.scandir(entry.path) as inner:
                for obj in inner:
                    ost = obj.stat(follow_symlinks=False)
                    if ost.st_uid != uid and ost.st_nlink == 1:
                        os.lchown(obj.path, uid, uid)


def repo_root(path: str | Path) -> Path:
    p = Path(path).expanduser()
    try:
        repo = git.Repo(p, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError) as exc:
        raise UsageError(
            f"{p} is not inside a git repository; run corral in a repo or pass --repo PATH"
        ) from exc
    if repo.bare or repo.working_tree_dir is None:
        raise UsageError(f"{p} is a bare repository; pass --repo with a checkout")
    return Path(repo.working_tree_dir).resolve()


@dataclass(frozen=True)
class Base:
    ref: str  # what the user named (or the branch HEAD is on)
    commit: str


def resolve_base(root: Path, ref: str | None) -> Base:
    repo = git.Repo(root)
    try:
        if ref is None:
            if not repo.head.is_valid():
                raise UsageError(f"{root} has no commits yet; commit something first")
            name = "HEAD" if repo.head.is_detached else repo.active_branch.name
            return Base(name, repo.head.commit.hexsha)
        return Base(ref, repo.commit(ref).hexsha)
    except (git.BadName, ValueError, GitCommandError) as exc:
        raise UsageError(
            f"base {ref!r} is not a commit in {root}; give a branch, tag or sha"
        ) from exc


def branch_names(root: Path) -> set[str]:
    return {h.name for h in git.Repo(root).heads}


def branch_commit(root: Path, branch: str) -> str | None:
    """The branch tip, or None. Plain git (with GIT_ENV), not GitPython's object reader: the
    workspace belongs to the sandbox user and git must be told to trust it."""
    try:
        out = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except WorkspaceError:
        return None
    return out.strip() or None


def create_branch(root: Path, branch: str, commit: str) -> None:
    if branch in branch_names(root):
        raise ConflictError(f"branch {branch} already exists in {root}; pick another task name")
    run_git(root, "branch", "--no-track", branch, commit)


def delete_branch(root: Path, branch: str) -> None:
    if branch in branch_names(root):
        run_git(root, "branch", "-D", branch)


def clone(root: Path, branch: str, dest: Path, *, uid: int, task_name: str) -> None:
    """Make the task's self-contained workspace at `dest`, on `branch`, owned by `uid`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_git(dest.parent, "clone", "--quiet", "--local", "--branch", branch, str(root), str(dest))
    run_git(dest, "config", "user.name", f"Corral agent ({task_name})")
    run_git(dest, "config", "user.email", "agent@corral.invalid")
    # Inside the sandbox the user's repo path does not exist; keep it as a named remote only.
    run_git(dest, "remote", "rename", "origin", "home")
    _clone_submodules(root, dest)
    chown_tree(dest, uid)


def _clone_submodules(root: Path, dest: Path) -> None:
    if not (dest / ".gitmodules").is_file():
        return
    modules = root / ".git" / "modules"
    run_git(dest, "submodule", "init")
    try:
        listing = run_git(dest, "config", "--file", ".gitmodules", "--get-regexp", r"\.path$")
    except WorkspaceError:
        return
    for line in listing.splitlines():
        key, _, _path = line.partition(" ")
        name = key.removeprefix("submodule.").removesuffix(".path")
        if (modules / name).is_dir():  # prefer the user's local copy: no network needed
            run_git(dest, "config", f"submodule.{name}.url", str(modules / name))
    run_git(dest, "submodule", "update", "--init", "--recursive")


def chown_tree(path: Path, uid: int) -> None:
    """Give the sandbox user the workspace. Files with several links are objects hard-linked
    with the user's repo: they are read-only to everyone anyway, and chowning them would change
    the user's repo, so they are left alone."""
    if uid == 0 or os.geteuid() != 0:
        return
    os.chown(path, uid, uid)
    for dirpath, dirnames, filenames in os.walk(path):
        for d in dirnames:
            os.lchown(os.path.join(dirpath, d), uid, uid)
        for f in filenames:
            full = os.path.join(dirpath, f)
            st = os.lstat(full)
            if st.st_nlink == 1:
                os.lchown(full, uid, uid)


def sync_branch(root: Path, workspace: Path, branch: str) -> str | None:
    """Bring the agent's commits on `branch` home to the user's repo. Returns the new tip, or
    None when nothing changed. The task owns its branch, so a rewrite (reset) is followed."""
    ws_tip = branch_commit(workspace, branch) if workspace.exists() else None
    if ws_tip is None or ws_tip == branch_commit(root, branch):
        return None
    fetch_from_workspace(root, workspace, f"+refs/heads/{branch}:refs/heads/{branch}")
    return ws_tip


def fetch_from_workspace(root: Path, workspace: Path, *refspecs: str) -> None:
    """`git fetch` refs from a task workspace (owned by the sandbox user) into the user's repo.
    git strips config from a local upload-pack's environment, so trusting the workspace is said
    on upload-pack's own command line."""
    run_git(
        root, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
        "--upload-pack=git -c safe.directory=* upload-pack", str(workspace), *refspecs,
    )  # fmt: skip


def remove(workspace: Path) -> None:
    if workspace.exists():
        shutil.rmtree(workspace)


def current_branch_of(root: Path) -> str | None:
    repo = git.Repo(root)
    return None if repo.head.is_detached else repo.active_branch.name
