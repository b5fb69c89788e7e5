"""The MCP tool layer without a transport: schemas from the registry, argument checks, output
caps, the HTTP token file. (Sessions over stdio and HTTP are in test_mcp_stdio/test_mcp_http.)"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from backend.commands.registry import commands
from backend.errors import UsageError
from backend.mcp_server import calls, http, tools
from backend.models import ExecResult
from tests.conftest import corral

ISSUE_TOOLS = {
    "create_task_sandbox", "attach_agent_to_task", "detach_agent_from_task", "execute_in_task",
    "list_tasks", "get_task_status", "stop_task", "delete_task", "task_logs", "record_decision",
}  # fmt: skip
CHECKPOINT_TOOLS = {"checkpoint_task", "restore_checkpoint", "list_checkpoints", "task_diff"}


def test_every_registry_command_with_an_mcp_name_is_a_tool() -> None:
    expected = {c.mcp_name for c in commands() if c.mcp_name}
    listed = {t.name for t in tools.all_tools()}
    assert listed == expected
    assert listed >= ISSUE_TOOLS


def test_input_schemas_use_the_cli_argument_names() -> None:
    by_name = {t.name: t for t in tools.all_tools()}
    create = by_name["create_task_sandbox"].input_schema
    assert {"name", "repo", "image", "request_id", "agent", "memory"} <= set(create["properties"])
    assert create["required"] == ["name"]
    exec_props = by_name["execute_in_task"].input_schema["properties"]
    assert set(exec_props) == {"task", "command", "timeout"}
    assert {"type": "string"} in exec_props["command"]["anyOf"]
    logs = by_name["task_logs"].input_schema
    assert "follow" not in logs["properties"]  # CLI-only: a tool call cannot stream forever
    assert {"task", "grep", "tail", "since"} <= set(logs["properties"])
    for t in by_name.values():
        assert t.input_schema["type"] == "object"
        assert t.input_schema["additionalProperties"] is False
        for prop in t.input_schema["properties"].values():
            assert "positional" not in prop and "complete" not in prop


def test_descriptions_carry_the_summary_and_an_example_in_mcp_arguments() -> None:
    desc = {t.name: t.description or "" for t in tools.all_tools()}
    assert desc["execute_in_task"].startswith("Run a command in a task's sandbox")
    example = 'Example arguments: {"task": "fix-login", "command": "pytest -q"}'
    assert example in desc["execute_in_task"]
    assert "CLI: corral create-task" in desc["create_task_sandbox"]


def test_list_results_are_wrapped_in_an_object_schema() -> None:
    out = {t.name: t.output_schema for t in tools.all_tools()}
    assert out["list_tasks"] is not None
    assert out["list_tasks"]["type"] == "object"
    assert out["list_tasks"]["properties"]["items"]["type"] == "array"
    assert tools.structured([]) == {"items": []}


def test_unknown_and_malformed_arguments_are_one_line_usage_errors() -> None:
    cmd = tools.mcp_commands()["execute_in_task"]
    with pytest.raises(UsageError, match=r"unknown argument 'comand'; did you mean 'command'\?"):
        calls.validate(cmd, {"task": "x", "comand": "ls"})
    with pytest.raises(UsageError, match=r"execute_in_task: command: Field required"):
        calls.validate(cmd, {"task": "x"})
    with pytest.raises(UsageError, match=r"execute_in_task: timeout: "):
        calls.validate(cmd, {"task": "x", "command": "ls", "timeout": "soon"})
    logs = tools.mcp_commands()["task_logs"]
    with pytest.raises(UsageError, match="unknown argument 'follow'"):
        calls.validate(logs, {"task": "x", "follow": True})


def _exec(output: str, truncated: bool = False) -> ExecResult:
    return ExecResult(task_id="t", command="c", exit_code=0, output=output, duration_ms=1,
                      truncated=truncated)  # fmt: skip


def test_exec_output_is_capped_with_a_visible_marker() -> None:
    small = _exec("ok\n")
    assert calls.cap_output(small, 1024) is small
    big = _exec("".join(f"line {i}\n" for i in range(10_000)))
    capped = calls.cap_output(big, 1024)
    assert capped.truncated
    assert capped.output.startswith("[corral: output truncated: showing the last ")
    body = capped.output.split("\n", 1)[1]
    assert len(body.encode()) <= 1024
    assert body.startswith("line ") and body.endswith("line 9999\n")  # whole lines, the tail
    # The service already dropped the head (over its own cap): say so even when short now.
    assert calls.cap_output(_exec("tail\n", truncated=True), 1024).output.startswith("[corral:")


def test_token_is_generated_once_with_mode_0600(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(http.TOKEN_ENV, raising=False)
    first = http.load_token()
    path = home / "mcp-token"
    assert first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.value) >= 32
    assert http.load_token().value == first.value
    monkeypatch.setenv(http.TOKEN_ENV, "from-env")
    assert http.load_token() == http.Token("from-env", "$CORRAL_MCP_TOKEN")


def test_loopback_detection() -> None:
    assert http.is_loopback("127.0.0.1") and http.is_loopback("::1")
    assert http.is_loopback("localhost")
    assert not http.is_loopback("0.0.0.0") and not http.is_loopback("192.168.1.4")


def test_non_loopback_host_needs_allow_remote(home: Path) -> None:
    r = corral("mcp", "--http", "--host", "0.0.0.0", "--port", "0", timeout=30)
    assert r.returncode == 2
    assert "add --allow-remote" in r.stderr
    assert not (home / "mcp-token").exists()  # refused before anything was made
    bad = corral("mcp", "--port", "9", timeout=30)
    assert bad.returncode == 2 and "need --http" in bad.stderr


async def test_any_failure_becomes_a_tool_error_and_the_runner_goes_on(home: Path) -> None:
    from backend.service import TaskService

    svc = await TaskService.open(home)
    runner = calls.ToolRunner(svc, home)
    assert (await runner.call("list_tasks", {})).structured_content == {"items": []}
    await svc.close()  # the store is gone under the runner: a failure it did not plan for
    broken = await runner.call("list_tasks", {})
    assert broken.is_error
    assert broken.content[0].text.startswith("corral: ")  # type: ignore[union-attr]
    svc2 = await TaskService.open(home)
    runner.service = svc2
    try:
        assert not (await runner.call("list_tasks", {})).is_error
    finally:
        await svc2.close()
