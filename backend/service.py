"""TaskService: the one façade every front end (TUI, CLI, MCP) uses.

Docker and git are synchronous libraries; every call into them goes through `asyncio.to_thread`
so the event loop of the TUI or the MCP server never blocks. The service is split by concern
into mixins (service_base, service_agents, service_io, service_history); this module holds
creation and the lifecycle.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from backend import agents, lifecycle, paths, sandbox, workspace
from backend.config import Settings, load_settings, repo_overrides
from backend.errors import ConflictError, CorralError, UsageError
from backend.merging import conflicts, merge_into_base
from backend.models import (
    AgentState,
    MergeResult,
    Task,
    TaskSpec,
    TaskStatus,
    utcnow,
)
from backend.naming import branch_for, slugify, unique_slug, validate_name
from backend.service_agents import AgentOps
from backend.service_base import LIVE_SANDBOX, S, ServiceBase
from backend.service_history import HistoryOps
from backend.service_io import ExecOps
from backend.store import Store
from backend.units import parse_size

__all__ = ["LIVE_SANDBOX", "ServiceBase", "TaskService"]


class TaskService(AgentOps, ExecOps, HistoryOps):
    @classmethod
    async def open(cls, home: Path | None = None, settings: Settings | None = None) -> TaskService:
        home = home or paths.data_dir()
        home.mkdir(parents=True, exist_ok=True)
        settings = settings or load_settings()  # first: a bad config must not leave a store open
        store = await Store.open(paths.db_path(home))
        return cls(store, settings, home)

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> TaskService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def create_task(
        self,
        name: str,
        *,
        repo: str | None = None,
        base: str | None = None,
        image: str | None = None,
        agent: str | None = None,
        agent_cmd: str | None = None,
        cpus: float | None = None,
        memory: str | None = None,
        network: str | None = None,
        env: dict[str, str] | None = None,
        description: str = "",
        request_id: str | None = None,
        pids_limit: int | None = None,
        start_at: str | None = None,
        sandbox_image: str | None = None,
    ) -> Task:
        """`start_at` starts the branch at that commit while `base` stays the branch to merge
        into; `sandbox_image` starts the sandbox from another image of the same kind (a
        checkpoint's): both are how fork-task builds on this."""
        if request_id:
            known = await self.store.request_task(request_id)
            if known:
                return await self.store.get_task(known)
        name = validate_name(name)
        env = dict(env or {})
        for key in env:
            if not key or not key.replace("_", "a").isalnum() or key[0].isdigit():
                raise UsageError(f"env name {key!r} is not valid; use letters, digits and _")
        root = await asyncio.to_thread(workspace.repo_root, repo or os.getcwd())
        base_info = await asyncio.to_thread(workspace.resolve_base, root, base)
        if start_at:
            start = await asyncio.to_thread(workspace.resolve_base, root, start_at)
            base_info = workspace.Base(base_info.ref, start.commit)
        defaults = self.settings.sandbox.model_copy(update=repo_overrides(root))
        agent_name, command = (None, None)
        if agent or agent_cmd:
            agent_name, command = agents.resolve(agent, agent_cmd, self.settings.agents.presets)
        mem = memory or defaults.memory
        spec = TaskSpec(
            image=image or defaults.image,
            cpus=cpus if cpus is not None else defaults.cpus,
            memory=mem,
            memory_bytes=parse_size(mem),
            network=network or defaults.network,
            pids_limit=pids_limit or defaults.pids_limit,
            env_keys=sorted(env),
            agent=agent_name,
            agent_cmd=command,
        )
        sandbox.check_limits(spec)
        user = await asyncio.to_thread(sandbox.image_user, spec.image)  # image must exist
        spec = spec.model_copy(update={"user": user.user, "uid": user.uid})
        if await self.store.name_taken(name):
            raise ConflictError(
                f"a task named {name!r} already exists; pick another name or delete it first"
            )
        task = await self._insert(name, root, base_info, spec, description)
        if request_id:
            await self.store.remember_request(request_id, task.id)
        try:
            return await self._materialize(task, env, command is not None, sandbox_image)
        except BaseException as exc:
            await self._undo_create(task)
            if isinstance(exc, CorralError):
                raise
            raise CorralError(f"creating task {name!r} failed: {exc}") from exc

    async def _insert(
        self, name: str, root: Path, base: workspace.Base, spec: TaskSpec, description: str
    ) -> Task:
        slug0 = slugify(name)
        for _attempt in range(20):  # another process may take the same slug: retry with a suffix
            taken = await self.store.taken_slugs(str(root))
            taken |= {b.removeprefix("corral/") for b in workspace.branch_names(root)}
            slug = unique_slug(slug0, taken)
            now = utcnow()
            task = Task(
                id=uuid.uuid4().hex[:12],
                name=name,
                slug=slug,
                state=S.CREATING,
                repo=str(root),
                base_ref=base.ref,
                base_commit=base.commit,
                branch=branch_for(slug),
                image=spec.image,
                spec=spec,
                description=description,
                created_at=now,
                updated_at=now,
            )
            try:
                return await self.store.insert_task(
                    task, {"name": name, "branch": task.branch, "image": spec.image}
                )
            except ConflictError:
                if await self.store.name_taken(name):
                    raise
        raise ConflictError(f"could not find a free branch name for {name!r}; pick another name")

    async def _materialize(
        self, task: Task, env: dict[str, str], with_agent: bool, image: str | None = None
    ) -> Task:
        root, ws = Path(task.repo), paths.workspace_dir(self.home, task.id)
        await asyncio.to_thread(workspace.create_branch, root, task.branch, task.base_commit)
        await asyncio.to_thread(
            workspace.clone, root, task.branch, ws, uid=task.spec.uid or 0, task_name=task.name
        )
        self._write_env(task, env)
        self._prepare_box(task)
        cid = await asyncio.to_thread(self._create_container, task, ws, env, image)
        task = await self.store.update_task(
            task,
            ("task.started", {"container": cid[:12]}),
            state=S.RUNNING,
            container_id=cid,
            workspace=str(ws),
        )
        self._note(task, f"sandbox {cid[:12]} started from {task.image}")
        if with_agent and task.spec.agent_cmd:
            task = await self._launch_agent(task)
        return task

    def _create_container(
        self, task: Task, ws: Path, env: dict[str, str], image: str | None = None
    ) -> str:
        sb = self.settings.sandbox
        return sandbox.create(
            task_id=task.id,
            name=task.name,
            slug=task.slug,
            home=self.home,
            spec=task.spec,
            workspace=ws,
            box=self.box(task),
            env=env,
            image=image,
            log_max_size=sb.log_max_size,
            log_max_files=sb.log_max_files,
        )

    def _write_env(self, task: Task, env: dict[str, str]) -> None:
        path = paths.env_file(self.home, task.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(env, fh)

    def _prepare_box(self, task: Task) -> None:
        box = self.box(task)
        (box / "logs").mkdir(parents=True, exist_ok=True)
        uid = task.spec.uid or 0
        if os.geteuid() == 0 and uid:
            os.chown(box, uid, uid)
            os.chown(box / "logs", uid, uid)

    async def _undo_create(self, task: Task) -> None:
        """A failed create leaves nothing behind: container, workspace, branch, row."""
        root = Path(task.repo)
        for cont in await asyncio.to_thread(self._containers_of, task.id):
            await asyncio.to_thread(sandbox.remove, cont)
        await asyncio.to_thread(shutil.rmtree, paths.task_dir(self.home, task.id), True)
        if workspace.branch_commit(root, task.branch) == task.base_commit:
            await asyncio.to_thread(workspace.delete_branch, root, task.branch)
        await self.store.purge_task(task.id)

    async def stop_task(self, ref: str) -> Task:
        task = await self.get(ref)
        lifecycle.check(task.name, task.state, S.STOPPED, "stop")
        if task.state == S.STOPPED:
            return task
        await self._sync(task)
        if task.container_id and await self._exists(task.container_id):
            await asyncio.to_thread(sandbox.stop, task.container_id)
        agent = AgentState.STOPPED if task.agent_state == AgentState.RUNNING else task.agent_state
        self._note(task, "sandbox stopped")
        return await self.store.update_task(
            task, ("task.stopped", {}), state=S.STOPPED, agent_state=agent
        )

    async def resume_task(self, ref: str) -> Task:
        task = await self.get(ref)
        lifecycle.check(task.name, task.state, S.RUNNING, "resume")
        ws = Path(task.workspace or paths.workspace_dir(self.home, task.id))
        if not ws.exists():
            raise ConflictError(
                f"task {task.name!r} has no workspace any more; fork a checkpoint instead"
            )
        cid = task.container_id
        restarted = True
        if cid and await self._exists(cid):
            if await asyncio.to_thread(sandbox.status, cid) == "running":
                restarted = False
            else:
                await asyncio.to_thread(sandbox.start, cid)
        else:
            cid = await asyncio.to_thread(self._create_container, task, ws, self.env_of(task))
        task = await self.store.update_task(
            task,
            ("task.resumed", {"container": cid[:12]}),
            state=S.RUNNING,
            container_id=cid,
            reason=None,
        )
        self._note(task, f"sandbox {cid[:12]} resumed")
        # An agent that was running when the sandbox went down comes back; one that had
        # finished by itself (exited) does not.
        wanted = task.agent_state in (AgentState.STOPPED, AgentState.RUNNING)
        if task.spec.agent_cmd and wanted and (restarted or not await self._agent_running(task)):
            task = await self._launch_agent(task)
        return task

    async def complete_task(self, ref: str, merge: bool = False) -> tuple[Task, MergeResult | None]:
        task = await self.get(ref)
        lifecycle.check(task.name, task.state, S.COMPLETED, "complete")
        if merge:  # refuse before changing anything when the merge cannot apply cleanly
            await self._sync(task)
            clash = await asyncio.to_thread(conflicts, Path(task.repo), task.branch, task.base_ref)
            if clash:
                raise ConflictError(
                    f"{task.branch} does not merge cleanly into {task.base_ref}: conflicts in "
                    f"{', '.join(clash)}; nothing changed — resolve them in the task, then retry"
                )
        await self.auto_checkpoint(task, "final")
        task = await self.get(task.id)
        await self._write_decisions(task)
        await self._sync(task)
        result = None
        if merge:
            result = await asyncio.to_thread(
                merge_into_base, Path(task.repo), task.branch, task.base_ref
            )
        if task.container_id and await self._exists(task.container_id):
            await asyncio.to_thread(sandbox.stop, task.container_id)
        payload: dict[str, Any] = {"merge": result.model_dump() if result else None}
        self._note(task, "task completed")
        agent = AgentState.STOPPED if task.agent_state == AgentState.RUNNING else task.agent_state
        task = await self.store.update_task(
            task, ("task.completed", payload), state=S.COMPLETED, agent_state=agent
        )
        return task, result

    async def cleanup_task(self, ref: str) -> Task:
        task = await self.get(ref)
        lifecycle.check(task.name, task.state, S.CLEANED, "clean up")
        await self.auto_checkpoint(task, "cleanup")
        task = await self.get(task.id)
        await self._sync(task)
        await self._remove_sandbox_and_workspace(task)
        self._note(task, "sandbox and workspace removed; branch and history kept")
        return await self.store.update_task(
            task,
            ("task.cleaned", {}),
            state=S.CLEANED,
            container_id=None,
            workspace=None,
            agent_state=AgentState.NONE
            if task.agent_state == AgentState.RUNNING
            else task.agent_state,
        )

    async def cleanup_completed(self) -> list[Task]:
        return [
            await self.cleanup_task(t.id) for t in await self.store.list_tasks(states=[S.COMPLETED])
        ]

    async def delete_task(self, ref: str, purge: bool = False) -> Task:
        task = await self.store.find_task(ref, include_deleted=purge)
        if task.state != S.DELETED:
            lifecycle.check(task.name, task.state, S.DELETED, "delete")
            await self._sync(task)
            await self._remove_sandbox_and_workspace(task)
        await self.drop_checkpoints(task, purge)
        if purge:
            await asyncio.to_thread(shutil.rmtree, paths.task_dir(self.home, task.id), True)
            root = Path(task.repo)
            if root.exists():
                await asyncio.to_thread(workspace.delete_branch, root, task.branch)
            await self.store.purge_task(task.id)
            await self.store.append_event(None, "task.purged", {"task": task.id, "name": task.name})
            return task.model_copy(update={"state": S.DELETED})
        return await self.store.update_task(
            task,
            ("task.deleted", {}),
            state=S.DELETED,
            container_id=None,
            workspace=None,
            agent_state=AgentState.NONE,
        )

    async def _remove_sandbox_and_workspace(self, task: Task) -> None:
        for cid in {task.container_id, *await asyncio.to_thread(self._containers_of, task.id)}:
            if cid:
                await asyncio.to_thread(sandbox.remove, cid)
        await asyncio.to_thread(workspace.remove, paths.workspace_dir(self.home, task.id))
        await asyncio.to_thread(paths.env_file(self.home, task.id).unlink, True)

    async def auto_checkpoint(self, task: Task, kind: str) -> None:
        """Taken on complete ("final") and before cleanup ("cleanup"). See backend.checkpoints."""
        from backend import checkpoints

        if task.workspace and Path(task.workspace).exists():
            await checkpoints.auto_checkpoint(self, task, kind)

    async def drop_checkpoints(self, task: Task, purge: bool) -> None:
        from backend import checkpoints

        await checkpoints.drop(self, task, purge)

    async def status(self, ref: str) -> TaskStatus:
        task = await self.get(ref)
        cstatus = None
        if task.container_id:
            cstatus = await asyncio.to_thread(sandbox.status, task.container_id)
        running = cstatus == "running" and await self._agent_running(task)
        code = agents.exit_code(self.box(task))
        if task.state == S.RUNNING:
            await self._sync(task)
            if cstatus is None:
                task = await self._mark_failed(
                    task, "sandbox container vanished; resume-task recreates it"
                )
            elif cstatus != "running":
                oom = await asyncio.to_thread(sandbox.oom_killed, task.container_id or "")
                reason = (
                    "out of memory: raise --memory and resume-task"
                    if oom
                    else f"sandbox container is {cstatus}; resume-task restarts it"
                )
                task = await self._mark_failed(task, reason)
            elif task.agent_state == AgentState.RUNNING and not running and code is not None:
                task = await self.store.update_task(
                    task, ("agent.exited", {"exit_code": code}), agent_state=AgentState.EXITED
                )
        checkpoints = (await self.store.checkpoint_counts()).get(task.id, 0)
        takeover = (
            agents.takeover_argv(task.container_id) if running and task.container_id else None
        )
        events = await self.store.task_events(task.id, limit=10)
        return TaskStatus(
            task=task,
            container_status=cstatus,
            agent_running=running,
            agent_exit_code=code,
            checkpoints=checkpoints,
            takeover=takeover,
            recent_events=events,
        )
