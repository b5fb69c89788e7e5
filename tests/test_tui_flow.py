"""Whole flows through the TUI against the real engine, git and store (Pilot, headless):
create from the command bar -> the task appears -> output of `corral exec` run by another
process shows in Logs -> checkpoint -> restore with confirmation -> stop from the CLI shows
within a second -> delete with confirmation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from backend.commands.registry import lookup
from backend.config import Settings
from tests.conftest import corral
from tui.app import CorralApp
from tui.screens.confirm import ConfirmScreen
from tui.widgets.checkpoints import CheckpointPane
from tui.widgets.log_pane import LogPane


async def wait_for(pilot: Pilot[int], cond: Callable[[], object], what: str,
                   timeout: float = 60) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        await pilot.pause(0.1)
    notes = [n.message for n in pilot.app._notifications]
    raise AssertionError(f"timed out waiting for {what}; notifications: {notes}")


async def type_line(pilot: Pilot[int], line: str) -> None:
    await pilot.press("slash")
    await pilot.press(*line)
    await pilot.press("enter")


def state_of(app: CorralApp, name: str) -> str | None:
    task = app.table.tasks_by_name().get(name)
    return task.state.value if task else None


async def test_create_exec_checkpoint_restore_delete(
    home: Path, repo: Path, tiny_image: str
) -> None:
    app = CorralApp(home=home, repo=str(repo), settings=Settings())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store to open", 10)
        await type_line(pilot, f"create-task flow --image {tiny_image}")
        await wait_for(pilot, lambda: state_of(app, "flow") == "running", "task flow running")
        await wait_for(pilot, lambda: app.selected_task() is not None, "selection")
        assert app.selected_task().name == "flow"  # type: ignore[union-attr]

        # Output of a command run by another process shows up in the Logs tab.
        done = await asyncio.to_thread(corral, "exec", "flow", "--", "echo", "hello-from-cli",
                                       cwd=repo)  # fmt: skip
        assert done.returncode == 0, done.stderr
        pane = app.query_one(LogPane)
        await wait_for(pilot, lambda: any("hello-from-cli" in ln.text for ln in pane.buffer),
                       "the exec output in Logs", 10)  # fmt: skip

        ckpt = app.query_one(CheckpointPane)
        if lookup("checkpoint") and lookup("checkpoints") and lookup("restore-checkpoint"):
            await pilot.press("c")
            await wait_for(pilot, lambda: app.table.checkpoints.get(app.selected_id or "", 0) >= 1,
                           "a checkpoint counted in the table", 60)  # fmt: skip
            await pilot.press("2")
            await wait_for(pilot, lambda: ckpt.highlighted is not None, "the checkpoint list")
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
            await pilot.press("y")
            await wait_for(pilot, lambda: any(e.kind.startswith("checkpoint.restore") or
                                              e.kind == "task.restored" for e in _events(app)),
                           "the restore event", 60)  # fmt: skip
        else:
            await pilot.press("2")
            await wait_for(pilot, lambda: "not available" in ckpt.note_text,
                           "the 'not available' note", 5)  # fmt: skip

        # A change made by another process shows within about a second.
        stopped = await asyncio.to_thread(corral, "stop-task", "flow", cwd=repo)
        assert stopped.returncode == 0, stopped.stderr
        t0 = time.monotonic()
        await wait_for(pilot, lambda: state_of(app, "flow") == "stopped", "stopped from CLI", 5)
        assert time.monotonic() - t0 < 1.5

        await pilot.press("1")
        app.table.focus()
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "delete confirmation")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert state_of(app, "flow") == "stopped"  # "no" changed nothing
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "delete confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: state_of(app, "flow") is None, "the row to go", 60)


_seen: list = []


def _events(app: CorralApp) -> list:
    """Events of the selected task, read through the store the app itself uses."""

    async def read() -> None:
        assert app.service is not None
        _seen[:] = await app.service.store.task_events(app.selected_id or "", limit=50)

    app.run_worker(read(), group="test-events")
    return _seen


async def test_bad_command_is_a_notification_not_a_crash(home: Path, repo: Path) -> None:
    app = CorralApp(home=home, repo=str(repo), settings=Settings(), engine_probe=lambda: True)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store to open", 10)
        await type_line(pilot, "/creat-task")
        await pilot.pause(0.2)
        texts = [n.message for n in app._notifications]
        assert any("did you mean create-task" in t for t in texts), texts
        await type_line(pilot, "task-status nosuch")
        await wait_for(pilot, lambda: any("no task named 'nosuch'" in n.message
                                          for n in app._notifications), "not-found notice", 5)  # fmt: skip
        assert app.is_running
