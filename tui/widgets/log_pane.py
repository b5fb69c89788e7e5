"""A task's live log: follows the tail, pauses when scrolled up ("N new lines"), a k9s-style
filter (its own input, opened with `f`, so it never fights the `/` command bar) and timestamps
on demand. Lines arrive in batches (one call per poll), never one message per line."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Log

from backend.models import LogLine

KEEP_LINES = 20_000  # kept for filtering and redraw; older lines stay in the task's files


class LogView(Log):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "end,G", "follow", "Follow", id="logs.follow", tooltip="Jump to the tail and follow it"
        ),
    ]

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
    LogPane LogView { height: 1fr; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.buffer: deque[LogLine] = deque(maxlen=KEEP_LINES)
        self.timestamps = False
        self.pattern: re.Pattern[str] | None = None
        self.unseen = 0
        self.task_id: str | None = None
        self.placeholder = False

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
