"""Messages that carry results from workers back to the app (never widget calls from threads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from backend.models import LogLine, Sample, Task


class TasksLoaded(Message):
    def __init__(self, tasks: list[Task], checkpoints: dict[str, int],
                 samples: dict[str, Sample], last_event: int) -> None:  # fmt: skip
        super().__init__()
        self.tasks = tasks
        self.checkpoints = checkpoints
        self.samples = samples
        self.last_event = last_event


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
