"""What follows the selected task: its log tail, samples, history and checkpoints. Only the
visible tab is loaded, and only the selected running task is sampled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import TabbedContent

from tui.calls import available, build_line, call
from tui.widgets.checkpoints import CheckpointPane, number_of
from tui.widgets.history import HistoryPane
from tui.widgets.log_pane import LogPane
from tui.widgets.resources import ResourcePane

if TYPE_CHECKING:
    from backend.models import Task
    from tui.app import CorralApp

NO_CHECKPOINTS = "checkpoints not available (this Corral has no checkpoint commands)"


class Selection:
    def selected_task(self: CorralApp) -> Task | None:  # type: ignore[misc]
        return self.table.tasks.get(self.selected_id or "")

    def select_highlighted(self: CorralApp, force: bool = False) -> None:  # type: ignore[misc]
        tid = self.table.selected_id
        if tid == self.selected_id and not force:
            return
        if tid == self.selected_id and tid is not None:
            return  # same task still highlighted: keep the streams running
        task = self.table.tasks.get(tid or "")
        logs = self.query_one(LogPane)
        if task is not None and self.service is None:
            # The list is up before the backend: not recorded as selected, so selecting again
            # once the service exists starts the log and the samples.
            logs.reset(None, f"loading the log of {task.name}…")
            return
        self.selected_id = tid
        if task is None or self.service is None:
            logs.reset(None, "no task selected — create one with /create-task NAME")
            self.workers.cancel_group(self, "logs")
            self.workers.cancel_group(self, "stats")
            self.query_one(ResourcePane).show_task(None)
            return
        logs.reset(task.id, f"loading the log of {task.name}…")
        self.follow_logs(task)
        self.query_one(CheckpointPane).clear()
        self.run_worker(self._load_samples(task), group="samples", exclusive=True)
        self.refresh_tab()

    async def _load_samples(self: CorralApp, task: Task) -> None:  # type: ignore[misc]
        assert self.service is not None
        history = await self.service.store.list_samples(task.id, limit=300)
        if task.id != self.selected_id:
            return
        if history and task.state == "running":  # the latest known sample, until a live one
            self.table.samples.setdefault(task.id, history[-1])
            self.table.refresh_task(task.id, self.clock())
        self.query_one(ResourcePane).show_task(task, history)
        if task.state == "running" and self.stats_enabled and self.engine_ok is not False:
            self.sample_stats(task)
        else:
            self.workers.cancel_group(self, "stats")

    def selected_changed(self: CorralApp, task: Task, before: Task | None, kinds: set[str]) -> None:  # type: ignore[misc]
        """Another process (or we) changed the selected task."""
        if before is None or before.state != task.state:
            self.run_worker(self._load_samples(task), group="samples", exclusive=True)
        if any(k.startswith("checkpoint") or k.startswith("task.restored") for k in kinds):
            self.checkpoint_cache.pop(task.name, None)
        self.refresh_tab()

    def refresh_tab(self: CorralApp) -> None:  # type: ignore[misc]
        task = self.selected_task()
        active = self.query_one(TabbedContent).active
        if task is None or self.service is None:
            return
        if active == "history":
            self.run_worker(self._load_history(task), group="history", exclusive=True)
        elif active == "checkpoints":
            self.run_worker(self._load_checkpoints(task), group="checkpoints", exclusive=True)

    async def _load_history(self: CorralApp, task: Task) -> None:  # type: ignore[misc]
        svc = self.service
        assert svc is not None
        events = await svc.history(task.id)
        executions = await svc.executions(task.id)
        decisions = await svc.decisions(task.id)
        if task.id == self.selected_id:
            self.query_one(HistoryPane).show(events, executions, decisions)

    async def _load_checkpoints(self: CorralApp, task: Task) -> None:  # type: ignore[misc]
        pane = self.query_one(CheckpointPane)
        if not available("checkpoints"):
            pane.note(NO_CHECKPOINTS)
            return
        assert self.service is not None
        items = await call(self.service, build_line("checkpoints", task.name), self.cwd)
        items = list(items or [])
        self.checkpoint_cache[task.name] = [number_of(i) for i in items]
        if task.id == self.selected_id:
            pane.show(items)

    def checkpoint_numbers(self: CorralApp, task_name: str) -> list[str]:  # type: ignore[misc]
        """For completion: cached numbers; a miss starts a fetch for the next tab press."""
        if task_name not in self.checkpoint_cache and available("checkpoints") and self.service:
            self.checkpoint_cache[task_name] = []
            self.run_worker(self._fetch_numbers(task_name), group="complete")
        return self.checkpoint_cache.get(task_name, [])

    async def _fetch_numbers(self: CorralApp, task_name: str) -> None:  # type: ignore[misc]
        assert self.service is not None
        items = await call(self.service, build_line("checkpoints", task_name), self.cwd)
        self.checkpoint_cache[task_name] = [number_of(i) for i in items or []]

    def show_diff(self: CorralApp, line: str) -> None:  # type: ignore[misc]
        self.run_worker(self._diff(line), group="diff", exclusive=True, name=line)

    async def _diff(self: CorralApp, line: str) -> None:  # type: ignore[misc]
        assert self.service is not None
        pane = self.query_one(CheckpointPane)
        pane.show_diff(Text(f"{line} …", style="dim"))
        result = await call(self.service, line, self.cwd)
        pane.show_diff(render_diff(result, line))


def render_diff(result: Any, line: str) -> Any:
    from backend.commands.parsing import parse_line

    cmd, _ = parse_line(line)
    text = getattr(result, "diff", None) or getattr(result, "patch", None)
    if isinstance(result, str):
        text = result
    if isinstance(text, str):
        from rich.syntax import Syntax  # pygments: imported on the first diff, not at start-up

        return Syntax(text or "(no changes)", "diff", word_wrap=True, theme="ansi_dark")
    if cmd.render is not None:
        return cmd.render(result)
    return Text(str(result))
