"""`corral mcp --http`: streamable HTTP at /mcp behind a bearer token, driven by the real `mcp`
client against a real `corral mcp --http` subprocess."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from backend.mcp_server.bench import corral_command
from tests.test_mcp_stdio import Tools, ok

START_LINE = re.compile(r"streamable HTTP at (http://\S+/mcp); bearer token in (\S+)")


@dataclass
class HttpServer:
    url: str
    token_source: str
    stderr: Path


def start_http(cwd: Path, home: Path, tmp: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], HttpServer]:  # fmt: skip
    log = tmp / "mcp-http.err"
    proc = subprocess.Popen(
        [*corral_command(), "mcp", "--http", "--port", "0", *extra],
        cwd=cwd,
        env={**os.environ, "CORRAL_HOME": str(home), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = START_LINE.search(log.read_text()) if log.exists() else None
        if found:
            return proc, HttpServer(found.group(1), found.group(2), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"corral mcp --http did not start: {log.read_text() if log.exists() else ''}")


@pytest.fixture
def http_server(home: Path, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpServer]:  # fmt: skip
    monkeypatch.delenv("CORRAL_MCP_TOKEN", raising=False)
    proc, server = start_http(repo, home, tmp_path)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def test_requests_without_the_right_token_get_401(http_server: HttpServer, home: Path) -> None:
    token_file = home / "mcp-token"
    assert http_server.token_source == str(token_file)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token not in http_server.stderr.read_text()  # where it lives, never the token itself

    bare = httpx2.post(http_server.url, json=PING, headers=HEADERS)
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"].startswith("Bearer")
    for wrong in ("Bearer nope", token, f"Basic {token}", f"Bearer {token}x"):
        response = httpx2.post(
            http_server.url, json=PING, headers={**HEADERS, "authorization": wrong}
        )
        assert response.status_code == 401, wrong
    right = {**HEADERS, "authorization": f"Bearer {token}"}
    assert httpx2.post(http_server.url, json=PING, headers=right).status_code != 401


async def test_full_short_session_over_http(http_server: HttpServer, home: Path, repo: Path, tiny_image: str) -> None:  # fmt: skip
    token = (home / "mcp-token").read_text().strip()
    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(http_server.url, http_client=http)) as client,
    ):
        t = Tools(client)
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"create_task_sandbox", "execute_in_task", "delete_task"} <= names
        task = await t.ok("create_task_sandbox", name="web-one", image=tiny_image)
        assert task["repo"] == str(repo)  # the server's cwd
        run = await t.ok("execute_in_task", task="web-one", command="echo via http")
        assert run["exit_code"] == 0 and run["output"] == "via http\n"
        assert "command: Field required" in await t.error("execute_in_task", task="web-one")
        assert (await t.ok("delete_task", task="web-one"))["state"] == "deleted"


async def test_token_from_the_environment(home: Path, repo: Path, tmp_path: Path) -> None:
    proc, server = start_http(repo, home, tmp_path, env={"CORRAL_MCP_TOKEN": "s3cret-token"})
    try:
        assert server.token_source == "$CORRAL_MCP_TOKEN"
        assert "s3cret-token" not in server.stderr.read_text()
        assert not (home / "mcp-token").exists()
        async with (
            create_mcp_http_client(headers={"Authorization": "Bearer s3cret-token"}) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            assert ok(await client.call_tool("list_tasks", {}))["items"] == []
    finally:
        proc.terminate()
        proc.wait(timeout=15)
