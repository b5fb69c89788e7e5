"""The MCP server survives its Docker engine going away and coming back.

Restarting the real dockerd would disturb everything else on the machine, so the server talks to
the engine through a socket proxy this test owns: closing the proxy (every connection dropped,
the socket gone) is, from the server's side, what an engine restart looks like."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from mcp import Client

from backend import docker_client
from backend.mcp_server.bench import stdio_params
from tests.test_mcp_stdio import Tools


class EngineProxy:
    """A unix-socket proxy in front of the Docker engine that can be taken down and back up."""

    def __init__(self, path: Path, upstream: str) -> None:
        self.path = path
        self.upstream = upstream
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_unix_server(self._serve, str(self.path))

    async def stop(self) -> None:
        assert self.server
        self.server.close()
        for w in list(self.writers):
            w.close()
        await self.server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.upstream)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def test_server_keeps_working_across_an_engine_restart(home: Path, repo: Path, tiny_image: str, tmp_path: Path) -> None:  # fmt: skip
    address = docker_client.engine_address()
    if not address.startswith("unix://"):
        pytest.fail(f"this test proxies a unix-socket engine; DOCKER_HOST is {address}")
    proxy = EngineProxy(tmp_path / "engine.sock", address.removeprefix("unix://"))
    await proxy.start()
    env = {"CORRAL_HOME": str(home), "DOCKER_HOST": f"unix://{proxy.path}"}
    async with Client(stdio_params(repo, env)) as client:
        t = Tools(client)
        await t.ok("create_task_sandbox", name="eng", image=tiny_image)
        assert (await t.ok("execute_in_task", task="eng", command="echo one"))["output"] == "one\n"

        await proxy.stop()  # the engine "goes away"
        down = await t.error("execute_in_task", task="eng", command="echo two")
        assert "Docker engine not reachable" in down
        assert (await t.ok("list_tasks"))["items"]  # the store still answers

        await proxy.start()  # ... and comes back: the very next call works
        back = await t.ok("execute_in_task", task="eng", command="echo three")
        assert back["output"] == "three\n"
        await t.ok("delete_task", task="eng")
    await proxy.stop()
