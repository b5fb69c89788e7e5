"""History and search: task-history, task-executions, task-decisions, record-decision,
find-task, task-stats, reconcile, help."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from backend.commands import render
from backend.commands.common import TaskArg, task_field
from backend.commands.context import Context
from backend.commands.registry import Command, arg, command, commands, lookup, suggest
from backend.errors import UsageError
from backend.models import (
    Decision,
    Event,
    Execution,
    ReconcileReport,
    Task,
    TaskStatRow,
    TaskStatsSummary,
)


@command(
    "task-history",
    summary="A task's event timeline: every change, from any Corral process.",
    args=TaskArg,
    example="task-history fix-login",
    render=render.events_table,
    group="history",
    aliases=("history",),
)
async def task_history(ctx: Context, a: TaskArg) -> list[Event]:
    return await ctx.service.history(a.task)


@command(
    "task-executions",
    summary="Every command run in a task: command, exit code, duration.",
    args=TaskArg,
    example="task-executions fix-login",
    render=render.executions_table,
    group="history",
)
async def task_executions(ctx: Context, a: TaskArg) -> list[Execution]:
    return await ctx.service.executions(a.task)


class DecisionsArgs(BaseModel):
    task: str = task_field()
    add: str | None = arg(None, help="Record a decision (written to decisions.md on complete).")


@command(
    "task-decisions",
    summary="A task's decision log; --add records one.",
    args=DecisionsArgs,
    example='task-decisions fix-login --add "keep the old API for one release"',
    render=render.decisions_view,
    group="history",
)
async def task_decisions(ctx: Context, a: DecisionsArgs) -> list[Decision]:
    return await ctx.service.decisions(a.task, a.add)


class RecordDecisionArgs(BaseModel):
    task: str = task_field()
    text: str = arg(help="What was decided, and why.", positional=True)


@command(
    "record-decision",
    summary="Record one decision in a task's decision log.",
    args=RecordDecisionArgs,
    example='record-decision fix-login "use bcrypt, not sha256"',
    mcp_name="record_decision",
    render=render.decisions_view,
    group="history",
)
async def record_decision(ctx: Context, a: RecordDecisionArgs) -> list[Decision]:
    return await ctx.service.decisions(a.task, a.text)


class FindArgs(BaseModel):
    query: str = arg(
        help="Words to look for in names, descriptions, branches, decisions.", positional=True
    )


@command(
    "find-task",
    summary="Full-text search over task names, descriptions, branches and decisions.",
    args=FindArgs,
    example="find-task login",
    render=render.tasks_table,
    group="history",
    aliases=("find",),
)
async def find_task(ctx: Context, a: FindArgs) -> list[Task]:
    return await ctx.service.find(a.query)


class StatsArgs(BaseModel):
    task: str | None = arg(
        None, help="One task (default: all live tasks).", positional=True, complete="task"
    )


@command(
    "task-stats",
    summary="Counts by state, ages, checkpoints, executions, CPU and memory peaks.",
    args=StatsArgs,
    example="task-stats",
    render=render.stats_view,
    group="history",
    aliases=("stats",),
)
async def task_stats(ctx: Context, a: StatsArgs) -> TaskStatsSummary:
    svc = ctx.service
    tasks = [await svc.get(a.task)] if a.task else await svc.list_tasks(include_all=True)
    counts = await svc.store.checkpoint_counts()
    peaks = await svc.store.peaks(tasks[0].id if a.task else None)
    execs = await svc.store.execution_counts()
    now = datetime.now(UTC)
    rows = [
        TaskStatRow(
            id=t.id,
            name=t.name,
            state=t.state,
            age_seconds=int((now - t.created_at).total_seconds()),
            checkpoints=counts.get(t.id, 0),
            executions=execs.get(t.id, 0),
            cpu_peak_percent=peaks[t.id][0] if t.id in peaks else None,
            memory_peak_bytes=peaks[t.id][1] if t.id in peaks else None,
        )
        for t in tasks
    ]
    return TaskStatsSummary(by_state=await svc.store.count_by_state(), tasks=rows)


class ReconcileArgs(BaseModel):
    remove: bool = arg(False, help="Remove the orphans found (containers, workspaces).")


def _render_reconcile(r: ReconcileReport) -> Any:
    from rich.text import Text

    out = Text()
    for o in r.orphans:
        out.append(f"orphan {o.kind} {o.ref} {o.detail}\n", style="yellow")
    for o in r.removed:
        out.append(f"removed {o.kind} {o.ref}\n", style="green")
    for name in r.vanished:
        out.append(f"task {name}: sandbox vanished, marked failed\n", style="red")
    return (
        out
        if out.plain
        else Text("all consistent: nothing orphaned, nothing vanished", style="green")
    )


@command(
    "reconcile",
    summary="Find what the store and Docker disagree on (orphans, vanished sandboxes); --remove fixes.",
    args=ReconcileArgs,
    example="reconcile --remove",
    render=_render_reconcile,
    group="system",
)
async def reconcile(ctx: Context, a: ReconcileArgs) -> ReconcileReport:
    from backend.reconcile import reconcile as run

    return await run(ctx.service, remove=a.remove)


class HelpArgs(BaseModel):
    command: str | None = arg(
        None, help="A command to explain.", positional=True, complete="command"
    )


class HelpEntry(BaseModel):
    name: str
    summary: str
    usage: str
    example: str
    arguments: list[dict[str, Any]]


def help_entry(cmd: Command) -> HelpEntry:
    args = [
        {"name": n, "help": f.description or "", "required": f.is_required()}
        for n, f in cmd.args.model_fields.items()
    ]
    return HelpEntry(
        name=cmd.name, summary=cmd.summary, usage=cmd.usage, example=cmd.example, arguments=args
    )


def _render_help(entries: list[HelpEntry]) -> Any:
    from rich.table import Table
    from rich.text import Text

    if len(entries) == 1:
        e = entries[0]
        t = Text()
        t.append(f"{e.usage}\n\n", style="bold")
        t.append(f"{e.summary}\n\n")
        for arg_ in e.arguments:
            t.append(f"  {arg_['name']:<14}", style="cyan")
            t.append(f"{arg_['help']}\n")
        t.append(f"\nexample: {e.example}\n", style="dim")
        return t
    table = Table(box=None, pad_edge=False, show_header=False)
    table.add_column(style="cyan")
    table.add_column()
    for e in entries:
        table.add_row(e.name, e.summary)
    return table


@command(
    "help",
    summary="List commands, or explain one.",
    args=HelpArgs,
    example="help create-task",
    render=_render_help,
    group="system",
)
async def help_(ctx: Context, a: HelpArgs) -> list[HelpEntry]:
    if a.command:
        cmd = lookup(a.command)
        if cmd is None:
            hint = suggest(a.command)
            raise UsageError(
                f"unknown command {a.command!r}" + (f"; did you mean {hint}?" if hint else "")
            )
        return [help_entry(cmd)]
    return [help_entry(c) for c in commands()]
