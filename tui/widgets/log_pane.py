"""A task's live log: follows the tail, pauses when scrolled up ("N new lines"), a k9s-style
filter (its own input, opened with `f`, so it never fights the `/` command bar) and timestamps
on demand. Lines arrive in batches (one call per poll), never one message per line."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, Self

from rich.cells import cell_len
from rich.style import Style
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import Input, Label, Log

from tui.widgets.sizing import set_virtual_size

if TYPE_CHECKING:
    from backend.models import LogLine

KEEP_LINES = 20_000  # kept for filtering and redraw; older lines stay in the task's files


class LogView(Log):
    """Textual's Log, written to more cheaply: a batch is measured inline (Log starts a thread
    per write to measure it) and the growth costs no layout pass (see sizing.py). At 2.5k lines
    a second this is the difference between a busy and an idle event loop."""

    _style: Style | None = None

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "end,G", "follow", "Follow", id="logs.follow", tooltip="Jump to the tail and follow it"
        ),
    ]

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None) -> Self:
        at_end = self.is_vertical_scroll_end
        follow = self.auto_scroll if scroll_end is None else scroll_end
        new = [piece for line in lines for piece in line.splitlines()]
        if not new:
            return self
        start = len(self._lines)
        self._lines.extend(new)
        if self.max_lines is not None and len(self._lines) > self.max_lines:
            before = len(self._lines)
            self._prune_max_lines()
            start -= before - len(self._lines)
        widest = max(cell_len(self._process_line(line)) for line in new)
        self._width = max(self._width, widest)
        set_virtual_size(self, Size(self._width, len(self._lines)))
        self.refresh_lines(max(start, 0), len(new))
        if follow and at_end and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        return self

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        # Textual 8's Log stores a rendered line in its cache only while text is selected (an
        # inverted test), so every frame re-rendered every visible line from its text: 4 ms a
        # frame at 120x40. Cached here; the cache is dropped when the style changes.
        line = super()._render_line_strip(y, rich_style)
        if self.text_selection is None:
            self._render_line_cache[y] = line
        return line

    def render_line(self, y: int) -> Strip:
        # Log asks for self.rich_style (a walk up the DOM) on every line of every frame; the
        # style only changes with the theme or focus.
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if self._style is None:
            self._style = self.rich_style
        style = self._style
        if scroll_y + y >= len(self._lines):
            return Strip.blank(width, style)
        line = self._render_line_strip(scroll_y + y, style)
        return line.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(
            scroll_x, scroll_y + y
        )

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None
        self._render_line_cache.clear()

    def on_focus(self, event: events.Focus) -> None:
        self._style = None
        self._render_line_cache.clear()

    def on_blur(self, event: events.Blur) -> None:
        self._style = None
        self._render_line_cache.clear()

    def action_follow(self) -> None:
        pane = self.parent
        if isinstance(pane, LogPane):
            pane.follow()


class LogPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            id="logs.clear_filter",
            tooltip="Clear the log filter and close it",
            show=False,
        ),
    ]
    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane #log-filter { display: none; height: 1; border: none; padding: 0 1; }
    LogPane.filtering #log-filter { display: block; }
    LogPane #log-hint { display: none; height: 1; background: $warning 30%; width: 1fr; }
    LogPane.behind #log-hint { display: block; }
    LogPane LogView { height: 1fr; overflow-x: auto; }  /* a bar only for a line too wide */
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.buffer: deque[LogLine] = deque(maxlen=KEEP_LINES)
        self.timestamps = False
        self.pattern: re.Pattern[str] | None = None
        self.unseen = 0
        self.task_id: str | None = None
        self.placeholder = False
        self.shown_total = 0  # lines received for this task since it was selected

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter (regex, case-insensitive); enter keeps, esc clears",
                    id="log-filter")  # fmt: skip
        yield LogView(max_lines=KEEP_LINES, id="log-view", highlight=False)
        yield Label("", id="log-hint")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.watch(self.view, "scroll_y", self._scrolled, init=False)

    def _scrolled(self, _old: float, _new: float) -> None:
        if self.view.is_vertical_scroll_end and self.unseen:
            self.unseen = 0
            self.remove_class("behind")

    # -- content --------------------------------------------------------------------------

    def reset(self, task_id: str | None, note: str = "") -> None:
        if task_id != self.task_id:
            self.shown_total = 0
        self.task_id = task_id
        self.buffer.clear()
        self.unseen = 0
        self.remove_class("behind")
        self.view.clear()
        self.placeholder = bool(note)
        if note:
            self.view.write_line(note)

    def add_lines(self, lines: Iterable[LogLine]) -> None:
        batch = list(lines)
        self.shown_total += len(batch)
        self.buffer.extend(batch)
        shown = [self._fmt(ln) for ln in batch if self._keep(ln)]
        if not shown:
            return
        if self.placeholder:  # the "loading…" note goes once real lines arrive
            self.placeholder = False
            self.view.clear()
        at_end = self.view.is_vertical_scroll_end or self.view.max_scroll_y == 0
        self.view.write_lines(shown, scroll_end=at_end)
        if not at_end:
            self.unseen += len(shown)
            self.query_one("#log-hint", Label).update(
                f" {self.unseen} new lines — press End to follow"
            )
            self.add_class("behind")

    def _keep(self, line: LogLine) -> bool:
        return self.pattern is None or bool(self.pattern.search(line.text))

    def _fmt(self, line: LogLine) -> str:
        tag = "" if line.source == "agent" else f"[{line.source}] "
        stamp = f"{line.time:%H:%M:%S} " if self.timestamps else ""
        return f"{stamp}{tag}{line.text}"

    def redraw(self) -> None:
        self.view.clear()
        self.view.write_lines([self._fmt(ln) for ln in self.buffer if self._keep(ln)])
        self.follow()

    def follow(self) -> None:
        self.unseen = 0
        self.remove_class("behind")
        self.view.scroll_end(animate=False)

    # -- user toggles -----------------------------------------------------------------------

    def toggle_timestamps(self) -> bool:
        self.timestamps = not self.timestamps
        self.redraw()
        return self.timestamps

    def open_filter(self) -> None:
        self.add_class("filtering")
        self.query_one("#log-filter", Input).focus()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        try:
            self.pattern = re.compile(text, re.IGNORECASE) if text else None
        except re.error:
            self.pattern = re.compile(re.escape(text), re.IGNORECASE)
        self.redraw()

    @on(Input.Submitted, "#log-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.remove_class("filtering")
        self.view.focus()

    def clear_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.value = ""
        self.pattern = None
        self.remove_class("filtering")
        self.redraw()
        self.view.focus()

    def action_clear_filter(self) -> None:
        if self.has_class("filtering"):
            self.clear_filter()
