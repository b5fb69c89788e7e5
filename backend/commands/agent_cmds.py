"""Agents and commands inside a sandbox: attach-agent, detach, exec, logs."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from backend.commands import render
from backend.commands.common import TaskArg, task_field
from backend.commands.context import Context
from backend.commands.registry import arg, command
from backend.models import ExecResult, LogLine, Task
from backend.units import parse_since


class AttachArgs(BaseModel):
    task: str = task_field()
    preset: str | None = arg(
        None,
        help="Agent preset (claude, codex, aider, opencode, shell).",
        positional=True,
        complete="preset",
    )
    agent_cmd: str | None = arg(None, help="Custom agent command instead of a preset.")


@command(
    "attach-agent",
    summary="Start an agent inside a task's sandbox; it keeps running after Corral exits.",
    args=AttachArgs,
    example="attach-agent fix-login claude",
    mcp_name="attach_agent_to_task",
    render=render.task_detail,
)
async def attach_agent(ctx: Context, a: AttachArgs) -> Task:
    return await ctx.service.attach_agent(a.task, a.preset, a.agent_cmd)


@command(
    "detach",
    summary="Stop the task's agent and take it off the task; sandbox and workspace stay.",
    args=TaskArg,
    example="detach fix-login",
    mcp_name="detach_agent_from_task",
    render=render.task_detail,
    aliases=("detach-agent",),
)
async def detach(ctx: Context, a: TaskArg) -> Task:
    return await ctx.service.detach_agent(a.task)


class ExecArgs(BaseModel):
    task: str = task_field()
    command: list[str] | str = arg(
        help="The command: words after --, or (MCP) one shell string.", remainder=True
    )
    timeout: float | None = arg(None, help="Kill the command after this many seconds.")


def _render_exec(r: ExecResult) -> Any:
    from rich.text import Text

    status = "timed out" if r.timed_out else f"exit code {r.exit_code}"
    return Text(f"[{status} after {r.duration_ms} ms]", style="dim" if r.exit_code == 0 else "red")


@command(
    "exec",
    summary="Run a command in a task's sandbox as its user; output goes to the task log too.",
    args=ExecArgs,
    example="exec fix-login -- pytest -q",
    mcp_name="execute_in_task",
    render=_render_exec,
    streams=True,
)
async def exec_(ctx: Context, a: ExecArgs) -> ExecResult:
    return await ctx.service.exec(a.task, a.command, timeout=a.timeout, on_output=ctx.on_output)


class LogsArgs(BaseModel):
    task: str = task_field()
    follow: bool = arg(
        False, help="Keep printing new lines until interrupted.", short="-f", cli_only=True
    )
    since: str | None = arg(None, help="Only lines since 10m, 2h, or an ISO time.")
    grep: str | None = arg(None, help="Only lines matching this regular expression.")
    tail: int | None = arg(None, help="Only the last N lines.")
    timestamps: bool = arg(False, help="Show the time of each line.", short="-t")


@command(
    "logs",
    summary="A task's log: agent output and every command Corral ran, merged by time.",
    args=LogsArgs,
    example="logs fix-login --follow --grep error",
    mcp_name="task_logs",
    render=render.log_lines,
    streams=True,
)
async def logs(ctx: Context, a: LogsArgs) -> list[LogLine]:
    import re

    if a.grep:
        try:
            re.compile(a.grep)
        except re.error as exc:
            from backend.errors import UsageError

            raise UsageError(
                f"--grep {a.grep!r} is not a regular expression ({exc}); fix it"
            ) from exc
    since = parse_since(a.since) if a.since else None
    if not a.follow or ctx.on_lines is None:
        return await ctx.service.logs(a.task, since=since, grep=a.grep, limit=a.tail)
    # Following: the first batch is the current files' history, then live lines, from one
    # reader, so no line falls between "history" and "live" (rotated files are not replayed).
    first = True
    try:
        async for batch in ctx.service.follow_logs(a.task, grep=a.grep, from_start=True):
            if first:
                batch = [ln for ln in batch if since is None or ln.time >= since]
                batch = batch[-a.tail :] if a.tail else batch
                first = False
            ctx.on_lines(batch)
    except asyncio.CancelledError:
        pass
    return []
