"""`python -m bench [--quick | --smoke] [--only SECTION ...] [--out FILE]`

Measures Corral against the raw tools it replaces and writes the table to bench/RESULTS.md
(smoke runs write nowhere unless --out is given: they only prove the bench still runs)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType

from bench import (
    checkpoint_rows,
    create_rows,
    exec_rows,
    log_rows,
    mcp_rows,
    stats_rows,
    store_rows,
    tui_live_rows,
    tui_rows,
)
from bench.env import BASE_IMAGE, TINY_IMAGE, BenchEnv, image_present
from bench.harness import Row
from bench.plan import PLANS, Plan
from bench.report import document, table

RESULTS = Path(__file__).parent / "RESULTS.md"
Section = Callable[[BenchEnv, Plan, str], Awaitable[list[Row]]]
SECTIONS: dict[str, Section] = {
    "create": create_rows.run,
    "checkpoint": checkpoint_rows.run,
    "exec": exec_rows.run,
    "store": store_rows.run,
    "stats": stats_rows.run,
    "mcp": mcp_rows.run,
    "tui": tui_rows.run,
    "logs": log_rows.run,
    "tui-live": tui_live_rows.run,
}


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through BenchEnv: clean-up runs


async def main_async(plan: Plan, only: list[str], notes: list[str]) -> list[Row]:
    image = BASE_IMAGE if image_present(BASE_IMAGE) else TINY_IMAGE
    if image != BASE_IMAGE:
        notes.append(f"{BASE_IMAGE} is missing: sandboxes use {TINY_IMAGE}")
    rows: list[Row] = []
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        async with BenchEnv() as env:
            try:
                got = await section(env, plan, image)
            except Exception as exc:  # one broken section must not hide the others
                traceback.print_exc()
                got = [Row(name, f"{name} (section failed)", "-", unavailable=f"{exc}"[:200])]
        took = time.perf_counter() - started
        print(f"bench: {name} done in {took:.0f} s", file=sys.stderr, flush=True)
        notes.append(f"section {name}: {took:.0f} s")
        rows += got
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a run under five minutes")
    mode.add_argument("--smoke", action="store_true", help="tiny run: proves the bench runs")
    p.add_argument("--only", nargs="+", choices=list(SECTIONS), default=[], help="sections")
    p.add_argument("--out", type=Path, help="write the markdown here (default bench/RESULTS.md)")
    a = p.parse_args(argv)
    plan = PLANS["smoke" if a.smoke else "quick" if a.quick else "full"]
    signal.signal(signal.SIGTERM, _on_term)
    started = time.perf_counter()
    notes: list[str] = []
    rows = asyncio.run(main_async(plan, a.only, notes))
    took = time.perf_counter() - started
    print(table(rows))
    out = a.out or (None if a.smoke else RESULTS)
    if out:
        out.write_text(document(rows, plan.mode, took, notes))
        print(f"bench: wrote {out} ({took / 60:.1f} min)", file=sys.stderr)
    # Smoke runs (scripts/test) prove the bench runs; a section that broke still fails them.
    broken = [r for r in rows if r.unavailable and "section failed" in r.name]
    return 1 if broken and plan.mode == "smoke" else 0


if __name__ == "__main__":
    sys.exit(main())
