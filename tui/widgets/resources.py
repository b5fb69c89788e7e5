"""CPU and memory of the selected task over the last minutes, limits drawn."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from backend.units import human_size
from tui.widgets.chart import Chart

if TYPE_CHECKING:
    from backend.models import Sample, Task

WINDOW = 300  # samples (about 1 per second): five minutes


class ResourcePane(Vertical):
    DEFAULT_CSS = """
    ResourcePane { height: 1fr; padding: 0 1; }
    ResourcePane Label { width: 1fr; }
    ResourcePane Chart { height: 1fr; min-height: 2; max-height: 8; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.samples: deque[Sample] = deque(maxlen=WINDOW)
        self.task_ref: Task | None = None
        self._stale = True

    def compose(self) -> ComposeResult:
        yield Label("no task selected", id="res-note")
        yield Label("CPU", id="cpu-label")
        yield Chart(id="cpu-chart")
        yield Label("memory", id="mem-label")
        yield Chart(id="mem-chart")

    def show_task(self, task: Task | None, history: Iterable[Sample] = ()) -> None:
        self.task_ref = task
        self.samples.clear()
        self.samples.extend(history)
        self._note()
        self._draw()

    def _note(self) -> None:
        task = self.task_ref
        if task is None:
            text = "no task selected"
        elif task.state != "running":
            text = (
                f"{task.name} is {task.state.value}: sampled only while running (last minutes kept)"
            )
        else:
            text = f"{task.name}: sampled every second while this tab is open · last 5 min"
        self.query_one("#res-note", Label).update(text)

    def add(self, batch: Iterable[Sample]) -> None:
        self.samples.extend(batch)
        self._draw()

    def on_show(self) -> None:
        if self._stale:
            self._draw()

    def _draw(self) -> None:
        # Drawing a hidden tab would still cost a screen layout per sample: wait to be shown.
        self._stale = not self.is_on_screen
        if self._stale:
            return
        task = self.task_ref
        cpus = task.spec.cpus if task else 0.0
        mem_limit = float(task.spec.memory_bytes) if task else 0.0
        if self.samples and self.samples[-1].memory_limit:
            mem_limit = float(min(self.samples[-1].memory_limit, mem_limit or 1 << 62))
        cpu = [s.cpu_percent for s in self.samples]
        mem = [float(s.memory_bytes) for s in self.samples]
        last = self.samples[-1] if self.samples else None
        cpu_now = f"{last.cpu_percent:.1f}%" if last else "-"
        mem_now = human_size(last.memory_bytes) if last else "-"
        self.query_one("#cpu-label", Label).update(
            f"CPU {cpu_now}   peak {max(cpu, default=0):.1f}%   limit ┄ {cpus:g} cores ({cpus * 100:.0f}%)",
            layout=False,
        )
        self.query_one("#mem-label", Label).update(
            f"memory {mem_now}   peak {human_size(max(mem, default=0))}   limit ┄ {human_size(mem_limit)}",
            layout=False,
        )
        cpu_chart = self.query_one("#cpu-chart", Chart)
        cpu_chart.limit = cpus * 100
        cpu_chart.values = tuple(cpu)
        mem_chart = self.query_one("#mem-chart", Chart)
        mem_chart.limit = mem_limit
        mem_chart.values = tuple(mem)
