"""Agents in sandboxes with a scripted stand-in agent (tests/agents/scripted_agent.sh)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from backend import agents
from backend.models import AgentState, TaskState
from backend.service import TaskService
from tests.conftest import ROOT, git, make_repo

SCRIPT = (ROOT / "tests" / "agents" / "scripted_agent.sh").read_text()


def agent_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "agent-repo", {"scripted_agent.sh": SCRIPT, "README.md": "x\n"})


async def wait_for_log(svc: TaskService, task: str, text: str, timeout: float = 15) -> list[str]:
    lines: list[str] = []
    for _ in range(int(timeout / 0.2)):
        lines = [ln.text for ln in await svc.logs(task)]
        if any(text in ln for ln in lines):
            return lines
        await asyncio.sleep(0.2)
    raise AssertionError(f"{text!r} never showed in the log; last lines: {lines[-5:]}")


async def test_agent_in_tmux_lifecycle(
    service: TaskService, tmp_path: Path, base_image: str
) -> None:
    repo = agent_repo(tmp_path)
    task = await service.create_task("agented", repo=str(repo), image=base_image,
                                     agent_cmd="sh scripted_agent.sh")  # fmt: skip
    assert task.agent_state == AgentState.RUNNING
    await wait_for_log(service, "agented", "agent: committed")
    await wait_for_log(service, "agented", "agent: tick 3")
    status = await service.status("agented")
    assert status.agent_running
    assert status.takeover == agents.takeover_argv(task.container_id or "")
    assert git(repo, "log", "-1", "--format=%s", task.branch) == "agent: fix"  # synced home
    # The agent lives in tmux: a person can take over its terminal.
    tm = await service.exec("agented", "tmux -L corral list-sessions -F '#{session_name}'")
    assert tm.output.strip() == "agent"

    detached = await service.detach_agent("agented")
    assert detached.agent_state == AgentState.DETACHED and detached.spec.agent_cmd is None
    assert not (await service.status("agented")).agent_running

    await service.attach_agent("agented", "shell", None)  # a preset this time
    assert (await service.status("agented")).agent_running

    stopped = await service.stop_task("agented")
    assert stopped.agent_state == AgentState.STOPPED
    resumed = await service.resume_task("agented")
    assert resumed.state == TaskState.RUNNING and resumed.agent_state == AgentState.RUNNING
    assert (await service.status("agented")).agent_running


async def test_agent_without_tmux_falls_back_and_logs_rotate(
    service: TaskService, tmp_path: Path, tiny_image: str
) -> None:
    service.settings.logs.max_bytes = 2000  # tiny rotation threshold for the test
    repo = agent_repo(tmp_path)
    task = await service.create_task("plain", repo=str(repo), image=tiny_image,
                                      agent_cmd="sh scripted_agent.sh")  # fmt: skip
    await wait_for_log(service, "plain", "agent: starting as 1000")
    await wait_for_log(service, "plain", "agent: tick 60", timeout=30)
    logs = service.log_dir(task)
    assert (logs / "agent.log.1").exists()  # rotated by the in-sandbox logger
    assert sum(p.stat().st_size for p in logs.glob("agent.log*")) < 3 * 2000 + 500  # bounded
    assert (await service.status("plain")).agent_running
    await service.detach_agent("plain")
    st = await service.status("plain")
    assert not st.agent_running


async def test_agent_output_outlives_the_task(
    service: TaskService, tmp_path: Path, tiny_image: str
) -> None:
    repo = agent_repo(tmp_path)
    await service.create_task(
        "short", repo=str(repo), image=tiny_image, agent_cmd="echo done-and-gone"
    )
    await wait_for_log(service, "short", "done-and-gone")
    await wait_for_log(service, "short", "agent exited with code 0")
    await service.stop_task("short")
    await service.cleanup_task("short")
    lines = [ln.text for ln in await service.logs("short")]
    assert "done-and-gone" in lines  # readable after cleanup


def test_tmux_is_available_for_terminal_tests() -> None:
    assert shutil.which("tmux")
