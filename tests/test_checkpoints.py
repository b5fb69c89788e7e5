"""Checkpoints end to end on real containers and real git: what comes back after a restore
(workspace files of every kind, files outside /workspace, the agent's branch), diff, prune,
fork, the automatic checkpoints, concurrency with exec, and the emergency checkpoint."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from backend import checkpoints
from backend.checkpoints import container
from backend.errors import ConflictError, UsageError
from backend.models import Sample, Task
from backend.service import TaskService
from backend.workspace import run_git
from tests.conftest import git, make_repo, unique

FILES = {
    "keep.txt": "unchanged\n",
    "edit.txt": "before\n",
    "gone.txt": "deleted later\n",
    "old-name.txt": "renamed later\n",
    ".gitignore": "*.log\n",
}


def wgit(ws: Path, *args: str) -> str:
    """git in a workspace, as the sandbox user who owns it."""
    return run_git(ws, *args, uid=1000)


async def sh(svc: TaskService, task: Task, script: str) -> str:
    out = await svc.exec(task.id, script)
    assert out.exit_code == 0, out.output
    return out.output


def tree_state(ws: Path) -> dict[str, tuple[str, str]]:
    """path -> (kind+mode, content or link target), .git and ignored *.log left out."""
    found: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(ws):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(ws))
            if rel.endswith(".log"):
                continue
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(p))
            else:
                found[rel] = (oct(st.st_mode & 0o777), p.read_bytes().hex())
    return found


@pytest.fixture
async def task(service: TaskService, tmp_path: Path, tiny_image: str) -> Task:
    repo = make_repo(tmp_path / "src", FILES)
    return await service.create_task(unique("ck"), repo=str(repo), image=tiny_image)


async def test_restore_brings_back_files_and_container(service: TaskService, task: Task) -> None:
    ws = Path(task.workspace or "")
    await sh(service, task, "printf 'bin\\000\\001' > blob.bin; printf '#!/bin/sh\\n' > run.sh; "
             "chmod +x run.sh; ln -s keep.txt link; echo ignored-1 > build.log")  # fmt: skip
    first = await checkpoints.create(service, task.id, message="before")
    before = tree_state(ws)
    assert first.n == 1 and first.image_id is None  # the sandbox is still its image
    # Change everything a workspace can hold, install a "package" outside /workspace, and let
    # the agent commit (host-side, as the sandbox user, like the agent would).
    await sh(service, task, "echo after > edit.txt; rm gone.txt; mv old-name.txt new-name.txt; "
             "echo new > created.txt; printf 'bin\\000\\002' > blob.bin; chmod -x run.sh; "
             "rm link; ln -s edit.txt link; echo ignored-2 > build.log; "
             "mkdir -p /tmp/opt/pkg && echo installed > /tmp/opt/pkg/lib.txt")  # fmt: skip
    head_before = run_git(ws, "rev-parse", "HEAD", uid=1000)
    run_git(ws, "add", "created.txt", uid=1000)
    run_git(ws, "commit", "-q", "-m", "agent work", uid=1000)
    second = await checkpoints.create(service, task.id, message="after")
    after = tree_state(ws)
    assert second.image_id and second.layer_size > 0
    assert second.files_changed == 8  # edit, gone, old-name, new-name, created, blob, run, link
    assert {c.path for c in (await checkpoints.diff(service, task.id, 1, 2)).files} >= {
        "edit.txt", "gone.txt", "old-name.txt", "new-name.txt", "created.txt", "blob.bin"
    }  # fmt: skip

    res = await checkpoints.restore(service, task.id, 1)
    assert res.safety == 3 and res.container_recreated
    assert tree_state(ws) == before
    assert (ws / "build.log").read_text() == "ignored-2\n"  # ignored files are left alone
    assert run_git(ws, "rev-parse", "HEAD", uid=1000) == head_before
    assert "No such file" in (await service.exec(task.id, "cat /tmp/opt/pkg/lib.txt")).output
    assert (ws / "edit.txt").stat().st_uid == 1000  # still the agent's files

    res = await checkpoints.restore(service, task.id, 2)
    assert tree_state(ws) == after
    assert (await sh(service, task, "cat /tmp/opt/pkg/lib.txt")).strip() == "installed"
    assert os.readlink(ws / "link") == "edit.txt" and not os.access(ws / "run.sh", os.X_OK)
    assert wgit(ws, "log", "-1", "--format=%s") == "agent work"
    # An unchanged sandbox is not committed again, and not recreated on a code-only restore.
    third = await checkpoints.create(service, task.id)
    assert third.image_id == second.image_id and third.layer_size == 0
    status = await service.status(task.id)
    assert status.checkpoints == 5 and status.container_status == "running"


async def test_list_diff_now_and_prune(service: TaskService, task: Task) -> None:
    for i in range(4):
        await sh(service, task, f"echo {i} > edit.txt")
        await checkpoints.create(service, task.id, message=f"step {i}")
    await sh(service, task, "echo now > edit.txt; echo x > fresh.txt")
    d = await checkpoints.diff(service, task.id)  # latest vs now
    assert d.from_n == 4 and d.to_n is None
    assert {(f.status, f.path) for f in d.files} == {("M", "edit.txt"), ("A", "fresh.txt")}
    assert "+now" in d.patch
    with pytest.raises(UsageError):
        await checkpoints.prune(service, task.id)
    await checkpoints.restore(service, task.id, 1)  # adds safety checkpoint 5
    result = await checkpoints.prune(service, task.id, keep=1)
    assert result.removed == [1, 2, 3] and result.kept == [4, 5]  # safety kept
    root = Path(task.repo)
    refs = git(root, "for-each-ref", "--format=%(refname)", f"refs/corral/checkpoints/{task.id}")
    assert refs.split() == [f"refs/corral/checkpoints/{task.id}/{n}" for n in (4, 5)]
    await checkpoints.create(service, task.id)
    assert [c.n for c in await checkpoints.list_checkpoints(service, task.id)] == [4, 5, 6]
    result = await checkpoints.prune(service, task.id, keep=0, include_protected=True)
    assert result.kept == [] and not git(root, "for-each-ref", "refs/corral/checkpoints")


async def test_checkpoint_and_exec_concurrently(service: TaskService, task: Task) -> None:
    writer = asyncio.create_task(
        service.exec(
            task.id,
            "i=0; while [ $i -lt 200 ]; do echo $i > f$((i % 20)).txt; i=$((i+1)); done; echo done",
        )
    )
    made = await asyncio.gather(*(checkpoints.create(service, task.id) for _ in range(3)))
    assert (await writer).exit_code == 0
    assert sorted(c.n for c in made) == [1, 2, 3]
    ws = Path(task.workspace or "")
    for c in made:  # every checkpoint is whole: its commit in both repos, its tree readable
        assert git(Path(task.repo), "rev-parse", c.git_ref) == c.commit_sha
        assert wgit(ws, "cat-file", "-t", c.commit_sha) == "commit"
    last = await checkpoints.create(service, task.id)
    assert {f"f{i}.txt" for i in range(20)} <= set(
        wgit(ws, "ls-tree", "--name-only", last.commit_sha).split()
    )


async def test_restore_while_the_agent_runs(
    service: TaskService, tmp_path: Path, tiny_image: str
) -> None:
    # A scripted stand-in for an LLM agent: it prints a tick every second.
    repo = make_repo(tmp_path / "src")
    task = await service.create_task(
        unique("agent"), repo=str(repo), image=tiny_image,
        agent_cmd="while true; do echo tick; sleep 1; done",
    )  # fmt: skip
    await checkpoints.create(service, task.id)
    await sh(service, task, "echo later > /tmp/state.txt; echo later > later.txt")
    res = await checkpoints.restore(service, task.id, 1)
    assert res.container_recreated and res.agent_restarted
    status = await service.status(task.id)
    assert status.agent_running and status.task.container_id != task.container_id
    assert not (Path(task.workspace or "") / "later.txt").exists()
    assert "No such file" in (await service.exec(task.id, "cat /tmp/state.txt")).output


async def test_fork_starts_from_the_checkpoint(service: TaskService, task: Task) -> None:
    ws = Path(task.workspace or "")
    await sh(service, task, "echo forked > edit.txt; echo extra > extra.txt; echo c > /tmp/c.txt")
    cp = await checkpoints.create(service, task.id)
    child = await checkpoints.fork(service, task.id, cp.n, unique("fork"))
    cws = Path(child.workspace or "")
    assert child.branch != task.branch and child.container_id != task.container_id
    assert tree_state(cws) == tree_state(ws)
    assert wgit(cws, "rev-parse", "HEAD") == cp.head_sha  # uncommitted stays uncommitted
    assert (await sh(service, child, "cat /tmp/c.txt")).strip() == "c"
    assert [c.kind for c in await checkpoints.list_checkpoints(service, child.id)] == ["fork"]
    with pytest.raises(ConflictError):
        await checkpoints.fork(service, task.id, cp.n, child.name)  # name taken: nothing made


async def test_final_cleanup_and_delete(service: TaskService, task: Task) -> None:
    await sh(service, task, "echo wip > edit.txt")
    await service.complete_task(task.id)
    await service.cleanup_task(task.id)
    kinds = [(c.n, c.kind) for c in await checkpoints.list_checkpoints(service, task.id)]
    assert kinds == [(1, "final"), (2, "cleanup")]
    root = Path(task.repo)
    # The workspace is gone, the code is not: refs live on in the user's repo.
    assert git(root, "show", f"refs/corral/checkpoints/{task.id}/2:edit.txt") == "wip"
    d = await checkpoints.diff(service, task.id, 1, 2)
    assert d.files == []
    await service.delete_task(task.id, purge=True)
    assert not git(root, "for-each-ref", "refs/corral/checkpoints")


async def test_emergency_checkpoint_near_the_memory_limit(service: TaskService, task: Task) -> None:
    limit = task.spec.memory_bytes
    calm = Sample(task_id=task.id, cpu_percent=1, memory_bytes=limit // 2, memory_limit=limit)
    hot = calm.model_copy(update={"memory_bytes": int(limit * 0.95)})
    assert not await checkpoints.maybe_emergency(service, task, calm)
    assert await checkpoints.maybe_emergency(service, task, hot)
    assert not await checkpoints.maybe_emergency(service, task, hot)  # once per few minutes
    cps = await checkpoints.list_checkpoints(service, task.id)
    assert [c.kind for c in cps] == ["emergency"] and "95%" in cps[0].message


async def test_images_are_tagged_per_checkpoint(service: TaskService, task: Task) -> None:
    await sh(service, task, "echo x > /tmp/x")
    a = await checkpoints.create(service, task.id)
    b = await checkpoints.create(service, task.id)
    assert a.image_id == b.image_id and a.layer_size > 0 and b.layer_size == 0
    imgs = [i for i in container.labelled_images(service.home) if i.id == a.image_id]
    assert sorted(imgs[0].tags) == [f"{task.id}-1", f"{task.id}-2"]
    await checkpoints.prune(service, task.id, keep=0)
    assert not container.image_exists(a.image_id or "")
