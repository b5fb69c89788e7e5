"""Hooks for the benchmark: CORRAL_TUI_EXIT_AFTER_FIRST_FRAME=1 prints the time to the first
frame and exits; CORRAL_TUI_EXIT_AFTER_LOAD=1 waits for the task list too; CORRAL_TUI_REPORT=FILE
writes, on exit, how many log lines the log pane received (to prove none was lost)."""

from __future__ import annotations

import os
import time

STARTED = time.perf_counter()


def process_age_ms() -> float | None:
    """Milliseconds since this process started (Linux), so interpreter start-up counts too."""
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return (uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError):
        return None


def since_start_ms() -> float:
    return (time.perf_counter() - STARTED) * 1000


def report_path() -> str | None:
    """CORRAL_TUI_REPORT=FILE: on exit the app writes what it saw there as JSON (for bench/)."""
    return os.environ.get("CORRAL_TUI_REPORT") or None


def exit_after() -> str | None:
    if os.environ.get("CORRAL_TUI_EXIT_AFTER_FIRST_FRAME") == "1":
        return "first-frame"
    if os.environ.get("CORRAL_TUI_EXIT_AFTER_LOAD") == "1":
        return "load"
    return None
