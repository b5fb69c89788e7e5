"""One palette of task-state colours for the CLI tables and the TUI, keyed by the state's
value (TaskState is a StrEnum, so its members look these up too). Kept apart from the
renderers so the TUI can colour its first frame without importing the models."""

from __future__ import annotations

STATE_STYLE: dict[str, str] = {
    "running": "green",
    "creating": "yellow",
    "stopped": "dim",
    "completed": "cyan",
    "failed": "red",
    "cleaned": "dim",
    "deleted": "dim strike",
}
