"""Argument pieces shared by many commands."""

from __future__ import annotations

from pydantic import BaseModel

from backend.commands.registry import arg


class TaskArg(BaseModel):
    task: str = arg(
        help="Task name or a unique prefix of its id.", positional=True, complete="task"
    )


def task_field() -> str:
    result: str = arg(
        help="Task name or a unique prefix of its id.", positional=True, complete="task"
    )
    return result
