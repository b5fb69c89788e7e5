"""Plain-text formatting of task rows (pure functions, so snapshot data stays deterministic)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backend.units import human_size

if TYPE_CHECKING:  # the models load after the first frame (see tui/app.py)
    from backend.models import Sample, Task

HIDDEN_STATES = frozenset({"deleted", "cleaned"})  # TaskState values


def age(created: datetime, now: datetime) -> str:
    secs = max(int((now - created).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def cpu(sample: Sample | None) -> str:
    return f"{sample.cpu_percent:.0f}%" if sample else "-"


def memory(sample: Sample | None) -> str:
    if sample is None:
        return "-"
    return human_size(sample.memory_bytes).replace(" ", "").replace("iB", "")


def row_cells(task: Task, now: datetime, sample: Sample | None, checkpoints: int) -> list[str]:
    live = task.state == "running"
    return [
        task.name,
        str(task.state),  # a TaskState (a StrEnum) or, in a preview row, its value
        str(task.agent_state),
        task.branch,
        age(task.created_at, now),
        cpu(sample if live else None),
        memory(sample if live else None),
        str(checkpoints),
    ]
