"""The CLI's view of a build: a live rich display on a terminal (image, current Dockerfile
step, a bar, the latest output line), plain step lines otherwise. Everything goes to stderr so
`--json` output on stdout stays clean. Called on the event loop's thread (see run_build)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from backend.images.builder import BuildStep


class BuildProgressView:
    def __init__(self, *, live: bool = True, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.live = live and self.console.is_terminal
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[image]}"),
            BarColumn(bar_width=24),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            expand=False,
        )
        self._task = self._progress.add_task("starting", total=100, image="")
        self._line = Text("", style="dim", no_wrap=True, overflow="ellipsis")
        self._display = Live(
            Group(self._progress, self._line),
            console=self.console,
            refresh_per_second=8,
            transient=True,
        )
        self._last_plain = ""

    def __enter__(self) -> BuildProgressView:
        if self.live:
            self._display.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live:
            self._display.__exit__(exc_type, exc, tb)

    def step(self, s: BuildStep) -> None:
        where = (
            f"Step {s.step}/{s.total} : {s.instruction}" if s.total else s.instruction or "starting"
        )
        if self.live:
            width = max(20, self.console.width - 50)
            self._progress.update(
                self._task,
                completed=round(s.fraction * 100, 1),
                description=_clip(where, width),
                image=f"{s.image} ({s.index + 1}/{s.count})",
            )
            self._line.plain = "  " + _clip(s.line, self.console.width - 4)
            return
        if not (s.total or s.instruction):
            return  # "starting": the first step follows at once
        plain = f"corral: {s.image}: {where}"
        if plain != self._last_plain:
            self._last_plain = plain
            self.console.print(_clip(plain, 200), markup=False, soft_wrap=True)

    def note(self, text: str) -> None:
        self.console.print(f"corral: {text}", markup=False, soft_wrap=True)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"
