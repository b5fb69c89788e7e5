"""Corral's full-screen app: the task table, tabs for the selected task, the command bar.

The app talks only to `TaskService` and the command registry. Sync work (Docker, files) runs
in workers; results come back as messages; worker failures become notifications (one handler).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Footer, RichLog, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from backend import paths
from backend.errors import CorralError
from tui import timing
from tui.calls import OutputSink, available, build_line, confirm_text
from tui.completion import Sources
from tui.live import ENGINE_DOWN_RECHECK, ENGINE_OK_RECHECK, EVENT_POLL, FIRST_PAGE, Live
from tui.messages import (
    CommandDone,
    EngineChecked,
    LogBatch,
    SamplesArrived,
    TasksAppended,
    TasksLoaded,
)
from tui.palette import RegistryCommands
from tui.screens.confirm import ConfirmScreen
from tui.selection import Selection
from tui.widgets.checkpoints import CheckpointPane
from tui.widgets.command_bar import CommandBar, CommandInput
from tui.widgets.history import HistoryPane
from tui.widgets.log_pane import LogPane
from tui.widgets.resources import ResourcePane
from tui.widgets.task_table import TaskTable

# Before the first frame only Textual, the config and the widgets load. The command registry,
# the models, the store and the Docker SDK load right after it, in a thread (see _open);
# tests/test_tui_startup.py keeps it that way.
if TYPE_CHECKING:
    from backend.commands.registry import Command
    from backend.config import Settings
    from backend.models import Task
    from backend.service import TaskService
    from backend.store import Store

# Commands whose effect shows in the table: a notification is enough. Others print to Output.
ACTIONS = {
    "create-task", "stop-task", "resume-task", "delete-task", "complete-task", "cleanup-task",
    "attach-agent", "detach", "checkpoint", "restore-checkpoint", "record-decision",
}  # fmt: skip
LIGHT, DARK = "textual-light", "textual-dark"


def _b(key: str, action: str, label: str, id: str, tooltip: str, show: bool = True) -> Binding:
    return Binding(key, action, label, id=id, tooltip=tooltip, show=show)


class CorralApp(Selection, Live, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Corral"
    COMMANDS = App.COMMANDS | {RegistryCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        _b("slash", "focus_bar", "Command", "command_bar", "Type a command (/help lists them)"),
        _b("c", "checkpoint", "Checkpoint", "checkpoint", "Checkpoint the selected task"),
        _b("r", "restore", "Restore", "restore", "Restore the highlighted checkpoint"),
        _b("s", "stop", "Stop", "stop", "Stop the selected task's sandbox"),
        _b("u", "resume", "Resume", "resume", "Resume the selected task", show=False),
        _b("a", "attach", "Attach", "attach", "Take over the agent's terminal (ctrl-b d returns)"),
        _b("x,delete", "delete", "Delete", "delete", "Delete the selected task (asks first)"),
        _b("f", "filter_logs", "Filter", "filter", "Filter the log (k9s-style)"),
        _b("t", "timestamps", "Times", "timestamps", "Show or hide log timestamps"),
        _b("1", "tab('logs')", "Logs", "tab.logs", "Logs tab", show=False),
        _b("2", "tab('checkpoints')", "Checkpoints", "tab.checkpoints", "Checkpoints tab", False),
        _b("3", "tab('resources')", "Resources", "tab.resources", "Resources tab", show=False),
        _b("4", "tab('history')", "History", "tab.history", "History tab", show=False),
        _b("5", "tab('output')", "Output", "tab.output", "Command output tab", show=False),
        _b("ctrl+t", "toggle_theme", "Theme", "theme", "Switch light/dark theme", show=False),
        _b("q", "quit", "Quit", "quit", "Leave Corral (agents keep running)"),
    ]

    def __init__(
        self,
        *,
        home: Path | None = None,
        repo: str | None = None,
        settings: Settings | None = None,
        raw: dict[str, Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        engine_probe: Callable[[], bool] | None = None,
        sample_stats: bool = True,
    ) -> None:
        # Without `settings`, the app starts from `raw` (the config as read, unvalidated: no
        # pydantic before the first frame) and validates it in a thread after that frame.
        self.settings = settings
        self._raw = raw or {}
        early = self._raw.get("tui")
        tui = (
            settings.tui.model_dump()
            if settings
            else dict(early if isinstance(early, dict) else {})
        )
        super().__init__()
        self.home = home or paths.data_dir()
        self.cwd = Path(repo).expanduser().resolve() if repo else Path.cwd()
        self.clock = clock
        self.engine_probe = engine_probe
        self.stats_enabled = sample_stats
        self.service: TaskService | None = None
        self._store: Store | None = None  # open before the service exists (see _open)
        self.last_event_id = 0
        self.engine_ok: bool | None = None
        self.selected_id: str | None = None
        self.sources = Sources(
            presets=sorted(settings.agents.presets) if settings else [],
            checkpoints=self.checkpoint_numbers,
        )
        self.checkpoint_cache: dict[str, list[str]] = {}
        self.running: dict[str, OutputSink] = {}
        self.timings: dict[str, float] = {}
        self.log_lines_read: dict[str, int] = {}  # by task id, for CORRAL_TUI_REPORT
        self.log_pane_stats: dict[str, Any] = {}
        self._polling = False
        self._select_timer: Timer | None = None
        self._theme_name = str(tui.get("theme") or DARK)
        keys = tui.get("keys")
        if isinstance(keys, dict):
            self.set_keymap({k: v for k, v in keys.items() if isinstance(v, str)})

    def run_worker(
        self,
        work: Any,
        name: str | None = "",
        group: str = "default",
        description: str = "",
        exit_on_error: bool = True,
        start: bool = True,
        exclusive: bool = False,
        thread: bool = False,
    ) -> Worker[Any]:
        """Every worker of the app reports failure as a notification (see
        on_worker_state_changed) instead of exiting the app."""
        return super().run_worker(work, name, group, description, False, start, exclusive, thread)

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            yield TaskTable(id="tasks")
            with TabbedContent(initial="logs", id="tabs"):
                with TabPane("Logs", id="logs"):
                    yield LogPane(id="log-pane")
                with TabPane("Checkpoints", id="checkpoints"):
                    yield CheckpointPane(id="ckpt-pane")
                with TabPane("Resources", id="resources"):
                    yield ResourcePane(id="res-pane")
                with TabPane("History", id="history"):
                    yield HistoryPane(id="history-pane")
                with TabPane("Output", id="output"):
                    yield RichLog(id="output-log", max_lines=5000, wrap=True, markup=False)
        yield CommandBar(self.sources, id="bar")
        yield Static("", id="status")
        yield Footer()

    @property
    def table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def output(self) -> RichLog:
        return self.query_one("#output-log", RichLog)

    def on_mount(self) -> None:
        theme = self._theme_name
        self.theme = theme if theme in self.available_themes else DARK
        if theme not in self.available_themes:
            self.notify(f"unknown theme {theme!r} in config; using {DARK}", severity="warning")
        self._log_pane, self._table = self.query_one(LogPane), self.table
        # The first frame already lists tasks: a first page read with plain sqlite3 (no models,
        # no store), replaced by the store's own page as soon as it is open.
        from backend.task_preview import preview

        rows = preview(paths.db_path(self.home), FIRST_PAGE)
        if rows:
            self.table.set_tasks(cast("list[Task]", rows), self.clock())
        self.table.focus()
        self.update_status()
        self.set_interval(EVENT_POLL, self.poll_events)
        self.set_interval(60, self._tick_ages)

    async def on_unmount(self) -> None:
        pane = self._log_pane  # the widgets are already unmounted: no query here
        task = self._table.tasks.get(pane.task_id or "")
        self.log_pane_stats = {
            "selected": task.name if task else None,
            "log_lines_read": self.log_lines_read.get(pane.task_id or "", 0),
            "log_lines_shown": pane.shown_total,
        }
        # aiosqlite's connection thread is not a daemon: an open store keeps the process alive.
        await self._close_store()

    async def _close_store(self) -> None:
        if self.service is not None:
            await self.service.close()
        elif self._store is not None:  # opened, but the service never came up
            await self._store.close()
        self.service, self._store = None, None

    def on_ready(self) -> None:
        # Textual posts Ready right after it wrote the first complete screen to the terminal.
        # Only then do the store, the config's validation and the Docker SDK load, in threads
        # (started earlier, they slowed the first frame down by competing for the GIL).
        self.run_worker(self._open, group="open", name="open the store")
        mode = timing.exit_after()
        if mode is not None:
            self._report_first_frame(mode == "first-frame")

    def _report_first_frame(self, leave: bool) -> None:
        self.timings["first_frame_ms"] = timing.since_start_ms()
        if self.table.row_count:  # the preview: the list takes keys from the first frame on
            self.timings["tasks_usable_ms"] = self.timings["first_frame_ms"]
        age = timing.process_age_ms()
        if age is not None:
            self.timings["first_frame_since_process_ms"] = age
        if leave:
            self.exit(0)

    async def _open(self) -> None:
        # The store first (aiosqlite and the models, in a thread): the task list shows before
        # the config is validated and before the Docker SDK and git have loaded.
        await asyncio.to_thread(importlib.import_module, "backend.store")
        from backend.store import Store

        self.timings["store_imported_ms"] = timing.since_start_ms()
        self.home.mkdir(parents=True, exist_ok=True)
        store = await Store.open(paths.db_path(self.home))
        self._store = store
        self.timings["store_open_ms"] = timing.since_start_ms()
        await self.load_tasks(store)
        if self.settings is None:
            try:
                self.settings = await asyncio.to_thread(_validated_settings, self._raw)
            except CorralError as exc:
                self.exit(exc.exit_code, message=f"corral: error: {exc}")
                return
            self.sources.presets = sorted(self.settings.agents.presets)
            self.set_keymap(dict(self.settings.tui.keys))
        # One thread imports the rest of the backend; the engine check waits for it: two
        # threads importing the docker package at once saw it half-initialised.
        await asyncio.to_thread(importlib.import_module, "backend.service")
        from backend.service import TaskService

        self.service = TaskService(store, self.settings, self.home)
        self.timings["backend_ms"] = timing.since_start_ms()
        # Everything loaded so far lives as long as the app: out of the cyclic collector's
        # sight, a full collection (a pause while a log streams) has a fraction to scan.
        gc.freeze()
        self.check_engine()
        self.select_highlighted(force=True)  # follows the log now that the service exists
        if self.engine_probe is None:  # an injected probe means a demo detached from Docker
            from backend.reconcile import start_at_startup

            # Startup reconcile (report only) in the background; what it marks (vanished
            # sandboxes) reaches the table through the event log like any other change.
            start_at_startup(self.service)

    def _tick_ages(self) -> None:
        self.table.refresh_ages(self.clock())

    # -- messages from workers ------------------------------------------------------------------

    def on_tasks_loaded(self, msg: TasksLoaded) -> None:
        self.timings["first_page_ms"] = timing.since_start_ms()
        table = self.table
        table.checkpoints = msg.checkpoints
        table.samples = {}
        table.set_tasks(msg.tasks, self.clock())
        self.last_event_id = max(self.last_event_id, msg.last_event)
        self.update_status()
        self.select_highlighted(force=True)
        if timing.exit_after() == "load":
            self.call_after_refresh(self._report_usable)
        if msg.complete:
            self._tasks_complete()

    def on_tasks_appended(self, msg: TasksAppended) -> None:
        self.table.extend(msg.tasks, self.clock())
        self.update_status()
        if msg.complete:
            self._tasks_complete()

    def _tasks_complete(self) -> None:
        self.sources.tasks = sorted(self.table.tasks_by_name())
        if timing.exit_after() == "load":
            self.call_after_refresh(self._report_all_rows)

    def _report_usable(self) -> None:
        # The first page is on screen and the list takes keys (bench/: "usable").
        self.timings.setdefault("tasks_usable_ms", timing.since_start_ms())

    def _report_all_rows(self) -> None:
        self.timings["tasks_loaded_ms"] = timing.since_start_ms()  # every row is in the table
        self.timings["tasks"] = float(self.table.row_count)
        self.exit(0)

    def on_engine_checked(self, msg: EngineChecked) -> None:
        was = self.engine_ok
        self.engine_ok = msg.reachable
        if was is not False and not msg.reachable:
            self.notify(
                "Docker engine not reachable; tasks are listed from the store, retrying",
                severity="warning",
                title="engine",
            )
        elif was is False and msg.reachable:
            self.notify("Docker engine reachable again", title="engine")
        self.update_status()
        self.set_timer(ENGINE_OK_RECHECK if msg.reachable else ENGINE_DOWN_RECHECK,
                       self.check_engine)  # fmt: skip

    def on_log_batch(self, msg: LogBatch) -> None:
        pane = self.query_one(LogPane)
        if msg.task_id != pane.task_id:
            return
        if msg.first:
            pane.reset(msg.task_id, "" if msg.lines else "(no log lines yet)")
        pane.add_lines(msg.lines)

    def on_samples_arrived(self, msg: SamplesArrived) -> None:
        if msg.samples:
            self.table.samples[msg.task_id] = msg.samples[-1]
            self.table.refresh_task(msg.task_id, self.clock())
        if msg.task_id == self.selected_id:
            self.query_one(ResourcePane).add(msg.samples)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures surface: a notification, never a crash."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        what = event.worker.name or event.worker.group
        if isinstance(err, CorralError):
            self.notify(str(err), severity="error", title=what, timeout=8)
        else:
            self.notify(f"{type(err).__name__}: {err}", severity="error", title=f"{what} failed",
                        timeout=10)  # fmt: skip
        self.update_status()

    # -- status line ----------------------------------------------------------------------

    def update_status(self) -> None:
        if self.engine_ok is None:
            engine = Text("◌ engine: checking", style="dim")
        elif self.engine_ok:
            engine = Text("● engine ok", style="green")
        else:
            engine = Text("✗ engine unreachable (retrying)", style="bold red")
        table = self.table
        parts = Text.assemble(
            engine,
            f"  {table.running_count()} running / {table.row_count} tasks  ",
            (f"data {self.home}", "dim"),
        )
        for line, sink in self.running.items():
            parts.append(f"  ⟳ {sink.progress or line}", style="yellow")
        self.query_one("#status", Static).update(parts)

    # -- command bar ------------------------------------------------------------------------

    def action_focus_bar(self) -> None:
        self.query_one(CommandInput).focus()

    def prefill_command(self, name: str) -> None:
        task = self.selected_task()
        line = build_line(name, task.name) if task else name
        bar = self.query_one(CommandInput)
        bar.value = "/" + line + " "
        bar.cursor_position = len(bar.value)
        bar.focus()

    @on(CommandInput.Leave)
    def _leave_bar(self) -> None:
        self.table.focus()

    @on(CommandBar.Submitted)
    def _bar_submitted(self, msg: CommandBar.Submitted) -> None:
        self.table.focus()  # keys act on the task list again, like k9s after a command
        self.submit_line(msg.line)

    def submit_line(self, line: str) -> None:
        body = line.strip().lstrip("/").strip()
        if body in ("quit", "q", "exit"):
            self.exit(0)
            return
        from backend.commands.parsing import parse_line

        try:
            cmd, args = parse_line(body)
        except CorralError as exc:
            self.notify(str(exc), severity="error", title="command", timeout=8)
            return
        question = confirm_text(cmd, args)
        if question is None:
            self._start(cmd, args, body)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(cmd, args, body)
            else:
                self.notify(f"{cmd.name} cancelled; nothing changed")

        self.push_screen(ConfirmScreen(question), answered)

    def _start(self, cmd: Command, args: Any, line: str) -> None:
        if self.service is None:
            self.notify("the store is still opening; try again in a moment", severity="warning")
            return
        self.run_worker(self._execute(cmd, args, line), group="command", name=line)

    async def _execute(self, cmd: Command, args: Any, line: str) -> None:
        assert self.service is not None
        sink = OutputSink()
        key = line
        while key in self.running:
            key += " "
        self.running[key] = sink
        self.output.write(Text(f"$ {line}", style="bold"))
        self.update_status()
        timer = self.set_interval(0.1, lambda: self._drain(sink))
        try:
            result = await cmd.handler(sink.context(self.service, self.cwd), args)
        finally:
            timer.stop()
            self._drain(sink, final=True)
            self.running.pop(key, None)
            self.update_status()
        self.post_message(CommandDone(line, cmd.name, result))

    def _drain(self, sink: OutputSink, final: bool = False) -> None:
        lines = sink.drain(final)
        if lines:
            self.output.write("\n".join(lines))
        if sink.progress:
            self.update_status()

    def on_command_done(self, msg: CommandDone) -> None:
        from backend.commands.registry import lookup
        from backend.models import Task

        cmd = lookup(msg.name)
        if cmd is not None and msg.result is not None:
            from rich.pretty import Pretty  # only for output without a renderer: imported late

            body = cmd.render(msg.result) if cmd.render else Pretty(msg.result)
            self.output.write(body)
        if msg.name not in ACTIONS:
            self.action_tab("output")
            return
        self.notify(f"{msg.line}: done", title=msg.name)
        if isinstance(msg.result, Task):
            self.table.upsert(msg.result, self.clock())
            self.sources.tasks = sorted(self.table.tasks_by_name())
            if msg.name == "create-task":
                self.table.select(msg.result.id)
        self.run_worker(self.poll_events(), group="poll")
        self.checkpoint_cache.clear()
        self.refresh_tab()

    # -- actions on the selected task ----------------------------------------------------------

    def _task_line(self, name: str, *numbers: str) -> str | None:
        task = self.selected_task()
        if task is None:
            self.notify("no task selected; create one with /create-task NAME", severity="warning")
            return None
        if not available(name):
            self.notify(f"{name} is not available in this Corral", severity="warning")
            return None
        return build_line(name, task.name, *numbers)

    def action_checkpoint(self) -> None:
        if line := self._task_line("checkpoint"):
            self.submit_line(line)

    def action_restore(self) -> None:
        pane = self.query_one(CheckpointPane)
        tabs = self.query_one(TabbedContent)
        if tabs.active != "checkpoints" or pane.highlighted is None:
            self.action_tab("checkpoints")
            self.notify("highlight a checkpoint here, then press r to restore it")
            return
        if line := self._task_line("restore-checkpoint", pane.highlighted):
            self.submit_line(line)

    def action_stop(self) -> None:
        if line := self._task_line("stop-task"):
            self.submit_line(line)

    def action_resume(self) -> None:
        if line := self._task_line("resume-task"):
            self.submit_line(line)

    def action_delete(self) -> None:
        if line := self._task_line("delete-task"):
            self.submit_line(line)

    def action_attach(self) -> None:
        task = self.selected_task()
        if task is None:
            self.notify("no task selected", severity="warning")
            return
        self.run_worker(self._prepare_takeover(task), group="attach", exclusive=True,
                        name="attach")  # fmt: skip

    async def _prepare_takeover(self, task: Task) -> None:
        from backend import agents

        assert self.service is not None
        cid, user = task.container_id, task.spec.user
        if task.state != "running" or not cid:
            self.notify(f"{task.name} is {task.state.value}; resume-task it first",
                        severity="warning")  # fmt: skip
            return
        if not await asyncio.to_thread(agents.has_tmux, cid, user):
            self.notify(
                f"image {task.image} has no tmux, so the agent's terminal cannot be taken over; "
                "follow it in Logs, or run commands with /exec",
                severity="warning",
                timeout=10,
            )
            return
        box = self.service.box(task)
        if not await asyncio.to_thread(agents.is_running, box, cid, user):
            self.notify(f"no agent runs in {task.name}; start one: /attach-agent {task.name} shell",
                        severity="warning")  # fmt: skip
            return
        self.call_later(self._takeover, agents.takeover_argv(cid))

    def _takeover(self, argv: list[str]) -> None:
        try:
            with self.suspend():
                print("Corral: you have the agent's terminal; ctrl-b d hands it back.", flush=True)
                subprocess.run(argv, check=False)
        except SuspendNotSupported:
            self.notify("this terminal cannot suspend the app; run: " + " ".join(argv),
                        severity="warning", timeout=15)  # fmt: skip
        self.refresh()

    def action_filter_logs(self) -> None:
        self.action_tab("logs")
        self.query_one(LogPane).open_filter()

    def action_timestamps(self) -> None:
        shown = self.query_one(LogPane).toggle_timestamps()
        self.notify(f"timestamps {'on' if shown else 'off'}", timeout=2)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.current_theme.dark else DARK

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, _event: TabbedContent.TabActivated) -> None:
        self.refresh_tab()

    @on(TaskTable.Highlighted)
    def _row_highlighted(self, _event: TaskTable.Highlighted) -> None:
        if self._select_timer is not None:
            self._select_timer.stop()
        self._select_timer = self.set_timer(0.12, self.select_highlighted)

    @on(CheckpointPane.Wanted)
    def _checkpoint_wanted(self, msg: CheckpointPane.Wanted) -> None:
        if line := self._task_line(msg.action, *msg.numbers):
            self.show_diff(line)


def known_binding_ids() -> set[str]:
    from tui.screens.confirm import ConfirmScreen as _C
    from tui.widgets.log_pane import LogPane as _L
    from tui.widgets.log_pane import LogView as _V

    found: set[str] = set()
    for cls in (CorralApp, CheckpointPane, CommandInput, _C, _L, _V):
        for b in cls.BINDINGS:
            if isinstance(b, Binding) and b.id:
                found.add(b.id)
    return found


def _validated_settings(raw: dict[str, Any]) -> Settings:
    from backend.config import load_settings  # pydantic: off the first frame's path

    return load_settings(raw)


def run_app(repo: str | None = None) -> int:
    import tomllib

    from backend.config_sources import raw_settings

    try:
        raw = raw_settings()
    except (tomllib.TOMLDecodeError, OSError) as exc:
        print(
            f"corral: error: config {paths.config_file()} is unreadable ({exc}); fix or remove it"
        )
        return 2
    early = raw.get("tui") if isinstance(raw.get("tui"), dict) else {}
    keys = early.get("keys") if isinstance(early.get("keys"), dict) else {}
    unknown = set(keys) - known_binding_ids()
    if unknown:
        print(
            f"corral: warning: [tui.keys] names unknown binding ids: {', '.join(sorted(unknown))}"
        )
    app = CorralApp(repo=repo, raw=raw)
    code = int(app.run() or 0)
    if app.timings:
        print(" ".join(f"{k}={v:.1f}" for k, v in app.timings.items()))
    if path := timing.report_path():
        _write_report(app, path)
    _finish(app, code)
    return code


def _write_report(app: CorralApp, path: str) -> None:
    import json

    pane = app.log_pane_stats
    Path(path).write_text(json.dumps({"timings": app.timings, **pane}))


def _finish(app: CorralApp, code: int) -> None:
    """Close what the app left open. A quit that lands while the store is still opening can
    leave aiosqlite's (non-daemon) thread behind, which would keep the process alive; every
    write was already committed, so after a short grace the process simply ends."""
    import threading

    if app.service is not None or app._store is not None:
        with contextlib.suppress(Exception):
            asyncio.run(asyncio.wait_for(app._close_store(), 2))
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for t in others:
        t.join(timeout=1)
    if any(t.is_alive() for t in others):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    raise SystemExit(run_app(os.environ.get("CORRAL_REPO")))
