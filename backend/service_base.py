"""What every part of TaskService shares: the store, settings and home, task lookups, and
small helpers (branch sync, notes in the task log). The parts are mixins so that each module
stays small; `backend.service.TaskService` puts them together."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from backend import paths, sandbox, workspace
from backend.config import Settings
from backend.errors import ConflictError, CorralError
from backend.models import (
    Task,
    TaskState,
)
from backend.store import Store
from backend.tasklog import LogWriter

S = TaskState
LIVE_SANDBOX = {S.RUNNING}


class ServiceBase:
    def __init__(self, store: Store, settings: Settings, home: Path) -> None:
        self.store = store
        self.settings = settings
        self.home = home

    async def get(self, ref: str) -> Task:
        return await self.store.find_task(ref)

    async def list_tasks(
        self, state: TaskState | None = None, include_all: bool = False
    ) -> list[Task]:
        if state:
            return await self.store.list_tasks(states=[state])
        if include_all:
            return await self.store.list_tasks(include_deleted=True)
        return await self.store.list_tasks(states=[s for s in S if s not in (S.DELETED, S.CLEANED)])

    def box(self, task: Task) -> Path:
        return paths.box_dir(self.home, task.id)

    def log_dir(self, task: Task) -> Path:
        return paths.log_dir(self.home, task.id)

    def env_of(self, task: Task) -> dict[str, str]:
        try:
            data = json.loads(paths.env_file(self.home, task.id).read_text())
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def secrets_of(self, task: Task) -> list[str]:
        return [v for v in self.env_of(task).values() if len(v) >= 4]

    async def _exists(self, container_id: str) -> bool:
        return await asyncio.to_thread(sandbox.exists, container_id)

    def _containers_of(self, task_id: str) -> list[str]:
        try:
            return [c["id"] for c in sandbox.labelled_containers(self.home) if c["task"] == task_id]
        except CorralError:
            return []

    async def _mark_failed(self, task: Task, reason: str) -> Task:
        try:
            return await self.store.update_task(
                task, ("task.failed", {"reason": reason}), state=S.FAILED, reason=reason
            )
        except ConflictError:
            return await self.get(task.id)

    async def _sync(self, task: Task) -> None:
        ws = paths.workspace_dir(self.home, task.id)
        try:
            tip = await asyncio.to_thread(workspace.sync_branch, Path(task.repo), ws, task.branch)
        except CorralError as exc:
            await self.store.append_event(task.id, "branch.sync_failed", {"error": str(exc)})
            return
        if tip:
            await self.store.append_event(task.id, "branch.synced", {"commit": tip})

    def _note(self, task: Task, text: str) -> None:
        LogWriter(self.log_dir(task) / "corral.log").write_lines("corral", [text])
