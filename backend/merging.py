"""Bringing a task branch home: merge into its base branch only when it applies cleanly.

The merge is computed with `git merge-tree --write-tree` (no working tree involved). If the
base branch is checked out in the user's repo we only proceed when that checkout is clean,
and then let `git merge` update it as the user asked; otherwise only the ref moves.
"""

from __future__ import annotations

from pathlib import Path

from backend.errors import ConflictError, UsageError, WorkspaceError
from backend.models import MergeResult
from backend.workspace import branch_names, current_branch_of, run_git


def merge_into_base(root: Path, branch: str, base: str) -> MergeResult:
    if base not in branch_names(root):
        raise UsageError(
            f"base {base!r} is not a branch, so there is nothing to merge into; "
            f"merge by hand: git merge {branch}"
        )
    base_sha = run_git(root, "rev-parse", f"refs/heads/{base}").strip()
    tip = run_git(root, "rev-parse", f"refs/heads/{branch}").strip()
    if _is_ancestor(root, tip, base_sha):
        return MergeResult(merged=True, into=base, commit=base_sha)  # already in
    try:
        out = run_git(
            root, "merge-tree", "--write-tree", "--name-only", "--no-messages", base_sha, tip
        )
        tree, conflicts = out.strip().splitlines()[0], []
    except WorkspaceError as exc:
        conflicts = _conflicted_files(root, base_sha, tip)
        if not conflicts:
            raise exc
        return MergeResult(merged=False, into=base, conflicts=conflicts)
    checked_out = current_branch_of(root) == base
    if checked_out:
        if run_git(root, "status", "--porcelain", "--untracked-files=no").strip():
            raise ConflictError(
                f"your checkout of {base} has uncommitted changes; commit or stash them, "
                "then run complete-task --merge again"
            )
        run_git(root, "merge", "--no-edit", "--quiet", branch)
        return MergeResult(
            merged=True, into=base, commit=run_git(root, "rev-parse", "HEAD").strip()
        )
    if _is_ancestor(root, base_sha, tip):  # fast-forward: just move the ref
        new = tip
    else:
        msg = f"Merge branch '{branch}' into {base}"
        new = run_git(root, "commit-tree", tree, "-p", base_sha, "-p", tip, "-m", msg).strip()
    run_git(root, "update-ref", f"refs/heads/{base}", new, base_sha)
    return MergeResult(merged=True, into=base, commit=new)


def conflicts(root: Path, branch: str, base: str) -> list[str]:
    """Files that would conflict if `branch` were merged into `base` now (empty: clean)."""
    if base not in branch_names(root):
        raise UsageError(
            f"base {base!r} is not a branch, so there is nothing to merge into; "
            f"complete without --merge and merge by hand: git merge {branch}"
        )
    base_sha = run_git(root, "rev-parse", f"refs/heads/{base}").strip()
    tip = run_git(root, "rev-parse", f"refs/heads/{branch}").strip()
    return _conflicted_files(root, base_sha, tip)


def _is_ancestor(root: Path, a: str, b: str) -> bool:
    try:
        run_git(root, "merge-base", "--is-ancestor", a, b)
        return True
    except WorkspaceError:
        return False


def _conflicted_files(root: Path, base_sha: str, tip: str) -> list[str]:
    """merge-tree exits 1 on conflicts; GitPython raises, so run it again keeping the output."""
    import subprocess

    from backend.workspace import GIT_ENV

    proc = subprocess.run(
        ["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", base_sha, tip],
        cwd=root,
        capture_output=True,
        text=True,
        env={**_env(), **GIT_ENV},
        check=False,
    )
    if proc.returncode != 1:
        return []
    lines = proc.stdout.strip().splitlines()[1:]
    return sorted({ln for ln in lines if ln})


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
