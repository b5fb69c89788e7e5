"""The floor for the TUI rows: a bare Textual app (a DataTable and a footer) started the same
way, in the same pseudo-terminal. `python -m bench.tui_floor [ROWS]`: prints the same
`first_frame_since_process_ms=` (and, with ROWS, `tasks_loaded_ms=`) as Corral's app.

`python -m bench.tui_floor idle` stays open (DataTable + footer, nothing to do) until `q`: the
floor of the idle-CPU row. `python -m bench.tui_floor input` shows an Input focused at mount
(esc leaves it, then `q` quits): the floor of the key-to-frame row."""

from __future__ import annotations

import sys
import time
from typing import ClassVar

STARTED = time.perf_counter()

from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding, BindingType  # noqa: E402
from textual.widgets import DataTable, Footer, Input  # noqa: E402

from tui.timing import process_age_ms  # noqa: E402


class Floor(App[None]):
    stays = False  # idle and input modes: no exit after the first frame

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.timings: dict[str, float] = {}

    def compose(self) -> ComposeResult:
        yield DataTable(id="t")
        yield Footer()

    def on_ready(self) -> None:  # posted right after the first complete screen was written
        self._first()

    def _first(self) -> None:
        self.timings["first_frame_ms"] = (time.perf_counter() - STARTED) * 1000
        age = process_age_ms()
        if age is not None:
            self.timings["first_frame_since_process_ms"] = age
        if self.stays:
            return
        if not self.rows:
            self.exit()
            return
        table = self.query_one(DataTable)
        table.add_columns("name", "state", "branch", "age")
        table.add_rows(
            (f"task-{i:06d}", "running", f"corral/task-{i:06d}", "3d") for i in range(self.rows)
        )
        self.call_after_refresh(self._loaded)

    def _loaded(self) -> None:
        self.timings["tasks_loaded_ms"] = (time.perf_counter() - STARTED) * 1000
        self.exit()


class StayingFloor(Floor):
    """`idle` and `input` modes: open until `q` (esc first leaves the Input)."""

    stays = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave", "Leave", show=False),
    ]

    def __init__(self, mode: str) -> None:
        super().__init__(0)
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Input(id="i") if self.mode == "input" else DataTable(id="t")
        yield Footer()

    def on_mount(self) -> None:
        if self.mode == "input":
            self.query_one(Input).focus()

    def action_leave(self) -> None:
        self.set_focus(None)


if __name__ == "__main__":
    arg = sys.argv[1] if len(sys.argv) > 1 else "0"
    app = StayingFloor(arg) if arg in ("idle", "input") else Floor(int(arg))
    app.run()
    print(" ".join(f"{k}={v:.1f}" for k, v in app.timings.items()))
