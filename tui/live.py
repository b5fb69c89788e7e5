"""Keeping the screen true: the store's event log (changes by any Corral process), the engine's
reachability, the selected task's log tail and resource samples. Docker and file I/O run in
threads; results come back as messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work

from backend.errors import NotFoundError
from tui.messages import EngineChecked, LogBatch, SamplesArrived, TasksAppended, TasksLoaded
from tui.widgets.log_pane import KEEP_LINES

if TYPE_CHECKING:
    from backend.models import Sample, Task
    from backend.service import TaskService
    from backend.store import Store
    from tui.app import CorralApp

EVENT_POLL = 0.5  # seconds: changes by other processes show within a second
ENGINE_OK_RECHECK = 15.0
ENGINE_DOWN_RECHECK = 3.0
BULK = 2000
FIRST_PAGE = 200  # more rows than any screen shows
PAGE = 1000  # more events than this in one poll: reload the whole list instead


class Live:
    """Mixed into CorralApp; kept apart so app.py stays about layout and keys."""

    service: TaskService | None
    last_event_id: int
    engine_probe: Callable[[], bool] | None
    _polling: bool
    _db_signature: tuple[int, ...] = ()
    _db_checked: float = 0.0

    # -- tasks ------------------------------------------------------------------------------

    async def load_tasks(self: CorralApp, store: Store | None = None) -> None:  # type: ignore[misc]
        """Every live task. Resource columns fill in as tasks are sampled (a stored sample
        would show an old CPU figure as if it were current)."""
        if store is None:
            assert self.service is not None
            store = self.service.store
        last = await store.last_event_id()
        counts = await store.checkpoint_counts()
        # A first screenful at once, then the rest in pages: with 10k tasks the list takes keys
        # after one small query, and no page holds the event loop for long.
        page = await store.live_tasks_page(None, FIRST_PAGE)
        self.post_message(TasksLoaded(page, counts, last, complete=len(page) < FIRST_PAGE))
        if len(page) == FIRST_PAGE:
            self.run_worker(self._load_rest(store, page[-1]), group="load-rest", exclusive=True)

    async def _load_rest(self: CorralApp, store: Store, after: Task) -> None:  # type: ignore[misc]
        while True:
            page = await store.live_tasks_page(after, PAGE)
            self.post_message(TasksAppended(page, complete=len(page) < PAGE))
            if len(page) < PAGE:
                return
            after = page[-1]

    async def poll_events(self: CorralApp) -> None:  # type: ignore[misc]
        svc = self.service
        if svc is None or self._polling:
            return
        # Nothing committed since the last look (the files say so): skip the query. Every few
        # seconds the query runs anyway, in case two commits left size and mtime unchanged.
        sig = svc.store.file_signature()
        loop_now = asyncio.get_running_loop().time()
        if sig == self._db_signature and loop_now - self._db_checked < 5.0:
            return
        self._db_signature, self._db_checked = sig, loop_now
        self._polling = True
        try:
            events = await svc.store.events_after(self.last_event_id, BULK)
            if not events:
                return
            self.last_event_id = events[-1].id
            if len(events) >= BULK:
                await self.load_tasks()
                return
            touched: dict[str, set[str]] = {}
            for e in events:
                tid = e.task_id or e.payload.get("task")
                if isinstance(tid, str):
                    touched.setdefault(tid, set()).add(e.kind)
            await self.apply_changes(touched)
        finally:
            self._polling = False

    async def apply_changes(self: CorralApp, touched: dict[str, set[str]]) -> None:  # type: ignore[misc]
        svc = self.service
        assert svc is not None
        table = self.table
        kinds = set().union(*touched.values()) if touched else set()
        if any(k.startswith("checkpoint") for k in kinds):
            table.checkpoints = await svc.store.checkpoint_counts()
        now = self.clock()
        for tid in touched:
            try:
                task = await svc.store.get_task(tid)
            except NotFoundError:
                table.drop(tid)
                continue
            before = table.tasks.get(tid)
            table.upsert(task, now)
            if tid == self.selected_id:
                self.selected_changed(task, before, touched[tid])
        self.update_status()
        if self.selected_id is None or self.selected_id not in table.tasks:
            self.select_highlighted(force=True)

    # -- engine -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="engine")
    def check_engine(self) -> None:
        from backend import docker_client

        probe = self.engine_probe or docker_client.ping
        self.post_message(EngineChecked(bool(probe())))  # type: ignore[attr-defined]

    # -- the selected task ------------------------------------------------------------------

    @work(exclusive=True, group="logs")
    async def follow_logs(self: CorralApp, task: Task) -> None:
        svc = self.service
        assert svc is not None
        first = True
        # A streaming log arrives in 30 ms batches (display latency target p95 <= 100 ms).
        async for batch in svc.follow_logs(task.id, from_start=True, interval=0.03):
            self.log_lines_read[task.id] = self.log_lines_read.get(task.id, 0) + len(batch)
            self.post_message(LogBatch(task.id, batch[-KEEP_LINES:] if first else batch, first))
            first = False

    @work(exclusive=True, group="stats")
    async def sample_stats(self: CorralApp, task: Task) -> None:
        svc = self.service
        assert svc is not None
        pending: list[Sample] = []
        try:
            async for sample in svc.stats(task.id):
                pending.append(sample)
                self.post_message(SamplesArrived(task.id, [sample]))
                if len(pending) >= 10:
                    await svc.store.add_samples(pending)
                    pending = []
        finally:
            if pending:
                await _quietly(svc.store.add_samples(pending))


async def _quietly(coro: Any) -> None:
    with contextlib.suppress(Exception):
        await coro
