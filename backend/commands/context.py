"""What a command handler gets besides its arguments: the service and a way to stream output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.service import TaskService


@dataclass
class Context:
    service: TaskService
    cwd: Path = field(default_factory=Path.cwd)
    # Front ends that show output live (CLI human mode, TUI) set these; others leave them None.
    on_output: Callable[[bytes], None] | None = None
    on_lines: Callable[[list[Any]], None] | None = None
    on_progress: Callable[[str, float | None], None] | None = None
    interactive: bool = False
    json: bool = False

    def progress(self, text: str, fraction: float | None = None) -> None:
        if self.on_progress:
            self.on_progress(text, fraction)
