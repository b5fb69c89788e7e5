"""SVG snapshots of the main views at 80x24 and 120x40, from fixed demo data (no Docker).

Update after an intended change: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from backend.config import Settings
from tui.app import CorralApp
from tui.demo import demo_home, fixed_clock, seed
from tui.widgets.command_bar import CommandInput

# A fixed path: the status line shows the data dir, and snapshots must not depend on tmp names.
SNAP_ROOT = Path("/tmp/corral-tui-snapshots")
SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(SNAP_ROOT, ignore_errors=True)
    home = demo_home(SNAP_ROOT)
    monkeypatch.setenv("CORRAL_HOME", str(home))
    monkeypatch.setenv("CORRAL_CONFIG_DIR", str(SNAP_ROOT / "config"))
    asyncio.run(seed(home))
    yield home
    shutil.rmtree(SNAP_ROOT, ignore_errors=True)


def demo_app(home: Path) -> CorralApp:
    return CorralApp(home=home, repo=str(SNAP_ROOT), settings=Settings(), clock=fixed_clock,
                     engine_probe=lambda: True, sample_stats=False)  # fmt: skip


async def settle(pilot: Pilot[int]) -> None:
    """Wait for the store to open, the list to load and the selection's tab to fill."""
    for _ in range(50):
        await pilot.pause(0.05)
        app = pilot.app
        assert isinstance(app, CorralApp)
        if app.table.row_count and app.selected_id:
            break
    await pilot.pause(0.5)
    await pilot.wait_for_scheduled_animations()


def views() -> list[tuple[str, list[str]]]:
    return [
        ("logs", ["down", "down"]),
        ("resources", ["down", "down", "3"]),
        ("history", ["down", "down", "4"]),
        ("command_bar", ["slash", *"create-task x --ag"]),
    ]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", views(), ids=lambda v: v[0])
def test_main_views(snap_compare, demo: Path, view: tuple[str, list[str]],
                    size: tuple[int, int]) -> None:  # fmt: skip
    _name, keys = view

    async def before(pilot: Pilot[int]) -> None:
        await settle(pilot)
        pilot.app.query_one(CommandInput).cursor_blink = False  # a blink would make it flaky
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.4)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(demo_app(demo), terminal_size=size, run_before=before)


SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


async def test_screenshots_for_the_readme(demo: Path) -> None:
    """Regenerates screenshots/*.svg (shown in the README) from the same demo data."""
    SCREENSHOTS.mkdir(exist_ok=True)
    app = demo_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        for name, keys in [("tui-logs", []), ("tui-resources", ["3"]), ("tui-history", ["4"]),
                           ("tui-command-bar", ["1", "slash", *"restore-checkpoint fix-login "])]:  # fmt: skip
            await pilot.press(*keys)
            await pilot.pause(0.4)
            path = SCREENSHOTS / f"{name}.svg"
            app.save_screenshot(path.name, str(SCREENSHOTS))
            assert "fix-login" in path.read_text()
