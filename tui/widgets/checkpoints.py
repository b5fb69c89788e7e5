"""The selected task's checkpoints: list, diff against now or a marked checkpoint, restore.

Everything goes through the registry commands `checkpoints`, `diff`, `restore-checkpoint` and
`checkpoint`; when they are not registered the pane says so instead of failing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Label, Static

PREFERRED = ("n", "kind", "message", "files_changed", "created_at")


def number_of(item: Any) -> str:
    for key in ("n", "number", "id"):
        value = getattr(item, key, None) if not isinstance(item, dict) else item.get(key)
        if value is not None:
            return str(value)
    return "?"


def _columns(items: Sequence[Any]) -> list[str]:
    first = items[0]
    data = first.model_dump() if hasattr(first, "model_dump") else dict(first)
    cols = [c for c in PREFERRED if c in data]
    return cols or [k for k, v in data.items() if isinstance(v, str | int | float)][:5]


def _cell(value: Any) -> str:
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


class CheckpointPane(Vertical):
    DEFAULT_CSS = """
    CheckpointPane { height: 1fr; }
    CheckpointPane #ckpt-note { height: 1; padding: 0 1; color: $text-muted; width: 1fr; }
    CheckpointPane #ckpt-table { height: auto; max-height: 45%; }
    CheckpointPane #ckpt-diff { height: 1fr; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "diff", "Diff", id="checkpoints.diff",
                tooltip="Diff the highlighted checkpoint against now (or the marked one)"),
        Binding("m", "mark", "Mark", id="checkpoints.mark",
                tooltip="Mark a checkpoint to diff others against"),
    ]  # fmt: skip

    class Wanted(Message):
        """The pane asks the app to run a checkpoint command line."""

        def __init__(self, action: str, numbers: tuple[str, ...]) -> None:
            super().__init__()
            self.action = action
            self.numbers = numbers

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.marked: str | None = None
        self.note_text = ""
        self.numbers: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("no task selected", id="ckpt-note")
        yield DataTable(id="ckpt-table", cursor_type="row")
        with VerticalScroll(id="ckpt-diff"):
            yield Static("", id="ckpt-diff-body")

    def note(self, text: str) -> None:
        self.note_text = text
        self.query_one("#ckpt-note", Label).update(text)

    def show(self, items: Sequence[Any]) -> None:
        table = self.query_one("#ckpt-table", DataTable)
        table.clear(columns=True)
        self.numbers = [number_of(i) for i in items]
        if not items:
            self.note("no checkpoints yet — press c to take one")
            return
        cols = _columns(items)
        for c in cols:
            table.add_column(c.upper().replace("_", " "), key=c)
        for item in items:
            data = item.model_dump() if hasattr(item, "model_dump") else dict(item)
            table.add_row(*(_cell(data.get(c, "")) for c in cols), key=number_of(item))
        table.move_cursor(row=len(items) - 1)
        mark = f" · marked {self.marked}" if self.marked else ""
        self.note(f"{len(items)} checkpoints · d diff · m mark · r restore · c new{mark}")

    def show_diff(self, body: RenderableType) -> None:
        self.query_one("#ckpt-diff-body", Static).update(body)

    def clear(self) -> None:
        self.query_one("#ckpt-table", DataTable).clear(columns=True)
        self.show_diff(Text(""))
        self.numbers = []
        self.marked = None

    @property
    def highlighted(self) -> str | None:
        table = self.query_one("#ckpt-table", DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return key.value

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_diff()

    def action_diff(self) -> None:
        n = self.highlighted
        if n is None:
            return
        numbers = (self.marked, n) if self.marked and self.marked != n else (n,)
        self.post_message(self.Wanted("diff", numbers))

    def action_mark(self) -> None:
        n = self.highlighted
        self.marked = None if self.marked == n else n
        self.note(f"marked {self.marked}: d diffs against it" if self.marked else "mark cleared")
