"""Streamable HTTP at /mcp, behind a bearer token.

The token comes from $CORRAL_MCP_TOKEN, or is generated once and kept (mode 0600) in the data
dir. We print where it lives, never the token itself. Loopback is the default; another address
needs --allow-remote and is still behind the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from backend import paths
from backend.errors import UsageError
from backend.mcp_server.calls import ToolRunner
from backend.mcp_server.server import build_server
from backend.reconcile import start_at_startup
from backend.service import TaskService

TOKEN_ENV = "CORRAL_MCP_TOKEN"
TOKEN_FILE = "mcp-token"


@dataclass(frozen=True)
class Token:
    value: str
    source: str  # where it lives, for the start line: a path or "$CORRAL_MCP_TOKEN"


def token_path() -> Path:
    return paths.data_dir() / TOKEN_FILE


def load_token() -> Token:
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return Token(from_env, f"${TOKEN_ENV}")
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two servers starting at once agree on one token (the loser reads it below).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # tighten a file someone loosened
        value = path.read_text().strip()
        if not value:
            raise UsageError(
                f"MCP token file {path} is empty; delete it to make a new one"
            ) from None
        return Token(value, str(path))
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return Token(value, str(path))


class BearerGate:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            body = json.dumps(
                {"error": "unauthorized: send Authorization: Bearer <token> (see docs/mcp.md)"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="corral"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                return hmac.compare_digest(value, self.expected)
        return False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve_http(cwd: Path, host: str, port: int, allow_remote: bool) -> None:
    if not is_loopback(host) and not allow_remote:
        raise UsageError(
            f"--host {host} is not a loopback address; add --allow-remote to serve other machines "
            "(they still need the bearer token)"
        )
    token = load_token()
    sock = bind(host, port)
    async with await TaskService.open() as svc:
        # Startup reconcile (report only), in the background.
        start_at_startup(svc)
        server = build_server(ToolRunner(svc, cwd))
        app: Any = server.streamable_http_app(host=host if is_loopback(host) else "0.0.0.0")
        config = uvicorn.Config(
            BearerGate(app, token.value),
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        actual = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"corral mcp: streamable HTTP at http://{shown}:{actual}/mcp; "
            f"bearer token in {token.source}",
            file=sys.stderr,
            flush=True,
        )
        await uvicorn.Server(config).serve(sockets=[sock])
