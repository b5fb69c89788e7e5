"""`corral mcp` over stdio, driven by the real `mcp` client against a real `corral mcp`
subprocess, a real engine and a real git repo."""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from backend.mcp_server.bench import (
    corral_command,
    list_tasks_roundtrips,
    percentiles,
    stdio_params,
)
from backend.mcp_server.calls import EXEC_OUTPUT_CAP
from tests.test_mcp_tools import CHECKPOINT_TOOLS, ISSUE_TOOLS


class Tools:
    """A client with short spellings: `await t.ok("list_tasks")`, `await t.error(...)`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ok(self, tool: str, **args: Any) -> dict[str, Any]:
        return ok(await self.client.call_tool(tool, args))

    async def error(self, tool: str, **args: Any) -> str:
        return error_text(await self.client.call_tool(tool, args))


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, f"tool error: {result.content}"
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    text = result.content[0].text  # type: ignore[union-attr]
    assert "\n" not in text  # one line, like the CLI's
    return str(text)


async def test_full_session_over_stdio(home: Path, repo: Path, tiny_image: str) -> None:
    async with Client(stdio_params(repo, {"CORRAL_HOME": str(home)})) as client:
        t = Tools(client)
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) >= ISSUE_TOOLS
        create_props = listed["create_task_sandbox"].input_schema["properties"]
        assert {"name", "repo", "image", "request_id"} <= set(create_props)
        exec_props = listed["execute_in_task"].input_schema["properties"]
        assert set(exec_props) == {"task", "command", "timeout"}

        # create: `repo` defaults to the server's cwd; the same request_id gives the same task.
        args = {"name": "mcp-one", "image": tiny_image, "request_id": "req-1"}
        task = await t.ok("create_task_sandbox", **args)
        assert task["state"] == "running" and task["branch"] == "corral/mcp-one"
        assert task["repo"] == str(repo)
        assert (await t.ok("create_task_sandbox", **args))["id"] == task["id"]
        assert [x["id"] for x in (await t.ok("list_tasks"))["items"]] == [task["id"]]

        # exec: a shell string; a failing command is a result (exit code), not a tool error.
        script = "echo hello > note.txt && cat note.txt; echo oops >&2; exit 3"
        run = await t.ok("execute_in_task", task="mcp-one", command=script)
        assert run["exit_code"] == 3 and "hello" in run["output"] and "oops" in run["output"]
        big = await t.ok("execute_in_task", task="mcp-one", command="seq 1 200000")
        assert big["truncated"] and big["output"].startswith("[corral: output truncated")
        assert len(big["output"].encode()) < EXEC_OUTPUT_CAP + 200
        assert big["output"].endswith("200000\n")
        started = time.monotonic()
        slow = await t.ok("execute_in_task", task="mcp-one", command="sleep 60", timeout=1)
        assert slow["timed_out"] and slow["exit_code"] is None
        assert time.monotonic() - started < 15
        # a long command does not hold up other calls
        running = asyncio.ensure_future(
            t.ok("execute_in_task", task="mcp-one", command="sleep 2; echo done")
        )
        await asyncio.sleep(0.3)
        assert (await t.ok("list_tasks"))["items"] and not running.done()
        assert (await running)["output"] == "done\n"

        # malformed calls are tool errors, and the server answers the next call.
        bad = await t.error("execute_in_task", task="mcp-one", comand="ls")
        assert "unknown argument 'comand'" in bad
        assert "task: Input should be a valid string" in await t.error("get_task_status", task=42)
        assert "no task named 'ghost'" in await t.error("stop_task", task="ghost")
        assert "unknown tool 'make_coffee'" in await t.error("make_coffee")
        status = await t.ok("get_task_status", task="mcp-one")
        assert status["task"]["state"] == "running"

        # checkpoint, change, restore: the file comes back.
        missing = sorted(CHECKPOINT_TOOLS - set(listed))
        assert not missing, f"checkpoint tools not in the registry yet (checkpoint_cmds): {missing}"
        cp = await t.ok("checkpoint_task", task="mcp-one", message="hello written")
        await t.ok("execute_in_task", task="mcp-one", command="echo changed > note.txt")
        changed = await t.ok("task_diff", task="mcp-one")
        assert {"status": "M", "path": "note.txt"} in changed["files"]
        listed_cps = (await t.ok("list_checkpoints", task="mcp-one"))["items"]
        assert [c["message"] for c in listed_cps if c["n"] == cp["n"]] == ["hello written"]
        await t.ok("restore_checkpoint", task="mcp-one", n=cp["n"])
        back = await t.ok("execute_in_task", task="mcp-one", command="cat note.txt")
        assert back["output"].strip() == "hello"

        await t.ok("record_decision", task="mcp-one", text="keep it tiny")
        lines = (await t.ok("task_logs", task="mcp-one", grep="hello"))["items"]
        assert any("hello" in line["text"] for line in lines)

        assert (await t.ok("stop_task", task="mcp-one"))["state"] == "stopped"
        assert "stopped" in await t.error("execute_in_task", task="mcp-one", command="true")
        assert (await t.ok("delete_task", task="mcp-one"))["state"] == "deleted"
        assert (await t.ok("list_tasks"))["items"] == []


async def test_list_tasks_roundtrips_measures_the_real_stdio_path(home: Path) -> None:
    samples = await list_tasks_roundtrips(5, env={"CORRAL_HOME": str(home)}, warmup=1)
    assert len(samples) == 5 and all(s > 0 for s in samples)
    assert percentiles(samples)["p50"] <= max(samples)


def test_garbage_on_the_wire_does_not_kill_the_server(home: Path, tmp_path: Path) -> None:
    """Below the tool layer: a line that is not JSON, arguments that are not an object."""
    init = {"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}  # fmt: skip
    lines = [
        "this is not json",
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "list_tasks", "arguments": [1, 2]}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "list_tasks", "arguments": {}}},
    ]  # fmt: skip
    proc = subprocess.Popen(
        [*corral_command(), "mcp"],
        cwd=tmp_path,
        env={**os.environ, "CORRAL_HOME": str(home)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin and proc.stdout
    try:
        for line in lines:
            proc.stdin.write((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n")
        proc.stdin.flush()
        answers: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + 30
        # Requests are handled concurrently: 3 may be answered before 2, so wait for both.
        while not {2, 3} <= answers.keys() and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                message = json.loads(proc.stdout.readline())
                if isinstance(message.get("id"), int):
                    answers[message["id"]] = message
        assert "error" in answers[2]  # a protocol error for that request only
        assert answers[3]["result"]["structuredContent"] == {"items": []}
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
