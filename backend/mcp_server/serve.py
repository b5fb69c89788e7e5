"""`corral mcp [--http [--host H] [--port N] [--allow-remote]]`: parse the words, serve."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import NoReturn

from backend.errors import UsageError

DEFAULT_PORT = 8765
USAGE = "corral mcp [--http [--host 127.0.0.1] [--port N] [--allow-remote]]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"mcp: {message}; usage: {USAGE}")


def parse(words: list[str]) -> argparse.Namespace:
    p = _Parser(prog="corral mcp", add_help=False, allow_abbrev=False)
    p.add_argument("--http", action="store_true")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--allow-remote", action="store_true")
    p.add_argument("-h", "--help", action="store_true")
    ns = p.parse_args(words)
    if not ns.http and (ns.host != "127.0.0.1" or ns.port != DEFAULT_PORT or ns.allow_remote):
        raise UsageError(f"mcp: --host, --port and --allow-remote need --http; usage: {USAGE}")
    if not 0 <= ns.port <= 65535:
        raise UsageError(f"mcp: --port {ns.port} is not a port (0-65535; 0 picks a free one)")
    return ns


HELP = f"""usage: {USAGE}

Serve Corral's task tools over MCP: stdio by default (an agent starts `corral mcp` itself),
or streamable HTTP at /mcp with --http. HTTP listens on 127.0.0.1:{DEFAULT_PORT} by default and
requires `Authorization: Bearer <token>`: the token is $CORRAL_MCP_TOKEN or the one stored in
the data dir (file mcp-token, mode 0600; its path is printed at start). Another address than
loopback needs --allow-remote. docs/mcp.md shows how to register Corral with Claude Code,
Codex and Cursor."""


def main(words: list[str]) -> int:
    ns = parse(words)
    if ns.help:
        print(HELP)
        return 0
    # stdout is the protocol channel over stdio: everything else goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="corral mcp: %(message)s")
    cwd = Path.cwd()
    try:
        if ns.http:
            from backend.mcp_server.http import serve_http

            asyncio.run(serve_http(cwd, ns.host, ns.port, ns.allow_remote))
        else:
            from backend.mcp_server.server import serve_stdio

            asyncio.run(serve_stdio(cwd))
    except KeyboardInterrupt:
        pass
    return 0
