"""Taking a checkpoint: workspace commit and ref, then container image, then the ref mirrored to the user's repo, then -- last, in one transaction -- the row. A failure undoes the parts made
so far; a crash leaves parts without a row, which reconcile removes (repair.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from backend import paths
from backend.checkpoints import container, rows, snapshot
from backend.checkpoints.faults import crash_point
from backend.checkpoints.locking import task_lock
from backend.checkpoints.models import Checkpoint
from backend.errors import ConflictError, CorralError
from backend.models import Task, TaskState, utcnow
from backend.service import TaskService

S = TaskState
CHECKPOINTABLE = {S.RUNNING, S.STOPPED, S.FAILED, S.COMPLETED}
LOG_FILES = ("agent.log", "exec.log", "corral.log")


async def create(
    svc: TaskService, ref: str, *, kind: str = "manual", message: str = ""
) -> Checkpoint:
    task = await svc.get(ref)
    async with task_lock(svc.home, task.id):
        return await create_locked(svc, await svc.get(task.id), kind=kind, message=message)


def workspace_of(svc: TaskService, task: Task) -> Path:
    ws = Path(task.workspace) if task.workspace else paths.workspace_dir(svc.home, task.id)
    if not (ws / ".git").is_dir():
        raise ConflictError(
            f"task {task.name!r} has no workspace any more; fork one of its checkpoints instead"
        )
    return ws


async def create_locked(svc: TaskService, task: Task, *, kind: str, message: str) -> Checkpoint:
    """Take a checkpoint; the caller holds the task's checkpoint lock."""
    started = time.monotonic()
    if task.state not in CHECKPOINTABLE:
        raise ConflictError(
            f"cannot checkpoint task {task.name!r}: it is {task.state.value}; "
            "only a task with a workspace (running, stopped, failed or completed) can be"
        )
    ws, uid, root = workspace_of(svc, task), task.spec.uid or 0, Path(task.repo)
    prev = await rows.latest(svc.store, task.id)
    n = await rows.next_number(svc.store, task.id)
    event_id = await rows.last_event_id(svc.store, task.id)
    offsets = _log_offsets(svc.log_dir(task))
    ref = snapshot.ref_name(task.id, n)
    cid = task.container_id
    made: dict[str, bool] = {}
    snap: snapshot.TreeSnapshot | None = None
    # The sandbox is NOT frozen (docker pause) meanwhile: a `docker exec` starting at that
    # moment hangs inside the frozen cgroup while holding Docker's container lock, and the
    # engine wedges on that container. See docs/checkpoints.md.
    try:
        taken, head, commit = await asyncio.to_thread(
            _workspace_part, ws, uid, ref, _commit_message(task, n, kind, message)
        )
        snap = taken
        made["ref"] = True
        crash_point("ref")
        image_id, layer, fingerprint = await asyncio.to_thread(
            _container_part, svc.home, task, n, prev
        )
        made["image"] = image_id is not None
        crash_point("image")
        base = prev.commit_sha if prev else head
        counting = asyncio.ensure_future(
            asyncio.to_thread(_count_quietly, ws, uid, base, taken.tree)
        )
        if root.is_dir():
            await asyncio.to_thread(snapshot.mirror, root, ws, ref)
            made["mirror"] = True
        crash_point("mirror")
        changed = await counting
    except BaseException:
        await asyncio.to_thread(_undo, ws, root, task, n, ref, made, uid)
        if snap:
            snapshot.drop(snap)
        raise
    assert snap is not None  # set by the workspace part, which either succeeded or raised
    cp = Checkpoint(
        task_id=task.id, n=n, kind=kind, message=message, git_ref=ref, commit_sha=commit,
        head_sha=head, image_id=image_id, files_changed=changed, layer_size=layer,
        log_offsets=offsets, event_id=event_id, container_id=cid,
        fs_fingerprint=fingerprint, created_at=utcnow(),
    )  # fmt: skip
    try:
        await rows.insert(svc.store, cp)
    except BaseException:
        await asyncio.to_thread(_undo, ws, root, task, n, ref, made, uid)
        snapshot.drop(snap)
        raise
    snapshot.keep_as_shadow(ws, snap)
    svc._note(task, f"checkpoint {n} taken ({kind}){': ' + message if message else ''}")
    cp.duration_ms = int((time.monotonic() - started) * 1000)
    return cp


def _workspace_part(
    ws: Path, uid: int, ref: str, message: str
) -> tuple[snapshot.TreeSnapshot, str | None, str]:
    snap = snapshot.snapshot_tree(ws, uid)
    try:
        head = snapshot.head_sha(ws, uid)
        commit = snapshot.commit_tree(ws, uid, snap.tree, head, message)
        snapshot.set_ref(ws, ref, commit, uid)
    except BaseException:
        snapshot.drop(snap)
        raise
    return snap, head, commit


def _container_part(
    home: Path, task: Task, n: int, prev: Checkpoint | None
) -> tuple[str | None, int, str | None]:
    """(image id, layer size, fingerprint). No image (None) means the sandbox is still exactly
    the task's own image."""
    st = container.state(task.container_id) if task.container_id else None
    if st is None:  # the sandbox is gone: nothing new to capture, carry the last image on
        image = prev.image_id if prev else None
        if image:
            container.tag(image, task.id, n)
        return image, 0, None
    if st.fingerprint == "":  # nothing changed in its own layer: it *is* its image
        image = st.image if st.image_is_checkpoint else None
    elif (
        prev
        and prev.image_id
        and prev.container_id == task.container_id
        and prev.fs_fingerprint == st.fingerprint
    ):
        image = prev.image_id
    else:
        image_id, layer = container.commit(task.container_id or "", task.id, n, home)
        return image_id, layer, st.fingerprint
    if image:
        container.tag(image, task.id, n)
    return image, 0, st.fingerprint


def _undo(
    ws: Path, root: Path, task: Task, n: int, ref: str, made: dict[str, bool], uid: int
) -> None:
    """Remove the parts a failed checkpoint made, newest first."""
    with contextlib.suppress(CorralError):
        container.untag(task.id, n)
    if made.get("mirror"):
        snapshot.delete_ref(root, ref)
    if made.get("ref"):
        snapshot.delete_ref(ws, ref, uid)


def _count_quietly(ws: Path, uid: int, base: str | None, tree: str) -> int:
    try:
        return snapshot.count_changes(ws, uid, base, tree)
    except CorralError:
        return 0


def _commit_message(task: Task, n: int, kind: str, message: str) -> str:
    head = f"corral checkpoint {n} of task {task.name} ({kind})"
    return f"{head}\n\n{message}" if message else head


def _log_offsets(log_dir: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in LOG_FILES:
        try:
            out[name] = (log_dir / name).stat().st_size
        except FileNotFoundError:
            out[name] = 0
    return out


async def auto_checkpoint(svc: TaskService, task: Task, kind: str) -> None:
    """Before cleanup and on complete. A cleanup checkpoint that fails stops the cleanup (the
    workspace is about to go); a final one that fails is recorded and the task completes."""
    try:
        await create(svc, task.id, kind=kind)
    except CorralError as exc:
        await svc.store.append_event(
            task.id, "checkpoint.failed", {"kind": kind, "error": str(exc)}
        )
        if kind == "cleanup":
            raise CorralError(
                f"the checkpoint before cleanup failed ({exc}); nothing was removed. "
                "Fix it and retry, or delete-task to remove the task without one"
            ) from exc


EMERGENCY_RATIO = 0.9
EMERGENCY_EVERY = 300.0  # seconds between two emergency checkpoints of one task
_last_emergency: dict[str, float] = {}


async def maybe_emergency(svc: TaskService, task: Task, sample: object) -> bool:
    """Called with every resource sample: at >= 90% of the memory limit, checkpoint (at most
    once per EMERGENCY_EVERY per task, across processes) before the OOM killer strikes."""
    used = int(getattr(sample, "memory_bytes", 0) or 0)
    limit = int(getattr(sample, "memory_limit", 0) or 0) or task.spec.memory_bytes
    if limit <= 0 or used < EMERGENCY_RATIO * limit:
        return False
    now = time.monotonic()
    if now - _last_emergency.get(task.id, -1e9) < EMERGENCY_EVERY:
        return False
    _last_emergency[task.id] = now
    last = await rows.latest_of_kind(svc.store, task.id, "emergency")
    if last and (utcnow() - last.created_at).total_seconds() < EMERGENCY_EVERY:
        return False
    pct = round(100 * used / limit)
    try:
        await create(svc, task.id, kind="emergency", message=f"memory at {pct}% of the limit")
    except CorralError as exc:
        await svc.store.append_event(
            task.id, "checkpoint.failed", {"kind": "emergency", "error": str(exc)}
        )
        return False
    return True
