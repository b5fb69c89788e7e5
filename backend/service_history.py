"""TaskService, part: history — events, executions, decisions, search, decisions.md."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from backend import workspace
from backend.errors import UsageError
from backend.models import (
    Decision,
    Event,
    Execution,
    Task,
)
from backend.service_base import ServiceBase


class HistoryOps(ServiceBase):
    async def history(self, ref: str) -> list[Event]:
        task = await self.store.find_task(ref, include_deleted=True)
        return await self.store.task_events(task.id, limit=10_000)

    async def executions(self, ref: str) -> list[Execution]:
        task = await self.store.find_task(ref, include_deleted=True)
        return await self.store.list_executions(task.id)

    async def decisions(self, ref: str, add: str | None = None) -> list[Decision]:
        task = await self.store.find_task(ref, include_deleted=True)
        if add is not None:
            if not add.strip():
                raise UsageError("the decision text is empty; write what was decided")
            await self.store.add_decision(task.id, add.strip())
        return await self.store.list_decisions(task.id)

    async def find(self, query: str) -> list[Task]:
        return await self.store.search(query)

    async def _write_decisions(self, task: Task) -> None:
        decisions = await self.store.list_decisions(task.id)
        ws = Path(task.workspace or "")
        if not decisions or not task.workspace or not ws.exists():
            return
        body = [f"# Decisions for {task.name}", ""]
        body += [f"- {d.created_at:%Y-%m-%d %H:%M} — {d.text}" for d in decisions]
        await asyncio.to_thread(
            _commit_file,
            ws,
            "decisions.md",
            "\n".join(body) + "\n",
            f"Record decisions of task {task.name}",
            task.spec.uid or 0,
        )


def _commit_file(ws: Path, name: str, content: str, message: str, uid: int) -> None:
    target = ws / name
    target.write_text(content)
    if os.geteuid() == 0 and uid:
        os.chown(target, uid, uid)
    workspace.run_git(ws, "add", "--", name, uid=uid)
    if workspace.run_git(ws, "diff", "--cached", "--name-only", "--", name, uid=uid).strip():
        workspace.run_git(ws, "commit", "--quiet", "-m", message, "--", name, uid=uid)
