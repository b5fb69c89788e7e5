"""The task list: a DataTable (rendered lazily, so 10k rows stay cheap) keyed by task id."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from backend.models import Sample, Task
from tui.format import HIDDEN_STATES, STATE_STYLE, row_cells

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

    def __init__(self, **kw: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)  # type: ignore[arg-type]
        self.tasks: dict[str, Task] = {}
        self.samples: dict[str, Sample] = {}
        self.checkpoints: dict[str, int] = {}
        self.now: datetime | None = None

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
        self.clear()
        self.tasks = {t.id: t for t in tasks if t.state not in HIDDEN_STATES}
        for t in self.tasks.values():
            self.add_row(*self._cells(t, now), key=t.id)

    def upsert(self, task: Task, now: datetime) -> None:
        if task.state in HIDDEN_STATES:
            self.drop(task.id)
            return
        self.tasks[task.id] = task
        cells = self._cells(task, now)
        try:
            self.get_row_index(task.id)
        except RowDoesNotExist:
            self.add_row(*cells, key=task.id)
            return
        for (key, _), value in zip(COLUMNS, cells, strict=True):
            self.update_cell(task.id, key, value)

    def drop(self, task_id: str) -> None:
        self.tasks.pop(task_id, None)
        try:
            self.remove_row(task_id)
        except RowDoesNotExist:
            pass

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
        try:
            self.move_cursor(row=self.get_row_index(task_id))
        except RowDoesNotExist:
            pass

    def running_count(self) -> int:
        return sum(1 for t in self.tasks.values() if t.state.value == "running")

    def tasks_by_name(self) -> dict[str, Task]:
        return {t.name: t for t in self.tasks.values()}
