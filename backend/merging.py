"""Bringing a task branch home: merge into its base branch only when it applies cleanly.

The merge is computed with `git merge-tree --write-tree` (no working tree involved). If the
base branch is checked out in the user's repo we only proceed when that checkout is clean,
and then let `git merge` update it as the user asked; otherwise only the ref moves.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from backend.errors import ConflictError, UsageError, WorkspaceError
from backend.models import MergeResult
from backend.workspace import GIT_ENV, branch_names, current_branch_of, run_git


def _tips(root: Path, branch: str, base: str) -> tuple[str, str]:
    """(base tip, branch tip), refusing a base that is not a branch."""
    if base not in branch_names(root):
        raise UsageError(
            f"base {base!r} is not a branch, so there is nothing to merge into; "
            f"complete without --merge and merge by hand: git merge {branch}"
        )
    base_sha = run_git(root, "rev-parse", f"refs/heads/{base}").strip()
    return base_sha, run_git(root, "rev-parse", f"refs/heads/{branch}").strip()


def conflicts(root: Path, branch: str, base: str) -> list[str]:
    """Files that would conflict if `branch` were merged into `base` now (empty: clean).
    Refuses up front when the base is checked out with uncommitted changes."""
    base_sha, tip = _tips(root, branch, base)
    _refuse_dirty_checkout(root, base)
    return _merge_tree(root, base_sha, tip)[1]


def _refuse_dirty_checkout(root: Path, base: str) -> None:
    if current_branch_of(root) != base:
        return
    if run_git(root, "status", "--porcelain", "--untracked-files=no").strip():
        raise ConflictError(
            f"your checkout of {base} has uncommitted changes; commit or stash them, "
            "then run complete-task --merge again"
        )


def merge_into_base(root: Path, branch: str, base: str) -> MergeResult:
    base_sha, tip = _tips(root, branch, base)
    if _is_ancestor(root, tip, base_sha):
        return MergeResult(merged=True, into=base, commit=base_sha)  # already in
    tree, clash = _merge_tree(root, base_sha, tip)
    if clash:
        return MergeResult(merged=False, into=base, conflicts=clash)
    if current_branch_of(root) == base:
        _refuse_dirty_checkout(root, base)
        run_git(root, "merge", "--no-edit", "--quiet", branch)
        head = run_git(root, "rev-parse", "HEAD").strip()
        return MergeResult(merged=True, into=base, commit=head)
    if _is_ancestor(root, base_sha, tip):  # fast-forward: just move the ref
        new = tip
    else:
        msg = f"Merge branch '{branch}' into {base}"
        new = run_git(root, "commit-tree", tree, "-p", base_sha, "-p", tip, "-m", msg).strip()
    run_git(root, "update-ref", f"refs/heads/{base}", new, base_sha)
    return MergeResult(merged=True, into=base, commit=new)


def _is_ancestor(root: Path, a: str, b: str) -> bool:
    try:
        run_git(root, "merge-base", "--is-ancestor", a, b)
        return True
    except WorkspaceError:
        return False


def _merge_tree(root: Path, base_sha: str, tip: str) -> tuple[str, list[str]]:
    """(merged tree, conflicting files). merge-tree exits 1 on conflicts, which is an answer
    here, not a failure, so it runs outside run_git."""
    proc = subprocess.run(
        ["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", base_sha, tip],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise WorkspaceError(f"git merge-tree failed in {root}: {proc.stderr.strip()}")
    lines = proc.stdout.strip().splitlines()
    return lines[0], sorted({ln for ln in lines[1:] if ln}) if proc.returncode == 1 else []
