"""The markdown RESULTS.md: the machine, the table, the targets missed."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Row

HEADER = (
    "| section | operation | Corral p50 | Corral p95 | baseline | baseline p50 | baseline p95 "
    "| ratio | target | verdict |\n|---|---|---:|---:|---|---:|---:|---:|---|---|"
)


def _num(x: float, unit: str) -> str:
    if math.isnan(x):
        return "-"
    if unit == "ms":
        return f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"
    if unit == "%core":
        return f"{x:.2f} %"
    if unit == "ev/s":
        return f"{x:,.0f}/s"
    return f"{x:.1f} {unit}"


def row_line(r: Row) -> str:
    if r.unavailable:
        return (
            f"| {r.section} | {r.name} | - | - | {r.baseline} | - | - | - | {r.target or ''} "
            f"| not available: {r.unavailable} |"
        )
    ratio = r.ratio
    ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
    return (
        f"| {r.section} | {r.name} | {_num(r.p50, r.unit)} | {_num(r.p95, r.unit)} "
        f"| {r.baseline} | {_num(r.base_p50, r.unit)} | {_num(r.base_p95, r.unit)} "
        f"| {ratio_text} | {r.target} | {r.verdict()} |"
    )


def table(rows: list[Row]) -> str:
    return "\n".join([HEADER, *(row_line(r) for r in rows)])


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    docker = _run(
        ["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"]
    )
    driver = _run(["docker", "info", "--format", "{{.Driver}}, cgroup v{{.CgroupVersion}}"])
    commit = _run(["git", "-C", str(Path(__file__).parent.parent), "rev-parse", "--short", "HEAD"])
    return [
        f"- host: {platform.node()}, {platform.platform()}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem:.1f} GiB",
        f"- Docker engine {docker}, {driver}",
        f"- {_run(['git', '--version'])}; Python {platform.python_version()}; "
        f"SQLite {sqlite3.sqlite_version}",
        f"- Corral tree at commit {commit} (plus uncommitted work, if any)",
    ]


def document(rows: list[Row], mode: str, seconds: float, notes: list[str]) -> str:
    missed = [r for r in rows if r.verdict() == "MISSED"]
    absent = [r for r in rows if r.unavailable]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Corral benchmark results",
        "",
        f"`python -m bench{'' if mode == 'full' else ' --' + mode}` — {mode} run, {when}, "
        f"took {seconds / 60:.1f} min. How it measures: ../docs/performance.md.",
        "",
        "Machine:",
        "",
        *machine(),
        "",
        "Ratio = Corral p50 / baseline p50 (for a rate, > 1 means Corral is faster; for a time "
        "or CPU share, < 1 means Corral is cheaper). Corral and baseline iterations alternate "
        "in the same run unless a row's note says otherwise.",
        "",
        table(rows),
        "",
        "## Targets missed",
        "",
    ]
    if missed:
        out += [f"- **{r.section}: {r.name}** — target {r.target}; measured p50 "
                f"{_num(r.p50, r.unit)}, p95 {_num(r.p95, r.unit)}." for r in missed]  # fmt: skip
    else:
        out.append("- none")
    if absent:
        out += ["", "## Not measured", ""]
        out += [f"- {r.section}: {r.name} — {r.unavailable}" for r in absent]
    out += ["", "## Notes per row", ""]
    out += [f"- {r.section}: {r.name} — {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "## Run notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(out) + "\n"
