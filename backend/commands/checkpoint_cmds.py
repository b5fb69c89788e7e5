"""Checkpoint commands: checkpoint, checkpoints, diff, restore-checkpoint, fork-task,
prune-checkpoints. The work is in backend.checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from backend import checkpoints
from backend.checkpoints import Checkpoint, CheckpointDiff, PruneResult, RestoreResult
from backend.commands import render
from backend.commands.common import TaskArg, task_field
from backend.commands.context import Context
from backend.commands.registry import arg, command
from backend.models import Task
from backend.units import human_age, human_size, parse_age


def _number(help_text: str, default: Any = ...) -> Any:
    return arg(default, help=help_text, positional=True, complete="checkpoint", metavar="N")


def _checkpoints_table(cps: Sequence[Checkpoint]) -> Any:
    from rich.table import Table
    from rich.text import Text

    if not cps:
        return Text("no checkpoints (take one with: corral checkpoint TASK)", style="dim")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("N", "TIME", "AGE", "KIND", "FILES", "LAYER", "COMMIT", "MESSAGE"):
        table.add_column(col)
    for c in cps:
        table.add_row(
            str(c.n), f"{c.created_at:%Y-%m-%d %H:%M:%S}", human_age(c.created_at), c.kind,
            str(c.files_changed), human_size(c.layer_size) if c.layer_size else "-",
            c.commit_sha[:10], c.message,
        )  # fmt: skip
    return table


def _checkpoint_line(c: Checkpoint) -> Any:
    from rich.text import Text

    image = "container unchanged" if not c.layer_size else f"layer {human_size(c.layer_size)}"
    return Text(
        f"checkpoint {c.n} ({c.kind}): {c.files_changed} files changed, {image}, "
        f"commit {c.commit_sha[:10]}, {c.duration_ms} ms"
    )


class CheckpointArgs(BaseModel):
    task: str = task_field()
    message: str = arg("", help="What this checkpoint is (shown in the list).", short="-m")


@command(
    "checkpoint",
    summary="Checkpoint a task: workspace files, container filesystem and history, atomically.",
    args=CheckpointArgs,
    example='checkpoint fix-login -m "tests pass"',
    mcp_name="checkpoint_task",
    group="checkpoint",
    render=_checkpoint_line,
)
async def checkpoint(ctx: Context, a: CheckpointArgs) -> Checkpoint:
    return await checkpoints.create(ctx.service, a.task, kind="manual", message=a.message)


@command(
    "checkpoints",
    summary="List a task's checkpoints: number, time, kind, files changed, container layer.",
    args=TaskArg,
    example="checkpoints fix-login",
    mcp_name="list_checkpoints",
    group="checkpoint",
    render=_checkpoints_table,
)
async def list_(ctx: Context, a: TaskArg) -> list[Checkpoint]:
    return await checkpoints.list_checkpoints(ctx.service, a.task)


class DiffArgs(BaseModel):
    task: str = task_field()
    n: int | None = _number("From this checkpoint (default: the latest).", None)
    m: int | None = arg(
        None, help="To this checkpoint (default: the workspace now).", positional=True,
        complete="checkpoint", metavar="M",
    )  # fmt: skip
    stat: bool = arg(False, help="Only the list of changed files, no patch.")


def _render_diff(d: CheckpointDiff) -> Any:
    from rich.console import Group
    from rich.syntax import Syntax
    from rich.text import Text

    to = f"checkpoint {d.to_n}" if d.to_n is not None else "now"
    head = Text(f"checkpoint {d.from_n} -> {to}: {len(d.files)} files changed", style="bold")
    files = Text("\n".join(f"{f.status} {f.path}" for f in d.files))
    parts: list[Any] = [head, files]
    if d.patch:
        parts.append(Syntax(d.patch, "diff", theme="ansi_dark", word_wrap=False))
    if d.truncated:
        parts.append(Text("(patch truncated)", style="dim"))
    return Group(*parts)


@command(
    "diff",
    summary="Workspace diff between two checkpoints, or between one and now.",
    args=DiffArgs,
    example="diff fix-login 2 3",
    mcp_name="task_diff",
    group="checkpoint",
    render=_render_diff,
)
async def diff(ctx: Context, a: DiffArgs) -> CheckpointDiff:
    result = await checkpoints.diff(ctx.service, a.task, a.n, a.m)
    if a.stat:
        result.patch = ""
    return result


class RestoreArgs(BaseModel):
    task: str = task_field()
    n: int = _number("The checkpoint to go back to.")


def _render_restore(r: RestoreResult) -> Any:
    from rich.text import Text

    return Text(
        f"restored checkpoint {r.restored} in {r.duration_ms} ms: {r.files_written} files "
        f"written, {r.files_removed} removed, sandbox "
        f"{'recreated' if r.container_recreated else 'kept (unchanged)'}"
        f"{', agent restarted' if r.agent_restarted else ''}. "
        f"Undo with: restore-checkpoint TASK {r.safety}"
    )


@command(
    "restore-checkpoint",
    summary="Bring a task back to a checkpoint: files, container and agent (undoable).",
    args=RestoreArgs,
    example="restore-checkpoint fix-login 2",
    mcp_name="restore_checkpoint",
    group="checkpoint",
    render=_render_restore,
    aliases=("restore",),
)
async def restore(ctx: Context, a: RestoreArgs) -> RestoreResult:
    ctx.progress(f"restoring checkpoint {a.n}")
    return await checkpoints.restore(ctx.service, a.task, a.n)


class ForkArgs(BaseModel):
    task: str = task_field()
    n: int = _number("The checkpoint to start from.")
    new_name: str = arg(help="Name of the new task.", positional=True)


@command(
    "fork-task",
    summary="Start a new task (own branch, own sandbox) from a checkpoint of another.",
    args=ForkArgs,
    example="fork-task fix-login 2 fix-login-alt",
    group="checkpoint",
    render=render.task_detail,
    aliases=("fork",),
)
async def fork_task(ctx: Context, a: ForkArgs) -> Task:
    ctx.progress(f"forking checkpoint {a.n} into {a.new_name}")
    return await checkpoints.fork(ctx.service, a.task, a.n, a.new_name)


class PruneArgs(BaseModel):
    task: str = task_field()
    keep: int | None = arg(None, help="Keep the newest K checkpoints.", metavar="K")
    older_than: str | None = arg(None, help="Only remove checkpoints older than AGE (30m, 7d).")
    all: bool = arg(False, help="Also remove safety, final and cleanup checkpoints.")


def _render_prune(r: PruneResult) -> Any:
    from rich.text import Text

    removed = ", ".join(map(str, r.removed)) or "none"
    return Text(f"removed checkpoints: {removed}; kept {len(r.kept)}")


@command(
    "prune-checkpoints",
    summary="Remove old checkpoints (refs and images too); safety and final ones stay.",
    args=PruneArgs,
    example="prune-checkpoints fix-login --keep 5 --older-than 7d",
    group="checkpoint",
    render=_render_prune,
)
async def prune(ctx: Context, a: PruneArgs) -> PruneResult:
    age = parse_age(a.older_than) if a.older_than else None
    return await checkpoints.prune(
        ctx.service, a.task, keep=a.keep, older_than=age, include_protected=a.all
    )
