"""The protocol floor for the MCP row: the same `mcp` package's stdio server with one
`list_tasks` tool that returns a fixed payload (the one Corral returned), no store, no
registry. `python -m bench.mcp_floor PAYLOAD_FILE`."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server


async def serve(payload: str) -> None:
    data = json.loads(payload)
    tool = types.Tool(
        name="list_tasks",
        description="Fixed list of tasks (benchmark floor).",
        input_schema={"type": "object", "properties": {}},
    )

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return types.CallToolResult(
            content=[types.TextContent(text=payload)], structured_content=data
        )

    server: Server[Any] = Server("floor", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        asyncio.run(serve(fh.read()))
