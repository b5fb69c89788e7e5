"""The task list: a virtual table that draws only the rows on screen.

Textual's DataTable measures every cell when rows are added (10k tasks took 640 ms) and
re-renders the whole table when any cell changes (a resource sample per second for the
selected task was most of the idle CPU). Here a change to one task repaints one line, adding
10k tasks is list work, and column widths are kept as running maxima."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from backend.state_style import STATE_STYLE
from tui.format import HIDDEN_STATES, row_cells
from tui.widgets.sizing import set_virtual_size

if TYPE_CHECKING:
    from backend.models import Sample, Task

# (key, title, width or None for "as wide as the widest cell", minimum when squeezed)
COLUMNS: tuple[tuple[str, str, int | None, int], ...] = (
    ("name", "NAME", None, 8),
    ("state", "STATE", 9, 9),
    ("agent", "AGENT", 8, 8),
    ("branch", "BRANCH", None, 8),
    ("age", "AGE", 5, 5),  # "999d" and "1050d" both fit
    ("cpu", "CPU", 5, 5),
    ("mem", "MEM", 6, 6),
    ("ckpt", "CKPT", 4, 4),
)
NO_STYLE = Style()
WIDEST = 40  # a very long name or branch is cut here rather than pushing the others away
GAP = 2


@lru_cache(maxsize=64)
def _state_style(text: str) -> Style:
    return Style.parse(text) if text else NO_STYLE


class TaskTable(ScrollView, can_focus=True):
    """Rows keyed by task id, in load order (new tasks at the end)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="tasks.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="tasks.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="tasks.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="tasks.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="tasks.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="tasks.last"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "task-table--header",
        "task-table--cursor",
    }
    DEFAULT_CSS = """
    TaskTable { background: $surface; color: $foreground; overflow-x: hidden; }
    TaskTable:focus { background-tint: $foreground 5%; }
    TaskTable > .task-table--header { text-style: bold; background: $panel; color: $foreground; }
    TaskTable:ansi > .task-table--header { background: ansi_bright_blue; color: ansi_default; }
    TaskTable > .task-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    TaskTable:focus > .task-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    class Highlighted(Message):
        """The cursor moved to another task (or the list changed under it)."""

        def __init__(self, task_id: str | None) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.tasks: dict[str, Task] = {}
        self.samples: dict[str, Sample] = {}
        self.checkpoints: dict[str, int] = {}
        self.order: list[str] = []
        self._row_of: dict[str, int] = {}
        self._cells: dict[str, list[str]] = {}  # formatted cells, dropped when a task changes
        self._version: dict[str, int] = {}  # part of a row's cache key
        self._now: datetime | None = None
        self.cursor = 0
        self._widths = [w or cell_len(title) for _, title, w, _ in COLUMNS]
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._epoch = 0  # bumped when every row must be redrawn (widths, theme, ages)

    # -- data -----------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.order)

    def set_tasks(self, tasks: Iterable[Task], now: datetime) -> None:
        keep = self.selected_id
        self._now = now
        self.tasks = {t.id: t for t in tasks if t.state not in HIDDEN_STATES}
        self.order = list(self.tasks)
        self._row_of = {tid: i for i, tid in enumerate(self.order)}
        self._cells = {}
        self._widths = [w or cell_len(title) for _, title, w, _ in COLUMNS]
        self._fit_names(self.tasks.values())
        self.cursor = self._row_of.get(keep or "", min(self.cursor, max(len(self.order) - 1, 0)))
        self._everything_changed()
        self.post_message(self.Highlighted(self.selected_id))

    def extend(self, tasks: Iterable[Task], now: datetime) -> None:
        """A further page: new tasks at the end, ones already here (an event got there first)
        keep their place and newer data."""
        self._now = now
        fresh = [t for t in tasks if t.id not in self.tasks and t.state not in HIDDEN_STATES]
        for t in fresh:
            self.tasks[t.id] = t
            self._row_of[t.id] = len(self.order)
            self.order.append(t.id)
        if fresh:
            self._fit_names(fresh)
            self._everything_changed()
            if len(self.order) == len(fresh):
                self.post_message(self.Highlighted(self.selected_id))

    def _fit_names(self, tasks: Iterable[Task]) -> None:
        """Name and branch columns as wide as their widest cell (up to WIDEST): two len()s a
        task, not a formatted row, so 10k tasks cost a few milliseconds."""
        name, branch = 0, 0
        for t in tasks:
            name, branch = max(name, len(t.name)), max(branch, len(t.branch))
        self._widths[0] = max(self._widths[0], min(name, WIDEST))
        self._widths[3] = max(self._widths[3], min(branch, WIDEST))

    def upsert(self, task: Task, now: datetime) -> None:
        if task.state in HIDDEN_STATES:
            self.drop(task.id)
            return
        self._now = now
        self.tasks[task.id] = task
        before = self._cells.pop(task.id, None)
        row = self._row_of.get(task.id)
        if row is not None and before is not None and self._cell_texts(task) == before:
            return  # nothing visible changed (a sample with the same rounded CPU and memory)
        self._version[task.id] = self._version.get(task.id, 0) + 1
        if row is None:
            self._row_of[task.id] = len(self.order)
            self.order.append(task.id)
            self._grow_widths(task)
            self._sized()
            if len(self.order) == 1:
                self.post_message(self.Highlighted(task.id))
            self._refresh_row(len(self.order) - 1)
            return
        self._grow_widths(task)
        self._refresh_row(row)

    def drop(self, task_id: str) -> None:
        self.tasks.pop(task_id, None)
        self._cells.pop(task_id, None)
        row = self._row_of.pop(task_id, None)
        if row is None:
            return
        was_selected = row == self.cursor
        del self.order[row]
        for i in range(row, len(self.order)):
            self._row_of[self.order[i]] = i
        if self.cursor >= len(self.order):
            self.cursor = max(len(self.order) - 1, 0)
        elif row < self.cursor:
            self.cursor -= 1
        self._sized()
        self.refresh()
        if was_selected:
            self.post_message(self.Highlighted(self.selected_id))

    def refresh_task(self, task_id: str, now: datetime) -> None:
        task = self.tasks.get(task_id)
        if task is not None:
            self.upsert(task, now)

    def refresh_ages(self, now: datetime) -> None:
        """Ages tick: only the rows on screen are redrawn (others when they come into view)."""
        self._now = now
        self._cells.clear()
        self._everything_changed()

    @property
    def selected_id(self) -> str | None:
        return self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None

    def select(self, task_id: str) -> None:
        row = self._row_of.get(task_id)
        if row is not None:
            self._move(row)

    def running_count(self) -> int:
        return sum(1 for t in self.tasks.values() if t.state == "running")

    def tasks_by_name(self) -> dict[str, Task]:
        return {t.name: t for t in self.tasks.values()}

    # -- cursor ---------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(self.size.height - 2, 1))

    def action_jump(self, row: int) -> None:
        self._move(row if row >= 0 else len(self.order) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._move(int(self.scroll_y) + event.y - 1)

    def _move(self, row: int) -> None:
        if not self.order:
            return
        row = max(0, min(row, len(self.order) - 1))
        if row == self.cursor:
            self._keep_visible()
            return
        old, self.cursor = self.cursor, row
        self._refresh_row(old)
        self._refresh_row(row)
        self._keep_visible()
        self.post_message(self.Highlighted(self.selected_id))

    def _keep_visible(self) -> None:
        body = max(self.scrollable_content_region.height - 1, 1)  # rows under the header
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False)

    # -- drawing --------------------------------------------------------------------------

    def _cell_texts(self, task: Task) -> list[str]:
        cells = self._cells.get(task.id)
        if cells is None:
            now = self._now or task.created_at
            sample = self.samples.get(task.id)
            cells = row_cells(task, now, sample, self.checkpoints.get(task.id, 0))
            self._cells[task.id] = cells
        return cells

    def _grow_widths(self, task: Task) -> None:
        grew = False
        for i, (_, _, fixed, _) in enumerate(COLUMNS):
            if fixed is None:
                want = min(cell_len(self._cell_texts(task)[i]), WIDEST)
                if want > self._widths[i]:
                    self._widths[i] = want
                    grew = True
        if grew:
            self._everything_changed()

    def _sized(self) -> None:
        # Height counts the header, so the last row scrolls fully into view.
        set_virtual_size(self, Size(self.size.width, len(self.order) + 1))

    def _everything_changed(self) -> None:
        self._epoch += 1
        self._sized()
        self.refresh()

    def _refresh_row(self, row: int) -> None:
        y = row + 1 - int(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._epoch += 1  # theme or focus changed: cached rows carry old colours

    def on_focus(self, event: events.Focus) -> None:
        self._epoch += 1
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._epoch += 1
        self.refresh()

    def _fit(self, width: int) -> list[int]:
        """Column widths for this many cells: flexible columns give way first."""
        widths = list(self._widths)
        over = sum(widths) + GAP * (len(widths) - 1) + 1 - width
        for i in (3, 0):  # branch, then name
            if over <= 0:
                break
            give = min(over, widths[i] - COLUMNS[i][3])
            if give > 0:
                widths[i] -= give
                over -= give
        return widths

    def _line(self, cells: list[str], width: int, styles: list[Style], base: Style) -> Strip:
        segments = [Segment(" ", base)]
        for i, (text, w) in enumerate(zip(cells, self._fit(width), strict=True)):
            if cell_len(text) > w:
                text = text[: max(w - 1, 0)] + "…"
            pad = w - cell_len(text) + (GAP if i < len(cells) - 1 else 0)
            segments.append(Segment(text, base + styles[i] if styles[i] is not NO_STYLE else base))
            segments.append(Segment(" " * pad, base))
        return Strip(segments).adjust_cell_length(width, base)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("task-table--header")
            key = ("header", width, self._epoch)
            if (hit := self._strips.get(key)) is None:
                titles = [title for _, title, _, _ in COLUMNS]
                hit = self._line(titles, width, [NO_STYLE] * len(titles), header)
                self._strips[key] = hit
            return hit
        row = int(self.scroll_y) + y - 1
        if row >= len(self.order):
            return Strip.blank(width, base)
        tid = self.order[row]
        task = self.tasks[tid]
        cursor = row == self.cursor
        key = (tid, self._version.get(tid, 0), width, cursor, self._epoch)
        if (hit := self._strips.get(key)) is not None:
            return hit
        cells = self._cell_texts(task)
        style = base + self.get_component_rich_style("task-table--cursor") if cursor else base
        styles = [NO_STYLE] * len(cells)
        if not cursor:
            styles[1] = _state_style(STATE_STYLE.get(task.state, ""))
        strip = self._line(cells, width, styles, style)
        self._strips[key] = strip
        return strip

    def on_resize(self, _event: events.Resize) -> None:
        self._sized()
        self._epoch += 1
