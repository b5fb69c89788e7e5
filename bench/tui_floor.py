"""The floor for the TUI rows: a bare Textual app (a DataTable and a footer) started the same
way, in the same pseudo-terminal. `python -m bench.tui_floor [ROWS]`: prints the same
`first_frame_since_process_ms=` (and, with ROWS, `tasks_loaded_ms=`) as Corral's app."""

from __future__ import annotations

import sys
import time

STARTED = time.perf_counter()

from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable, Footer  # noqa: E402

from tui.timing import process_age_ms  # noqa: E402


class Floor(App[None]):
    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.timings: dict[str, float] = {}

    def compose(self) -> ComposeResult:
        yield DataTable(id="t")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self._first)

    def _first(self) -> None:
        self.timings["first_frame_ms"] = (time.perf_counter() - STARTED) * 1000
        age = process_age_ms()
        if age is not None:
            self.timings["first_frame_since_process_ms"] = age
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


if __name__ == "__main__":
    app = Floor(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    app.run()
    print(" ".join(f"{k}={v:.1f}" for k, v in app.timings.items()))
