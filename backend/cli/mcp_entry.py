"""`corral mcp`: placeholder until the MCP server lands (backend/mcp_server)."""

from __future__ import annotations

from backend.errors import UsageError


def run_mcp(words: list[str]) -> int:
    try:
        from backend.mcp_server.serve import main as serve  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise UsageError("the MCP server is not built into this Corral yet") from exc
    return int(serve(words))
