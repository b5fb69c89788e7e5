"""The headless CLI over the command registry (`tui.entry` sends `corral` with no command to
the TUI and everything else here).

Exit codes (docs/cli.md): 0 ok, 1 the operation failed, 2 usage error, 3 not found,
4 conflict, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from backend import __version__
from backend.cli.output import console, error_json, error_line, jsonable, to_json, write_raw
from backend.commands import parsing
from backend.commands.context import Context
from backend.commands.registry import Command, commands
from backend.errors import CorralError

GLOBAL_FLAGS = {"--json", "--debug", "--no-color"}
EXIT_INTERRUPTED = 130


def _split_globals(argv: list[str]) -> tuple[set[str], list[str]]:
    """Pull global flags out of argv, but never from after `--` (that is exec's command)."""
    flags: set[str] = set()
    rest: list[str] = []
    for i, word in enumerate(argv):
        if word == "--":
            rest.extend(argv[i:])
            break
        if word in GLOBAL_FLAGS:
            flags.add(word)
        else:
            rest.append(word)
    return flags, rest


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags, words = _split_globals(argv)
    if "--no-color" in flags:
        os.environ["NO_COLOR"] = "1"
    debug = "--debug" in flags or os.environ.get("CORRAL_DEBUG") == "1"
    as_json = "--json" in flags
    try:
        return _dispatch(words, as_json=as_json, debug=debug)
    except CorralError as exc:
        return _fail(exc, as_json, debug)
    except KeyboardInterrupt:
        print("corral: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line for people, the traceback on request
        if debug:
            traceback.print_exc()
        print(
            f"corral: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _fail(exc: CorralError, as_json: bool, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(error_line(exc), file=sys.stderr)
    if as_json:
        print(error_json(exc))
    return exc.exit_code


def _dispatch(words: list[str], *, as_json: bool, debug: bool) -> int:
    if not words:
        print(top_help())
        return 0
    head = words[0]
    if head in ("-h", "--help"):
        print(top_help())
        return 0
    if head in ("-V", "--version", "version"):
        print(f"corral {__version__}")
        return 0
    if head == "batch":
        from backend.cli.batch import run_batch

        return run_batch(words[1:], as_json=as_json, debug=debug)
    if head == "mcp":
        from backend.cli.mcp_entry import run_mcp

        return run_mcp(words[1:])
    if head == "completion":
        from backend.cli.completion import completion_script

        print(completion_script(words[1] if len(words) > 1 else "bash"))
        return 0
    cmd, rest = parsing.resolve(words)
    if (
        "-h" in rest or "--help" in rest[: rest.index("--")]
        if "--" in rest
        else "-h" in rest or "--help" in rest
    ):
        print(command_help(cmd))
        return 0
    args = parsing.parse_argv(cmd, rest)
    return asyncio.run(_run(cmd, args, as_json=as_json))


async def _run(cmd: Command, args: Any, *, as_json: bool) -> int:
    from backend.service import TaskService

    out = console()
    async with await TaskService.open() as svc:
        ctx = Context(service=svc, cwd=Path.cwd(), json=as_json)
        if not as_json:
            ctx.on_output = write_raw
            ctx.on_lines = lambda lines: out.print(
                cmd.render(lines) if cmd.render else lines, end=""
            )
        task = asyncio.ensure_future(cmd.handler(ctx, args))
        try:
            result = await task
        except asyncio.CancelledError:
            return EXIT_INTERRUPTED
    return emit(cmd, result, as_json=as_json)


def emit(cmd: Command, result: Any, *, as_json: bool) -> int:
    code = result_exit_code(result)
    if as_json:
        print(to_json(result))
    elif cmd.render is not None and not (cmd.streams and cmd.name == "logs" and result == []):
        console().print(cmd.render(result))
    elif cmd.render is None:
        console().print_json(data=jsonable(result))
    if code:
        print(f"corral: error: the command exited with code {result.exit_code}", file=sys.stderr)
    return code


def result_exit_code(result: Any) -> int:
    """exec's command failing (or timing out) makes the CLI exit 1: the operation failed."""
    from backend.models import ExecResult

    if isinstance(result, ExecResult) and (result.timed_out or result.exit_code != 0):
        return 1
    return 0


def top_help() -> str:
    lines = [
        f"corral {__version__} — run AI coding agents side by side in hardened Docker sandboxes,",
        "each on its own git branch, with checkpoints that roll code and container back together.",
        "",
        "usage: corral                     open the full-screen TUI (in a git repo)",
        "       corral [--repo PATH]       the TUI for another repo",
        "       corral COMMAND [ARGS] [--json] [--debug]",
        "       corral batch FILE|- [--keep-going] [--json]",
        "       corral mcp [--http [--host H] [--port N] [--allow-remote]]",
        "       corral completion bash|zsh|fish",
        "",
        "commands (the same as the TUI's /slash commands and the MCP tools):",
    ]
    width = max(len(c.name) for c in commands()) + 2
    groups: dict[str, list[Command]] = {}
    for c in commands():
        groups.setdefault(c.group, []).append(c)
    for group, cmds in groups.items():
        lines.append(f"  {group}:")
        lines.extend(f"    {c.name:<{width}}{c.summary}" for c in cmds)
    lines += [
        "",
        "corral COMMAND --help explains one command. --json prints machine output",
        "(docs/cli.md has the schema).",
        "exit codes: 0 ok, 1 failed, 2 usage error, 3 not found, 4 conflict, 130 interrupted.",
        "data: $CORRAL_HOME (default ~/.local/share/corral); config: ~/.config/corral/config.toml",
    ]
    return "\n".join(lines)


def command_help(cmd: Command) -> str:
    lines = [f"usage: corral {cmd.usage}", "", cmd.summary, ""]
    for name, info in cmd.args.model_fields.items():
        label = name if info.is_required() else f"{name} (optional)"
        lines.append(f"  {label:<26}{info.description or ''}")
    lines += ["", f"example: corral {cmd.example}", f"   (TUI: /{cmd.example})"]
    if cmd.mcp_name:
        lines.append(f"   (MCP tool: {cmd.mcp_name})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
