"""The command bar: `/` focuses it; accepts `/name args` or `name args`; tab completes command
names, flags, task names and checkpoint numbers; the line under it explains what is typed."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label

from tui.completion import Sources, candidates, inline_help


class RegistrySuggester(Suggester):
    """Ghost text: the first completion of the line (right arrow or tab accepts it)."""

    def __init__(self, sources: Sources) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.sources = sources

    async def get_suggestion(self, value: str) -> str | None:
        found = candidates(value, self.sources)
        return found[0] if found else None


class CommandInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", id="bar.complete", tooltip="Complete the word",
                show=False, priority=True),
        Binding("escape", "leave", "Leave", id="bar.leave", tooltip="Back to the task list",
                show=False),
        Binding("up", "history(-1)", "Previous", id="bar.previous", show=False,
                tooltip="Previous command"),
        Binding("down", "history(1)", "Next", id="bar.next", show=False, tooltip="Next command"),
    ]  # fmt: skip

    class Leave(Message):
        """The user is done with the bar (esc)."""

    def __init__(self, sources: Sources, **kw: object) -> None:
        super().__init__(suggester=RegistrySuggester(sources), **kw)  # type: ignore[arg-type]
        self.sources = sources
        self.past: list[str] = []
        self._past_at = 0
        self._cycle: list[str] = []
        self._cycle_at = 0

    def action_complete(self) -> None:
        if not self.has_focus:
            return
        if self._cycle and self.value in self._cycle:
            self._cycle_at = (self._cycle_at + 1) % len(self._cycle)
        else:
            self._cycle = candidates(self.value, self.sources)
            self._cycle_at = 0
        if self._cycle:
            self.value = self._cycle[self._cycle_at]
            self.cursor_position = len(self.value)

    def action_leave(self) -> None:
        self.post_message(self.Leave())

    def action_history(self, step: int) -> None:
        if not self.past:
            return
        self._past_at = max(0, min(len(self.past), self._past_at + step))
        self.value = self.past[self._past_at] if self._past_at < len(self.past) else ""
        self.cursor_position = len(self.value)

    def remember(self, line: str) -> None:
        if line and (not self.past or self.past[-1] != line):
            self.past.append(line)
        self._past_at = len(self.past)
        self._cycle = []


class CommandBar(Vertical):
    DEFAULT_CSS = """
    CommandBar { height: auto; }
    CommandBar CommandInput, CommandBar CommandInput:focus { border: none; height: 1; padding: 0 1; }
    CommandBar CommandInput:focus { background: $boost; }
    CommandBar #bar-help { height: 1; padding: 0 1; color: $text-muted; width: 1fr; display: none; }
    CommandBar:focus-within #bar-help { display: block; }
    """

    class Submitted(Message):
        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    def __init__(self, sources: Sources, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.sources = sources

    def compose(self) -> ComposeResult:
        yield CommandInput(
            self.sources, placeholder="/ type a command (help lists them)", id="bar-input"
        )
        yield Label(inline_help(""), id="bar-help")

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    @on(Input.Changed, "#bar-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#bar-help", Label).update(inline_help(event.value))

    @on(Input.Submitted, "#bar-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value.strip()
        self.input.remember(line)
        self.input.value = ""
        if line.lstrip("/").strip():
            self.post_message(self.Submitted(line))
