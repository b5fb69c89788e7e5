"""The task state machine: creating -> running <-> stopped -> completed -> cleaned, plus failed
and deleted. Anything else is refused with a message naming the current state."""

from __future__ import annotations

from backend.errors import ConflictError
from backend.models import TaskState

S = TaskState

ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    S.CREATING: frozenset({S.RUNNING, S.FAILED, S.DELETED}),
    S.RUNNING: frozenset({S.STOPPED, S.COMPLETED, S.FAILED, S.DELETED, S.RUNNING}),
    S.STOPPED: frozenset({S.RUNNING, S.COMPLETED, S.FAILED, S.DELETED, S.CLEANED}),
    S.COMPLETED: frozenset({S.CLEANED, S.DELETED, S.RUNNING}),
    S.CLEANED: frozenset({S.DELETED}),
    S.FAILED: frozenset({S.RUNNING, S.STOPPED, S.DELETED, S.CLEANED}),
    S.DELETED: frozenset(),
}

# What a person would type to get out of each state; used in refusal messages.
_HINT: dict[TaskState, str] = {
    S.CREATING: "wait for it to finish creating",
    S.RUNNING: "stop it first with stop-task",
    S.STOPPED: "start it with resume-task",
    S.COMPLETED: "it is completed; resume-task reopens it",
    S.CLEANED: "it is cleaned up; fork a checkpoint or create a new task",
    S.FAILED: "see task-status for the reason; resume-task retries",
    S.DELETED: "it is deleted",
}


def check(name: str, current: TaskState, target: TaskState, action: str) -> None:
    if target not in ALLOWED[current]:
        raise ConflictError(
            f"cannot {action} task {name!r}: it is {current.value}; {_HINT[current]}"
        )


def require(name: str, current: TaskState, allowed: set[TaskState], action: str) -> None:
    """Refuse an action (not a transition, e.g. exec) unless the task is in one of `allowed`."""
    if current not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise ConflictError(
            f"cannot {action} task {name!r}: it is {current.value}, needs {wanted}; {_HINT[current]}"
        )
