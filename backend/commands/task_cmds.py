"""Task lifecycle commands: create, list, status, stop, resume, complete, cleanup, delete."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

from backend.commands import render
from backend.commands.common import TaskArg, task_field
from backend.commands.context import Context
from backend.commands.registry import arg, command
from backend.errors import UsageError
from backend.models import MergeResult, Task, TaskState, TaskStatus


class CreateArgs(BaseModel):
    name: str = arg(help="Task name; becomes branch corral/<slug>.", positional=True)
    repo: str | None = arg(
        None, help="Git repo (default: the current directory's).", complete="path"
    )
    base: str | None = arg(None, help="Branch, tag or commit to start from (default: HEAD).")
    image: str | None = arg(None, help="Sandbox image (default from config).", complete="image")
    agent: str | None = arg(
        None, help="Agent preset: claude, codex, aider, opencode, shell.", complete="preset"
    )
    agent_cmd: str | None = arg(None, help="Custom agent command instead of a preset.")
    cpus: float | None = arg(None, help="CPU limit in cores, e.g. 1.5.")
    memory: str | None = arg(None, help="Memory limit, e.g. 512m, 2g.")
    network: str | None = arg(None, help="none (default), bridge, or a Docker network name.")
    env: list[str] | None = arg(
        None, help="K=V set in the sandbox (repeatable); values stay out of logs.", metavar="K=V"
    )
    description: str = arg("", help="What the task is for (searchable).")
    request_id: str | None = arg(None, help="Idempotency key: the same id returns the same task.")

    @field_validator("env")
    @classmethod
    def _env_pairs(cls, v: list[str] | None) -> list[str] | None:
        for item in v or []:
            if "=" not in item or item.startswith("="):
                raise ValueError(f"--env {item!r} is not K=V")
        return v


@command(
    "create-task",
    summary="Create a task: a hardened sandbox plus a workspace on branch corral/<slug>.",
    args=CreateArgs,
    example="create-task fix-login --agent claude --memory 2g",
    mcp_name="create_task_sandbox",
    render=render.task_detail,
)
async def create_task(ctx: Context, a: CreateArgs) -> Task:
    env = dict(item.split("=", 1) for item in a.env or [])
    ctx.progress(f"creating task {a.name}")
    return await ctx.service.create_task(
        a.name, repo=a.repo or str(ctx.cwd), base=a.base, image=a.image, agent=a.agent,
        agent_cmd=a.agent_cmd, cpus=a.cpus, memory=a.memory, network=a.network, env=env,
        description=a.description, request_id=a.request_id,
    )  # fmt: skip


class ListArgs(BaseModel):
    state: TaskState | None = arg(None, help="Only tasks in this state.", complete="state")
    all: bool = arg(False, help="Include cleaned and deleted tasks.")


@command(
    "list-tasks",
    summary="List tasks (live ones by default).",
    args=ListArgs,
    example="list-tasks --state running",
    mcp_name="list_tasks",
    render=render.tasks_table,
    aliases=("ls",),
)
async def list_tasks(ctx: Context, a: ListArgs) -> list[Task]:
    return await ctx.service.list_tasks(a.state, a.all)


@command(
    "task-status",
    summary="One task in detail: state, sandbox, agent, checkpoints, recent events.",
    args=TaskArg,
    example="task-status fix-login",
    mcp_name="get_task_status",
    render=render.status_view,
    aliases=("status",),
)
async def task_status(ctx: Context, a: TaskArg) -> TaskStatus:
    return await ctx.service.status(a.task)


@command(
    "stop-task",
    summary="Stop a task's sandbox (the agent stops with it; resume-task brings both back).",
    args=TaskArg,
    example="stop-task fix-login",
    mcp_name="stop_task",
    render=render.task_detail,
    aliases=("stop",),
)
async def stop_task(ctx: Context, a: TaskArg) -> Task:
    return await ctx.service.stop_task(a.task)


@command(
    "resume-task",
    summary="Start a stopped task's sandbox again and bring its agent back.",
    args=TaskArg,
    example="resume-task fix-login",
    render=render.task_detail,
    aliases=("resume",),
)
async def resume_task(ctx: Context, a: TaskArg) -> Task:
    return await ctx.service.resume_task(a.task)


class CompleteArgs(BaseModel):
    task: str = task_field()
    merge: bool = arg(False, help="Merge the branch into its base when it applies cleanly.")


class CompleteResult(BaseModel):
    task: Task
    merge: MergeResult | None


def _render_complete(r: CompleteResult) -> Any:
    from rich.console import Group
    from rich.text import Text

    lines = [render.task_detail(r.task)]
    if r.merge and r.merge.merged:
        lines.append(
            Text(
                f"merged {r.task.branch} into {r.merge.into} ({(r.merge.commit or '')[:10]})",
                style="green",
            )
        )
    elif r.merge:
        files = ", ".join(r.merge.conflicts)
        lines.append(Text(f"not merged: conflicts in {files}; nothing changed", style="red"))
    return Group(*lines)


@command(
    "complete-task",
    summary="Finish a task: sandbox stopped, branch final in your repo, optionally merged.",
    args=CompleteArgs,
    example="complete-task fix-login --merge",
    render=_render_complete,
)
async def complete_task(ctx: Context, a: CompleteArgs) -> CompleteResult:
    task, merge = await ctx.service.complete_task(a.task, merge=a.merge)
    return CompleteResult(task=task, merge=merge)


class CleanupArgs(BaseModel):
    task: str | None = arg(None, help="Task to clean up.", positional=True, complete="task")
    completed: bool = arg(False, help="Clean up every completed task.")


@command(
    "cleanup-task",
    summary="Remove a task's sandbox and workspace; its branch and history stay.",
    args=CleanupArgs,
    example="cleanup-task --completed",
    render=render.tasks_table,
)
async def cleanup_task(ctx: Context, a: CleanupArgs) -> list[Task]:
    if a.completed == bool(a.task):
        raise UsageError(
            "cleanup-task: give a TASK or --completed (one of them); usage: cleanup-task TASK | --completed"
        )
    if a.completed:
        return await ctx.service.cleanup_completed()
    assert a.task
    return [await ctx.service.cleanup_task(a.task)]


class DeleteArgs(BaseModel):
    task: str = task_field()
    purge: bool = arg(False, help="Also erase its history, logs, checkpoints and branch.")


@command(
    "delete-task",
    summary="Delete a task: sandbox and workspace removed; history kept unless --purge.",
    args=DeleteArgs,
    example="delete-task fix-login",
    mcp_name="delete_task",
    render=render.task_detail,
    aliases=("rm",),
)
async def delete_task(ctx: Context, a: DeleteArgs) -> Task:
    return await ctx.service.delete_task(a.task, purge=a.purge)
