"""The real `corral` in a real terminal (tmux), driven by keystrokes: /help, create a task,
see it running, quit. Checks what a person over SSH would see."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import unique

EXE = Path(sys.executable).parent / "corral"


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20)


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session).stdout


def wait_screen(session: str, *needles: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if all(n in text for n in needles):
            return text
        time.sleep(0.2)
    raise AssertionError(f"never saw {needles!r} on screen; last screen:\n{text}")


def test_corral_in_tmux(home: Path, repo: Path, tiny_image: str) -> None:
    session = unique("corral-tui")
    env = " ".join(
        f"{k}={shlex.quote(os.environ[k])}"
        for k in (
            "CORRAL_HOME",
            "CORRAL_CONFIG_DIR",
            "CORRAL_SANDBOX__MEMORY",
            "CORRAL_SANDBOX__CPUS",
        )
    )
    cmd = f"env TERM=xterm-256color {env} {shlex.quote(str(EXE))}"
    started = tmux(
        "new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(repo), cmd
    )
    assert started.returncode == 0, started.stderr
    try:
        wait_screen(session, "NAME", "engine ok", "0 running / 0 tasks")
        tmux("send-keys", "-t", session, "/")
        tmux("send-keys", "-t", session, "-l", "help")
        tmux("send-keys", "-t", session, "Enter")
        wait_screen(session, "List commands, or explain one.")

        tmux("send-keys", "-t", session, "/")
        tmux("send-keys", "-t", session, "-l", f"create-task in-tmux --image {tiny_image}")
        tmux("send-keys", "-t", session, "Enter")
        text = wait_screen(session, "in-tmux", "running", "1 running / 1 tasks", timeout=60)
        assert "corral/in-tmux" in text  # the branch column

        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and tmux("has-session", "-t", session).returncode == 0:
            time.sleep(0.2)
        assert tmux("has-session", "-t", session).returncode != 0, "corral did not quit on q"
    finally:
        tmux("kill-session", "-t", session)


def test_take_over_the_agent_terminal_and_hand_it_back(
    home: Path, tmp_path: Path, base_image: str
) -> None:
    """`a` suspends Corral and puts the person in the agent's tmux session inside the sandbox;
    ctrl-b d hands the terminal back to the agent and Corral resumes, the agent still running."""
    from tests.conftest import corral, make_repo
    from tests.test_agents import SCRIPT

    repo = make_repo(tmp_path / "takeover", {"scripted_agent.sh": SCRIPT})
    made = corral("create-task", "taken-over", "--image", base_image,
                  "--agent-cmd", "sh scripted_agent.sh", cwd=repo)  # fmt: skip
    assert made.returncode == 0, made.stderr
    session = unique("corral-takeover")
    env = " ".join(
        f"{k}={shlex.quote(os.environ[k])}" for k in ("CORRAL_HOME", "CORRAL_CONFIG_DIR")
    )
    cmd = f"env TERM=xterm-256color {env} {shlex.quote(str(EXE))}"
    assert (
        tmux(
            "new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(repo), cmd
        ).returncode
        == 0
    )
    try:
        wait_screen(session, "taken-over", "running", "engine ok")
        tmux("send-keys", "-t", session, "a")
        # The agent's own terminal: its output, and tmux's status line naming the session.
        inside = wait_screen(session, "agent: tick", "[agent]", timeout=30)
        assert "engine ok" not in inside  # Corral is suspended, not drawn over
        tmux("send-keys", "-t", session, "C-b", "d")
        wait_screen(session, "NAME", "engine ok", "taken-over", timeout=30)
        status = corral("--json", "task-status", "taken-over", cwd=repo)
        import json

        assert json.loads(status.stdout)["agent_running"] is True  # handed back, still running
        tmux("send-keys", "-t", session, "q")
    finally:
        tmux("kill-session", "-t", session)
