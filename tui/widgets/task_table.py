"""The task list: a DataTable (rendered lazily, so 10k rows stay cheap) keyed by task id."""

from __future__ import annotations

import contextlib
from datetime import datetime

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from backend.models import Sample, Task
from tui.format import HIDDEN_STATES, STATE_STYLE, row_cells

FIRST_CHUNK = 200  # more than any screen shows
CHUNK = 2000

COLUMNS = (
    ("name", "NAME"),
    ("state", "STATE"),
    ("agent", "AGENT"),
    ("branch", "BRANCH"),
    ("age", "AGE"),
    ("cpu", "CPU"),
    ("mem", "MEM"),
    ("ckpt", "CKPT"),
)


class TaskTable(DataTable[str | Text]):
    """Rows are keyed by task id; `upsert` keeps a row in place when a task changes."""

    class Filled(Message):
        """Every loaded task has its row."""

    def __init__(self, **kw: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)  # type: ignore[arg-type]
        self.tasks: dict[str, Task] = {}
        self.samples: dict[str, Sample] = {}
        self.checkpoints: dict[str, int] = {}
        self._pending: list[Task] = []
        self._pending_ids: set[str] = set()
        self._generation = 0

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def _cells(self, task: Task, now: datetime) -> list[str | Text]:
        cells: list[str | Text] = list(
            row_cells(task, now, self.samples.get(task.id), self.checkpoints.get(task.id, 0))
        )
        cells[1] = Text(task.state.value, style=STATE_STYLE.get(task.state, ""))
        return cells

    def set_tasks(self, tasks: list[Task], now: datetime) -> None:
        """The first screenful is added at once; the rest in chunks between frames, so a
        10k-task list is usable right away and input is never held up."""
        self.clear()
        self.tasks = {t.id: t for t in tasks if t.state not in HIDDEN_STATES}
        self._pending = list(self.tasks.values())
        self._pending_ids = set(self.tasks)
        self._generation += 1
        self._add_chunk(self._generation, now, FIRST_CHUNK)

    def _add_chunk(self, generation: int, now: datetime, size: int) -> None:
        if generation != self._generation:
            return  # a newer load replaced this one
        chunk, self._pending = self._pending[:size], self._pending[size:]
        for t in chunk:
            self._pending_ids.discard(t.id)
            latest = self.tasks.get(t.id)
            if latest is not None:
                self.add_row(*self._cells(latest, now), key=t.id)
        if self._pending:
            self.call_after_refresh(self._add_chunk, generation, now, CHUNK)
        else:
            self.post_message(self.Filled())

    def upsert(self, task: Task, now: datetime) -> None:
        if task.state in HIDDEN_STATES:
            self.drop(task.id)
            return
        self.tasks[task.id] = task
        cells = self._cells(task, now)
        try:
            self.get_row_index(task.id)
        except RowDoesNotExist:
            if task.id in self._pending_ids:
                return  # its chunk is still to come and will use this newer task
            self.add_row(*cells, key=task.id)
            return
        for (key, _), value in zip(COLUMNS, cells, strict=True):
            self.update_cell(task.id, key, value)

    def drop(self, task_id: str) -> None:
        self.tasks.pop(task_id, None)
        with contextlib.suppress(RowDoesNotExist):
            self.remove_row(task_id)

    def refresh_task(self, task_id: str, now: datetime) -> None:
        task = self.tasks.get(task_id)
        if task is not None:
            self.upsert(task, now)

    def refresh_ages(self, now: datetime) -> None:
        for task in self.tasks.values():
            self.update_cell(task.id, "age", row_cells(task, now, None, 0)[4])

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return key.value

    def select(self, task_id: str) -> None:
        with contextlib.suppress(RowDoesNotExist):
            self.move_cursor(row=self.get_row_index(task_id))

    def running_count(self) -> int:
        return sum(1 for t in self.tasks.values() if t.state.value == "running")

    def tasks_by_name(self) -> dict[str, Task]:
        return {t.name: t for t in self.tasks.values()}
