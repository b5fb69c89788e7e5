"""Calling registry commands from the TUI: the same parse + handler path as the CLI, so the
TUI never depends on a command's internals (checkpoint commands come from another module)."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The registry and models are imported where used: the TUI draws its first frame first.
if TYPE_CHECKING:
    from backend.commands.context import Context
    from backend.commands.registry import (
        Command,  # both import the Docker SDK; the TUI loads them after its first frame
    )
    from backend.service import TaskService

# Commands that destroy or rewind work ask first, wherever they are started from.
CONFIRM = {
    "delete-task": "Delete task {task}? Its sandbox and workspace are removed.",
    "restore-checkpoint": "Restore {task} to checkpoint {checkpoint}? Files and container roll back "
    "(an automatic checkpoint of the current state is taken first).",
}


def available(name: str) -> bool:
    from backend.commands.registry import lookup

    return lookup(name) is not None


def build_line(name: str, task: str, *checkpoints: str) -> str:
    """`name TASK [N [M]]`, filling the command's positional fields by what they complete to."""
    from backend.commands.registry import arg_extra, lookup

    cmd = lookup(name)
    if cmd is None:
        return name
    words, numbers = [cmd.name], list(checkpoints)
    for field in cmd.args.model_fields:
        extra = arg_extra(cmd.args, field)
        if not extra.get("positional"):
            continue
        if extra.get("complete") == "task":
            words.append(task)
        elif extra.get("complete") == "checkpoint" and numbers:
            words.append(numbers.pop(0))
    return shlex.join(words)


def confirm_text(cmd: Command, args: Any) -> str | None:
    from backend.commands.registry import arg_extra

    template = CONFIRM.get(cmd.name)
    if template is None:
        return None
    values = args.model_dump()
    checkpoint = next(
        (str(values[f]) for f in values if arg_extra(cmd.args, f).get("complete") == "checkpoint"),
        "?",
    )
    return template.format(task=values.get("task", "?"), checkpoint=checkpoint)


async def call(service: TaskService, line: str, cwd: Path | None = None) -> Any:
    """Run one registry command quietly and return its result (errors propagate)."""
    from backend.commands.context import Context
    from backend.commands.parsing import parse_line

    cmd, args = parse_line(line)
    return await cmd.handler(Context(service=service, cwd=cwd or Path.cwd()), args)


class OutputSink:
    """Collects streamed output from any thread; the app drains it on a timer, so a chatty
    command becomes a few widget writes per second instead of a message per chunk."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._partial = ""
        self.progress: str = ""

    def feed_bytes(self, chunk: bytes) -> None:
        from backend.tasklog import strip_ansi

        text = strip_ansi(chunk.decode(errors="replace"))
        with self._lock:
            text = self._partial + text
            *done, self._partial = text.split("\n")
            self._lines.extend(done)

    def feed_lines(self, lines: list[Any]) -> None:
        from backend.models import LogLine

        out = [
            f"[{ln.source}] {ln.text}" if isinstance(ln, LogLine) and ln.source != "agent" else
            (ln.text if isinstance(ln, LogLine) else str(ln))
            for ln in lines
        ]  # fmt: skip
        with self._lock:
            self._lines.extend(out)

    def feed_progress(self, text: str, fraction: float | None) -> None:
        self.progress = text if fraction is None else f"{text} {fraction:.0%}"

    def drain(self, final: bool = False) -> list[str]:
        with self._lock:
            out, self._lines = self._lines, []
            if final and self._partial:
                out.append(self._partial)
                self._partial = ""
        return out

    def context(self, service: TaskService, cwd: Path) -> Context:
        from backend.commands.context import Context

        return Context(
            service=service,
            cwd=cwd,
            on_output=self.feed_bytes,
            on_lines=self.feed_lines,
            on_progress=self.feed_progress,
            interactive=True,
        )
