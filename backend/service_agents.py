"""TaskService, part: agents inside the sandbox (start, attach, detach, is it running)."""

from __future__ import annotations

import asyncio

from backend import agents, lifecycle
from backend.errors import ConflictError
from backend.models import (
    AgentState,
    Task,
)
from backend.service_base import LIVE_SANDBOX, S, ServiceBase


class AgentOps(ServiceBase):
    async def _launch_agent(self, task: Task) -> Task:
        assert task.container_id and task.spec.agent_cmd
        logs = self.settings.logs
        await asyncio.to_thread(
            agents.write_scripts,
            self.box(task),
            task.spec.agent_cmd,
            task.spec.uid or 0,
            max_bytes=logs.max_bytes,
            keep=logs.keep,
        )
        use_tmux = await asyncio.to_thread(agents.has_tmux, task.container_id, task.spec.user)
        await asyncio.to_thread(agents.launch, task.container_id, task.spec.user, use_tmux=use_tmux)
        await asyncio.to_thread(agents.wait_started, self.box(task))
        self._note(
            task,
            f"agent started: {task.spec.agent or 'custom'} ({'tmux' if use_tmux else 'setsid'})",
        )
        return await self.store.update_task(
            task,
            ("agent.started", {"agent": task.spec.agent or "custom", "tmux": use_tmux}),
            agent_state=AgentState.RUNNING,
        )

    async def attach_agent(self, ref: str, preset: str | None, command: str | None) -> Task:
        task = await self.get(ref)
        lifecycle.require(task.name, task.state, LIVE_SANDBOX, "attach an agent to")
        if await self._agent_running(task):
            raise ConflictError(
                f"task {task.name!r} already has a running agent; detach it first (detach)"
            )
        name, cmd = agents.resolve(preset, command, self.settings.agents.presets)
        spec = task.spec.model_copy(update={"agent": name, "agent_cmd": cmd})
        task = await self.store.update_task(
            task, ("agent.attached", {"agent": name or "custom"}), spec=spec
        )
        return await self._launch_agent(task)

    async def detach_agent(self, ref: str) -> Task:
        task = await self.get(ref)
        if not task.spec.agent_cmd:
            raise ConflictError(f"task {task.name!r} has no agent attached; attach-agent adds one")
        if task.container_id and task.state == S.RUNNING:
            await asyncio.to_thread(agents.stop, self.box(task), task.container_id, task.spec.user)
        self._note(task, "agent detached")
        spec = task.spec.model_copy(update={"agent": None, "agent_cmd": None})
        return await self.store.update_task(
            task, ("agent.detached", {}), spec=spec, agent_state=AgentState.DETACHED
        )

    async def _agent_running(self, task: Task) -> bool:
        if task.state != S.RUNNING or not task.spec.agent_cmd:
            return False
        return await asyncio.to_thread(
            agents.is_running, self.box(task), task.container_id, task.spec.user
        )
