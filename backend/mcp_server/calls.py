"""Running one tool call: validate the arguments with the command's own model, run the registry
handler, and turn whatever happens into a `CallToolResult`. Nothing a caller sends, and nothing
Docker does, escapes as an exception: the server must outlive every bad call."""

from __future__ import annotations

import difflib
import json
import logging
from pathlib import Path
from typing import Any

import mcp.types as types
from pydantic import BaseModel, ValidationError
from requests.exceptions import ConnectionError as RequestsConnectionError

from backend import docker_client
from backend.cli.output import error_line
from backend.commands.context import Context
from backend.commands.registry import Command
from backend.errors import CorralError, EngineUnavailableError, UsageError
from backend.mcp_server.tools import mcp_commands, mcp_fields, structured
from backend.models import ExecResult
from backend.service import TaskService

log = logging.getLogger("corral.mcp")

# An agent reads exec output into its context window: keep it bounded (the tail, where errors are).
EXEC_OUTPUT_CAP = 64 * 1024
# A command given no timeout over MCP still ends: an agent's call must come back.
EXEC_DEFAULT_TIMEOUT = 600.0


class ToolRunner:
    """Runs tool calls against one TaskService that lives as long as the server."""

    def __init__(self, service: TaskService, cwd: Path) -> None:
        self.service = service
        self.cwd = cwd
        self.commands = mcp_commands()

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        cmd = self.commands.get(name)
        try:
            if cmd is None:
                raise UsageError(f"unknown tool {name!r}{_hint(name, list(self.commands))}")
            args = validate(cmd, arguments or {})
            result = await cmd.handler(self._context(), _mcp_defaults(cmd, args))
            if isinstance(result, ExecResult):
                result = cap_output(result, EXEC_OUTPUT_CAP)
            data = structured(result)
            text = json.dumps(data, ensure_ascii=False)
        except CorralError as exc:
            if isinstance(exc, EngineUnavailableError):
                docker_client.reset()
            return error_result(error_line(exc), kind=exc.kind, exit_code=exc.exit_code)
        except (RequestsConnectionError, ConnectionError) as exc:  # engine lost mid-call
            docker_client.reset()
            err = docker_client.unreachable(exc)
            return error_result(error_line(err), kind=err.kind, exit_code=err.exit_code)
        except Exception as exc:  # a bug or an unmapped Docker error: report it, keep serving
            log.exception("tool %s failed", name)
            docker_client.reset()  # cheap; the next Docker call pings a fresh client
            why = f"corral: internal error: {type(exc).__name__}: {' '.join(str(exc).split())}"
            return error_result(why, kind="internal", exit_code=1)
        return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data)

    def _context(self) -> Context:
        return Context(service=self.service, cwd=self.cwd, json=True)


def validate(cmd: Command, arguments: dict[str, Any]) -> BaseModel:
    """The command's pydantic model over the arguments; unknown names are refused, not ignored."""
    assert cmd.mcp_name
    allowed = mcp_fields(cmd)
    for key in arguments:
        if key not in allowed:
            raise UsageError(
                f"{cmd.mcp_name}: unknown argument {key!r}{_hint(key, allowed)}; "
                f"arguments: {', '.join(allowed)}"
            )
    try:
        return cmd.args.model_validate(arguments)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        msg = err["msg"].removeprefix("Value error, ")
        raise UsageError(
            f"{cmd.mcp_name}: {where}: {msg}; arguments: {', '.join(allowed)}"
        ) from exc


def _mcp_defaults(cmd: Command, args: BaseModel) -> BaseModel:
    """Defaults that differ over MCP: exec always has a timeout."""
    if cmd.name == "exec" and getattr(args, "timeout", None) is None:
        return args.model_copy(update={"timeout": EXEC_DEFAULT_TIMEOUT})
    return args


def cap_output(result: ExecResult, cap: int) -> ExecResult:
    """Keep the last `cap` bytes of output, with a visible marker saying what was dropped."""
    data = result.output.encode()
    if len(data) <= cap and not result.truncated:
        return result
    tail = data[-cap:]
    newline = tail.find(b"\n")
    if 0 <= newline < 4096:  # start at a whole line when one begins near the cut
        tail = tail[newline + 1 :]
    kept = tail.decode(errors="ignore")
    marker = (
        f"[corral: output truncated: showing the last {len(kept.encode())} bytes; "
        "the task log has more (task_logs)]\n"
    )
    return result.model_copy(update={"output": marker + kept, "truncated": True})


def error_result(text: str, *, kind: str, exit_code: int) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=text)],
        structured_content={"error": {"kind": kind, "message": text, "exit_code": exit_code}},
        is_error=True,
    )


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""
