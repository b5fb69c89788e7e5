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
