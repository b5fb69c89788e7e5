"""The low-level MCP `Server` with Corral's tools, and the stdio transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from backend import __version__
from backend.mcp_server.calls import ToolRunner
from backend.mcp_server.tools import all_tools
from backend.reconcile import start_at_startup
from backend.service import TaskService

INSTRUCTIONS = (
    "Corral runs each task in a hardened Docker sandbox with a git workspace on its own branch. "
    "Make a sandbox with create_task_sandbox, run shell commands in it with execute_in_task, "
    "checkpoint_task before risky steps and restore_checkpoint to roll code and container back. "
    "Tools take the task's name (or an id prefix) as `task`."
)


def build_server(runner: ToolRunner) -> Server[Any]:
    tools = all_tools()  # the registry does not change while we serve: list it once

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await runner.call(params.name, params.arguments)

    return Server(
        "corral",
        version=__version__,
        title="Corral",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(cwd: Path) -> None:
    async with await TaskService.open() as svc:
        # Startup reconcile (report only), in the background.
        start_at_startup(svc)
        server = build_server(ToolRunner(svc, cwd))
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
