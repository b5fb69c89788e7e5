"""The one command registry. A slash command, its CLI subcommand and its MCP tool are three
faces of one `Command`: name, pydantic argument model, handler, help text with an example.

Argument fields are described with `arg(...)`: whether they are positional, their short flag,
and what the TUI should offer when completing them.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from backend.commands.context import Context

Completion = Literal["task", "checkpoint", "preset", "state", "image", "command", "path", "none"]
Handler = Callable[["Context", Any], Awaitable[Any]]


def arg(
    default: Any = ...,
    *,
    help: str,
    positional: bool = False,
    short: str | None = None,
    remainder: bool = False,
    complete: Completion = "none",
    metavar: str | None = None,
    cli_only: bool = False,
) -> Any:
    """A command argument. `remainder` takes everything after `--` (exec's command)."""
    extra: dict[str, Any] = {
        "positional": positional or remainder,
        "short": short,
        "remainder": remainder,
        "complete": complete,
        "metavar": metavar,
        "cli_only": cli_only,
    }
    return Field(default, description=help, json_schema_extra=extra)


@dataclass(frozen=True)
class Command:
    name: str  # kebab-case: the slash and CLI name
    summary: str  # one line, for help lists and the palette
    args: type[BaseModel]
    handler: Handler
    example: str
    group: str = "task"  # palette namespace: "task: checkpoint"
    mcp_name: str | None = None  # exposed as an MCP tool under this name
    mcp_summary: str | None = None
    details: str = ""
    render: Callable[[Any], Any] | None = None  # result -> rich renderable (human output)
    streams: bool = False  # prints output while it runs (exec, logs --follow)
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def usage(self) -> str:
        parts = [self.name]
        for name, info in self.args.model_fields.items():
            extra = _extra(info)
            if extra.get("remainder"):
                parts.append(f"-- {(extra.get('metavar') or name).upper()}...")
            elif extra.get("positional"):
                label = (extra.get("metavar") or name).upper()
                parts.append(label if info.is_required() else f"[{label}]")
            else:
                flag = "--" + name.replace("_", "-")
                if info.annotation is bool:
                    parts.append(f"[{flag}]")
                else:
                    label = (extra.get("metavar") or name).upper()
                    parts.append(f"{flag} {label}" if info.is_required() else f"[{flag} {label}]")
        return " ".join(parts)


def _extra(info: Any) -> dict[str, Any]:
    extra = info.json_schema_extra
    return dict(extra) if isinstance(extra, dict) else {}


REGISTRY: dict[str, Command] = {}


def register(cmd: Command) -> Command:
    for key in (cmd.name, *cmd.aliases):
        if key in REGISTRY:
            raise ValueError(f"command {key} registered twice")
        REGISTRY[key] = cmd
    return cmd


def command(
    name: str, *, summary: str, args: type[BaseModel], example: str, **kw: Any
) -> Callable[[Handler], Handler]:
    """Decorator form of `register`."""

    def wrap(fn: Handler) -> Handler:
        register(Command(name=name, summary=summary, args=args, handler=fn, example=example, **kw))
        return fn

    return wrap


def commands() -> list[Command]:
    """Each command once (aliases folded), in registration order."""
    load_all()
    seen: dict[str, Command] = {}
    for cmd in REGISTRY.values():
        seen.setdefault(cmd.name, cmd)
    return list(seen.values())


def lookup(name: str) -> Command | None:
    load_all()
    return REGISTRY.get(name.lstrip("/"))


def suggest(name: str) -> str | None:
    load_all()
    close = difflib.get_close_matches(name.lstrip("/"), list(REGISTRY), n=1, cutoff=0.5)
    return close[0] if close else None


def arg_extra(model: type[BaseModel], field_name: str) -> dict[str, Any]:
    return _extra(model.model_fields[field_name])


_loaded = False
# Help and the palette list groups in this order; modules not named here come after, sorted.
ORDER = ["task_cmds", "agent_cmds", "checkpoint_cmds", "history_cmds", "image_cmds"]


def load_all() -> None:
    """Import every command module once; each registers its commands on import."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import pkgutil

    import backend.commands as pkg

    found = {m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.endswith("_cmds")}
    for name in [*(n for n in ORDER if n in found), *sorted(found - set(ORDER))]:
        importlib.import_module(f"backend.commands.{name}")
