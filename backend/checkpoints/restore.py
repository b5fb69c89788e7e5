"""Restore a checkpoint into its task, or fork a new task from it.

Restore, in order: stop the agent (if it runs), take a safety checkpoint (so the restore can be
undone), put the workspace files back exactly (only the files that differ are touched), move the
agent's branch and index back to the commit HEAD was on, recreate the sandbox from the
checkpoint's image (skipped when its filesystem already matches), restart the agent, record an
event.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from backend import agents, lifecycle, paths, sandbox, workspace
from backend.checkpoints import container, rows, snapshot
from backend.checkpoints.locking import task_lock
from backend.checkpoints.models import RestoreResult
from backend.checkpoints.take import create, create_locked, workspace_of
from backend.errors import ConflictError, CorralError
from backend.models import AgentState, Task, TaskState
from backend.service import TaskService

S = TaskState


async def restore(svc: TaskService, ref: str, n: int) -> RestoreResult:
    started = time.monotonic()
    task = await svc.get(ref)
    lifecycle.check(task.name, task.state, S.RUNNING, "restore a checkpoint of")
    async with task_lock(svc.home, task.id):
        task = await svc.get(task.id)
        target = await rows.get(svc.store, task, n)
        ws, uid = workspace_of(svc, task), task.spec.uid or 0
        if target.image_id and not await asyncio.to_thread(container.image_exists, target.image_id):
            raise ConflictError(
                f"the container image of checkpoint {n} is gone (removed outside Corral); "
                "run reconcile, then pick another checkpoint"
            )
        agent_was_running = await svc._agent_running(task)
        if agent_was_running and task.container_id:
            await asyncio.to_thread(agents.stop, svc.box(task), task.container_id, task.spec.user)
        safety = await create_locked(
            svc, task, kind="safety", message=f"before restoring checkpoint {n}"
        )
        written, removed = await asyncio.to_thread(
            snapshot.restore_files, ws, uid, safety.commit_sha, target.commit_sha
        )
        if target.head_sha:
            await asyncio.to_thread(snapshot.reset_head, ws, uid, target.head_sha)
        task = await svc.get(task.id)
        cid, recreated = await _bring_container(svc, task, ws, safety.image_id, target.image_id)
        payload = {"n": n, "safety": safety.n, "files_written": written, "files_removed": removed}
        agent = task.agent_state
        if recreated and agent == AgentState.RUNNING:
            agent = AgentState.STOPPED
        task = await svc.store.update_task(
            task,
            ("checkpoint.restored", payload),
            state=S.RUNNING,
            container_id=cid,
            reason=None,
            agent_state=agent,
        )
        svc._note(task, f"restored checkpoint {n}; checkpoint {safety.n} undoes it")
        restarted = False
        if task.spec.agent_cmd and (agent_was_running or task.agent_state == AgentState.STOPPED):
            await svc._launch_agent(task)
            restarted = True
        await svc._sync(task)
    return RestoreResult(
        task_id=task.id, restored=n, safety=safety.n, files_written=written,
        files_removed=removed, container_recreated=recreated, agent_restarted=restarted,
        duration_ms=int((time.monotonic() - started) * 1000),
    )  # fmt: skip


async def _bring_container(
    svc: TaskService, task: Task, ws: Path, now_image: str | None, want_image: str | None
) -> tuple[str, bool]:
    """The sandbox with the checkpoint's filesystem. When the safety checkpoint found the
    container already equal to that image, it is kept (started if need be): no recreate."""
    cid = task.container_id
    status = await asyncio.to_thread(sandbox.status, cid) if cid else None
    if cid and status is not None and now_image == want_image:
        if status != "running":
            await asyncio.to_thread(sandbox.start, cid)
        return cid, False
    if cid:
        await asyncio.to_thread(sandbox.remove, cid)
    new = await asyncio.to_thread(
        svc._create_container, task, ws, svc.env_of(task), want_image or None
    )
    return new, True


async def fork(svc: TaskService, ref: str, n: int, new_name: str) -> Task:
    """A new task (own branch, own sandbox) that starts exactly where checkpoint `n` of another
    task stood: its branch starts at the commit the agent's HEAD was on, the uncommitted files
    come on top, and its sandbox starts from the checkpoint's image."""
    src = await svc.store.find_task(ref)
    cp = await rows.get(svc.store, src, n)
    root = Path(src.repo)
    if not root.is_dir() or not await asyncio.to_thread(snapshot.has_object, root, cp.commit_sha):
        raise ConflictError(
            f"checkpoint {n} of {src.name!r} is not in {root} any more; it cannot be forked"
        )
    if cp.image_id and not await asyncio.to_thread(container.image_exists, cp.image_id):
        raise ConflictError(
            f"the container image of checkpoint {n} is gone; run reconcile and fork another one"
        )
    spec = src.spec
    task = await svc.create_task(
        new_name, repo=src.repo, base=src.base_ref, start_at=cp.head_sha or src.base_commit,
        image=spec.image, cpus=spec.cpus, memory=spec.memory, network=spec.network,
        env=svc.env_of(src), pids_limit=spec.pids_limit, sandbox_image=cp.image_id,
        description=f"fork of {src.name} at checkpoint {n}",
    )  # fmt: skip
    try:
        ws = paths.workspace_dir(svc.home, task.id)
        uid = task.spec.uid or 0
        await asyncio.to_thread(_apply_files, ws, root, uid, cp.git_ref, cp.commit_sha)
        await create(svc, task.id, kind="fork", message=f"fork of {src.name} checkpoint {n}")
        if spec.agent_cmd:
            preset = spec.agent if spec.agent else None
            task = await svc.attach_agent(task.id, preset, None if preset else spec.agent_cmd)
    except BaseException as exc:
        await svc.delete_task(task.id, purge=True)
        if isinstance(exc, CorralError):
            raise
        raise CorralError(f"forking checkpoint {n} of {src.name!r} failed: {exc}") from exc
    return await svc.get(task.id)


def _apply_files(ws: Path, root: Path, uid: int, ref: str, commit: str) -> None:
    if not snapshot.has_object(ws, commit, uid):  # `clone --local` normally brought it along
        workspace.run_git(ws, "fetch", "--quiet", "--no-tags", str(root), f"+{ref}:{ref}", uid=uid)
    current = workspace.run_git(ws, "rev-parse", "HEAD^{tree}")
    snapshot.restore_files(ws, uid, current, commit)
