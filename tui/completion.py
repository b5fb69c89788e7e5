"""Command-bar completion and inline help, from the registry alone (no Textual, no I/O).

`candidates(line, sources)` returns whole-line completions for the word being typed; what a
field completes to comes from the registry (`arg(..., complete="task")`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# The registry (every command module, pydantic models) is imported by the functions that use
# it: the TUI builds its first frame before loading it.
if TYPE_CHECKING:
    from backend.commands.registry import Command

LOCAL_COMMANDS = {"quit": "Leave Corral (sandboxes and agents keep running)."}


@dataclass
class Sources:
    """What completions are drawn from; the app keeps these fresh."""

    tasks: list[str] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    checkpoints: Callable[[str], list[str]] = lambda task: []


@dataclass
class Slot:
    """Where the cursor is: which command, which field, and the partial word."""

    command: Command | None
    field: str | None
    word: str
    head: str  # the line before the word


def command_names() -> list[str]:
    from backend.commands.registry import commands

    names = [c.name for c in commands()]
    return [*names, *LOCAL_COMMANDS]


def _words(line: str) -> tuple[list[str], str]:
    """(complete words, partial last word) with a tolerant split (unbalanced quotes are fine)."""
    if line.endswith(" "):
        return line.split(), ""
    parts = line.split()
    return (parts[:-1], parts[-1]) if parts else ([], "")


def slot(line: str) -> Slot:
    from backend.commands.registry import arg_extra, lookup

    words, word = _words(line)
    head = line[: len(line) - len(word)]
    if not words:
        return Slot(None, None, word, head)
    cmd = lookup(words[0])
    if cmd is None:
        return Slot(None, None, word, head)
    fields = cmd.args.model_fields
    if "--" in words:
        return Slot(cmd, None, word, head)
    last = words[-1] if len(words) > 1 else ""
    if last.startswith("--"):
        name = last[2:].replace("-", "_")
        if name in fields and fields[name].annotation is not bool:
            return Slot(cmd, name, word, head)
    positional = [
        n for n in fields if arg_extra(cmd.args, n).get("positional") and not _is_remainder(cmd, n)
    ]
    taken = _positionals_given(cmd, words[1:])
    field_name = positional[taken] if taken < len(positional) else None
    return Slot(cmd, field_name, word, head)


def _is_remainder(cmd: Command, name: str) -> bool:
    from backend.commands.registry import arg_extra

    return bool(arg_extra(cmd.args, name).get("remainder"))


def _positionals_given(cmd: Command, words: list[str]) -> int:
    count, skip = 0, False
    fields = cmd.args.model_fields
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            name = w.lstrip("-").replace("-", "_")
            skip = name in fields and fields[name].annotation is not bool
            continue
        count += 1
    return count


def _values(cmd: Command, name: str, line: str, src: Sources) -> list[str]:
    from backend.commands.registry import arg_extra
    from backend.models import TaskState

    kind = arg_extra(cmd.args, name).get("complete", "none")
    if kind == "task":
        return src.tasks
    if kind == "preset":
        return src.presets
    if kind == "state":
        return [s.value for s in TaskState]
    if kind == "command":
        return command_names()
    if kind == "checkpoint":
        words = line.split()
        task = next((w for w in words[1:] if w in src.tasks), None)
        return src.checkpoints(task) if task else []
    return []


def candidates(line: str, src: Sources) -> list[str]:
    from backend.commands.registry import arg_extra

    lead = "/" if line.startswith("/") else ""
    body = line[len(lead) :]
    s = slot(body)
    if s.command is None:
        if s.head.strip():
            return []
        return [lead + n + " " for n in command_names() if n.startswith(s.word)]
    if s.word.startswith("-") and s.field is None:
        flags = [
            "--" + n.replace("_", "-")
            for n in s.command.args.model_fields
            if not arg_extra(s.command.args, n).get("positional")
        ]
        return [lead + s.head + f + " " for f in flags if f.startswith(s.word)]
    if s.field is None:
        return []
    values = _values(s.command, s.field, body, src)
    return [lead + s.head + v + " " for v in values if v.startswith(s.word) and v != s.word]


def inline_help(line: str) -> str:
    """Usage and summary of the command being typed, plus help for the field under the cursor."""
    body = line.lstrip().lstrip("/")
    if not body.strip():
        return "type a command (help lists them); tab completes, enter runs, esc leaves"
    s = slot(body)
    if s.command is None:
        first = body.split()[0] if body.split() else ""
        if first in LOCAL_COMMANDS:
            return f"{first} — {LOCAL_COMMANDS[first]}"
        names = [n for n in command_names() if n.startswith(first)]
        return "  ".join(names[:12]) if names else f"no command starts with {first!r}"
    text = f"{s.command.usage} — {s.command.summary}"
    if s.field:
        desc = s.command.args.model_fields[s.field].description or ""
        text = f"{s.field}: {desc}   |   {text}"
    return text
