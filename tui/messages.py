"""Messages that carry results from workers back to the app (never widget calls from threads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from backend.models import LogLine, Sample, Task


class TasksLoaded(Message):
    """The first page of the task list (replaces the table); `complete` when it is all."""

    def __init__(self, tasks: list[Task], checkpoints: dict[str, int],
                 last_event: int, complete: bool) -> None:  # fmt: skip
        super().__init__()
        self.tasks = tasks
        self.checkpoints = checkpoints
        self.last_event = last_event
        self.complete = complete


class TasksAppended(Message):
    """A further page of the task list."""

    def __init__(self, tasks: list[Task], complete: bool) -> None:
        super().__init__()
        self.tasks = tasks
        self.complete = complete


class EngineChecked(Message):
    def __init__(self, reachable: bool) -> None:
        super().__init__()
        self.reachable = reachable

    def can_replace(self, message: Message) -> bool:  # latest value wins
        return isinstance(message, EngineChecked)


class LogBatch(Message):
    def __init__(self, task_id: str, lines: list[LogLine], first: bool = False) -> None:
        super().__init__()
        self.task_id = task_id
        self.lines = lines
        self.first = first


class SamplesArrived(Message):
    def __init__(self, task_id: str, samples: list[Sample]) -> None:
        super().__init__()
        self.task_id = task_id
        self.samples = samples


class CommandDone(Message):
    def __init__(self, line: str, name: str, result: Any) -> None:
        super().__init__()
        self.line = line
        self.name = name
        self.result = result
