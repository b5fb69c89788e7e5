"""How much each mode measures. `smoke` only proves the bench still runs (scripts/test);
`quick` is for a developer (< 5 minutes); `full` is what RESULTS.md should normally show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    mode: str
    create: int  # iterations of each side, in-process
    create_cli: int  # iterations of each side, whole processes
    # repo size -> (iterations, container unchanged; iterations, container changed + restore)
    checkpoint: tuple[tuple[int, int, int], ...]
    exec: int
    store_tasks: int
    store: int  # iterations per store query
    store_list_all: int  # iterations of listing every live task (slow by nature)
    ingest_batches: int
    ingest_batch: int
    stats_sandboxes: int
    stats_window: float  # seconds of one measuring window
    stats_windows: int
    mcp: int
    tui: int
    tui_tasks: int
    log_tasks: int
    log_seconds: float  # also the stream of the TUI key-to-frame row
    tui_idle_sandboxes: int  # running sandboxes while the TUI idles
    tui_idle_settle: float  # seconds from start to the CPU window
    tui_idle_window: float  # seconds of one CPU window
    tui_idle_windows: int  # windows of each side
    tui_keys: int  # keys typed a round (at most 32)
    tui_key_rounds: int


PLANS = {
    "smoke": Plan(
        mode="smoke", create=2, create_cli=2, checkpoint=((200, 2, 2),), exec=3,
        store_tasks=2_000, store=3, store_list_all=1, ingest_batches=3, ingest_batch=1000,
        stats_sandboxes=2, stats_window=1.0, stats_windows=1, mcp=5, tui=1, tui_tasks=200,
        log_tasks=1, log_seconds=2.0, tui_idle_sandboxes=2, tui_idle_settle=2.0,
        tui_idle_window=3.0, tui_idle_windows=1, tui_keys=10, tui_key_rounds=1,
    ),
    "quick": Plan(
        mode="quick", create=5, create_cli=4,
        checkpoint=((1_000, 5, 3), (10_000, 5, 3), (50_000, 3, 2)), exec=20,
        store_tasks=100_000, store=30, store_list_all=2, ingest_batches=20, ingest_batch=1000,
        stats_sandboxes=10, stats_window=5.0, stats_windows=2, mcp=50, tui=3, tui_tasks=10_000,
        log_tasks=1, log_seconds=5.0, tui_idle_sandboxes=10, tui_idle_settle=5.0,
        tui_idle_window=10.0, tui_idle_windows=2, tui_keys=20, tui_key_rounds=1,
    ),
    "full": Plan(
        mode="full", create=15, create_cli=10,
        checkpoint=((1_000, 15, 6), (10_000, 15, 6), (50_000, 8, 4)), exec=50,
        store_tasks=100_000, store=100, store_list_all=3, ingest_batches=50, ingest_batch=1000,
        stats_sandboxes=50, stats_window=10.0, stats_windows=3, mcp=200, tui=7,
        tui_tasks=10_000, log_tasks=20, log_seconds=10.0, tui_idle_sandboxes=20,
        tui_idle_settle=5.0, tui_idle_window=30.0, tui_idle_windows=3, tui_keys=30,
        tui_key_rounds=2,
    ),
}  # fmt: skip
