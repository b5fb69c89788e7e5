"""How the TUI starts: a first frame that needs neither pydantic nor Docker and already lists
tasks (a plain-sqlite3 preview), the rest of a big store in pages, a bad config reported in one
line with exit code 2 (TUI and CLI alike, neither left hanging), and the pieces under it:
env overrides and the inotify wait that replaced log polling."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from backend.config_sources import env_overrides
from backend.filewatch import DirWatch
from backend.store import Store
from backend.task_preview import preview
from bench.pty_run import run_in_pty, timings
from bench.store_rows import fake_rows, fill
from tests.conftest import corral, unique
from tests.test_tui_terminal import EXE, tmux, wait_screen
from tui.app import CorralApp


def test_first_frame_imports_no_backend() -> None:
    """What the first frame must not wait for: the heavy half of the backend loads after it."""
    code = (
        "import sys, tui.entry, tui.app; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'docker', 'git', 'aiosqlite') or m in "
        "('backend.models', 'backend.commands.registry', 'backend.service', 'backend.config'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"loaded before the first frame: {out.stdout}"


async def _store_with(home: Path, n: int) -> None:
    rows = [(*r[:3], "running" if r[3] in ("deleted", "cleaned") else r[3], *r[4:])
            for r in fake_rows(n)]  # fmt: skip
    store = await Store.open(home / "corral.db")
    await fill(store, rows)
    await store.close()


async def test_preview_reads_the_first_page_without_the_store(tmp_path: Path) -> None:
    assert preview(tmp_path / "missing.db", 10) == []
    await _store_with(tmp_path, 30)
    rows = preview(tmp_path / "corral.db", 10)
    assert [r.name for r in rows] == [f"task-{i:06d}" for i in range(10)]  # oldest first
    (tmp_path / "junk.db").write_text("not a database")
    assert preview(tmp_path / "junk.db", 10) == []


def test_first_frame_already_lists_tasks(tmp_path: Path, home: Path) -> None:
    asyncio.run(_store_with(home, 50))
    env = {**os.environ, "CORRAL_TUI_EXIT_AFTER_FIRST_FRAME": "1"}
    _, text, _ = run_in_pty([str(EXE)], env, tmp_path, done=b"_ms=", timeout=60)
    got = timings(text)
    assert "task-000000" in text  # on the first (and only) frame drawn
    assert got["tasks_usable_ms"] == got["first_frame_ms"]


async def test_a_big_store_arrives_in_pages_without_duplicates(home: Path) -> None:
    await _store_with(home, 1_450)  # 200 first, then pages of 1000
    app = CorralApp(home=home, raw={}, engine_probe=lambda: True, sample_stats=False)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 30
        while app.table.row_count < 1_450 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.table.row_count == 1_450
        assert len(set(app.table.order)) == 1_450
        assert app.table.order[0] == app.table.selected_id  # the cursor stayed on the first row
        await pilot.press("end")
        table = app.table
        assert table.selected_id == table.order[-1]
        await pilot.pause(0.1)
        shown = int(table.scroll_y) + table.scrollable_content_region.height - 1  # header row
        assert shown == table.row_count  # the last row is on screen, not under a scrollbar
        assert not table.show_horizontal_scrollbar  # rows fit the width: no row lost to one
        assert sorted(app.sources.tasks)[:2] == ["task-000000", "task-000001"]


def test_bad_config_cli_is_one_line_and_does_not_hang(home: Path) -> None:
    started = time.monotonic()
    got = corral("ls", env={"CORRAL_SANDBOX__CPUS": "lots"}, timeout=30)
    assert got.returncode == 2
    assert got.stderr.strip().count("\n") == 0
    assert got.stderr.startswith("corral: error: env CORRAL_SANDBOX__CPUS is invalid")
    assert time.monotonic() - started < 20


def test_bad_config_tui_exits_2_with_one_line(home: Path, tmp_path: Path) -> None:
    session = unique("corral-badcfg")
    env = f"CORRAL_HOME={shlex.quote(str(home))} CORRAL_SANDBOX__CPUS=lots TERM=xterm-256color"
    cmd = f"env {env} {shlex.quote(str(EXE))}; echo rc=$?; sleep 30"
    assert tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "-c",
                str(tmp_path), "sh", "-c", cmd).returncode == 0  # fmt: skip
    try:
        text = wait_screen(session, "rc=2")
        assert "corral: error: env CORRAL_SANDBOX__CPUS is invalid" in text
    finally:
        tmux("kill-session", "-t", session)


def test_env_overrides_nest_parse_json_and_ignore_plain_names() -> None:
    got = env_overrides(
        {
            "CORRAL_SANDBOX__MEMORY": "4g",
            "corral_tui__keys": '{"checkpoint": "C"}',
            "CORRAL_AGENTS__PRESETS__MINE": "my-agent --go",
            "CORRAL_HOME": "/elsewhere",
            "CORRAL_TUI__THEME": "{not json",
            "OTHER__THING": "x",
        }
    )
    assert got == {
        "sandbox": {"memory": "4g"},
        "tui": {"keys": {"checkpoint": "C"}, "theme": "{not json"},
        "agents": {"presets": {"mine": "my-agent --go"}},
    }


async def test_dirwatch_wakes_on_a_write_and_sleeps_otherwise(tmp_path: Path) -> None:
    watch = DirWatch(tmp_path)
    assert watch.native, "inotify is available on Linux"
    try:
        started = time.monotonic()
        assert await watch.changed(0.2) is False  # nothing written: the timeout
        assert time.monotonic() - started >= 0.19

        async def write_later() -> None:
            await asyncio.sleep(0.05)
            (tmp_path / "agent.log").write_text("hello\n")

        writer = asyncio.create_task(write_later())
        started = time.monotonic()
        assert await watch.changed(5.0) is True
        assert time.monotonic() - started < 1.0  # woken by the write, not the timeout
        await writer
    finally:
        watch.close()
    assert DirWatch(tmp_path / "missing").native is False  # falls back to polling
