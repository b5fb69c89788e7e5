"""A task's history: events, executions and decisions, rendered like the CLI renders them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from backend.models import Decision, Event, Execution


class HistoryPane(VerticalScroll):
    DEFAULT_CSS = """
    HistoryPane { height: 1fr; padding: 0 1; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("no task selected", id="history-body")

    def show(
        self, events: list[Event], executions: list[Execution], decisions: list[Decision]
    ) -> None:
        from backend.commands import render  # rich tables: loaded when history is shown

        body = Group(
            Text("Events", style="bold underline"),
            render.events_table(events[-200:]),
            Text(""),
            Text("Executions", style="bold underline"),
            render.executions_table(executions[-200:])
            if executions
            else Text("no commands run yet", style="dim"),
            Text(""),
            Text("Decisions", style="bold underline"),
            render.decisions_view(decisions),
        )
        self.query_one("#history-body", Static).update(body)

    def note(self, text: str) -> None:
        self.query_one("#history-body", Static).update(Text(text, style="dim"))
