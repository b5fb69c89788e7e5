"""TUI start-up in a pseudo-terminal (120x40): `corral` with CORRAL_TUI_EXIT_AFTER_FIRST_FRAME=1
(it prints its time to first frame and exits) and CORRAL_TUI_EXIT_AFTER_LOAD=1 (it waits for
the task list), on an empty store and on one with 10k live tasks; the floor is a bare Textual
app (bench.tui_floor) run the same way. Times are from the process's start (interpreter
start-up and imports included), read from /proc by the app itself."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from backend.store import Store
from bench.env import BenchEnv, corral_exe, make_repo
from bench.harness import Row, alternate, under
from bench.plan import Plan
from bench.pty_run import run_in_pty, timings
from bench.store_rows import fake_rows, fill

ROOT = Path(__file__).resolve().parent.parent


async def _store(home: Path, tasks: int) -> None:
    rows = [
        (*r[:3], "completed" if r[3] in ("deleted", "cleaned") else r[3], *r[4:])
        for r in fake_rows(tasks)
    ]
    store = await Store.open(home / "corral.db")
    await fill(store, rows)
    await store.close()


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    try:
        import tui.app  # noqa: F401
        import tui.timing  # noqa: F401
    except ImportError as exc:
        return [Row("tui", "first frame", "-", unavailable=f"the TUI does not import: {exc}")]
    repo = make_repo(env.root / "tui-repo", 5)
    empty, full = env.root / "tui-empty", env.root / "tui-full"
    empty.mkdir()
    full.mkdir()
    await _store(empty, 0)
    await _store(full, plan.tui_tasks)
    k = f"{plan.tui_tasks // 1000}k" if plan.tui_tasks >= 1000 else str(plan.tui_tasks)

    def corral_app(home: Path, mode: str, key: str) -> object:
        async def call(i: int) -> float:
            e = {**env.env(home), mode: "1"}
            _, text = await asyncio.to_thread(run_in_pty, [corral_exe()], e, repo)
            t = timings(text)
            if key not in t:
                raise RuntimeError(f"corral printed no {key}: {text[-300:]!r}")
            return t[key] if key != "list" else t["tasks_loaded_ms"] - t["first_frame_ms"]

        return call

    def floor_app(n: int, key: str) -> object:
        async def call(i: int) -> float:
            argv = [sys.executable, "-m", "bench.tui_floor", str(n)]
            _, text = await asyncio.to_thread(run_in_pty, argv, env.env(), ROOT)
            t = timings(text)
            return t[key] if key != "list" else t["tasks_loaded_ms"] - t["first_frame_ms"]

        return call

    first = "first_frame_since_process_ms"
    frame_mode, load_mode = "CORRAL_TUI_EXIT_AFTER_FIRST_FRAME", "CORRAL_TUI_EXIT_AFTER_LOAD"
    rows: list[Row] = []
    a, b = await alternate(plan.tui, corral_app(empty, frame_mode, first), floor_app(0, first))  # type: ignore[arg-type]
    rows.append(Row("tui", "first frame, empty store", "bare Textual app (DataTable + Footer)",
                    corral=a, base=b, target="<= 300 ms", check=under(300),
                    note="process start to first frame, 120x40 pseudo-terminal"))  # fmt: skip
    a, b = await alternate(plan.tui, corral_app(full, frame_mode, first), floor_app(0, first))  # type: ignore[arg-type]
    rows.append(Row("tui", f"first frame, {k} tasks in the store", "bare Textual app",
                    corral=a, base=b, target="<= 300 ms", check=under(300)))  # fmt: skip
    a, b = await alternate(plan.tui, corral_app(full, load_mode, "list"),  # type: ignore[arg-type]
                           floor_app(plan.tui_tasks, "list"))  # type: ignore[arg-type]
    rows.append(Row("tui", f"{k} tasks listed, after first frame",
                    f"bare Textual DataTable.add_rows of {k} rows", corral=a, base=b,
                    target="<= 150 ms more", check=under(150),
                    note="CORRAL_TUI_EXIT_AFTER_LOAD: from first frame to the task table "
                    "filled and drawn (store read included)"))  # fmt: skip
    return rows
