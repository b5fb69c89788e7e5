"""Agents: long-running processes inside a task's sandbox that outlive every Corral process.

Mechanism (documented in docs/agents.md):
- Corral writes /corral/agent.sh (the command) and /corral/logger.awk into the task's box dir,
  which is mounted at /corral. agent.sh records its process group and, on exit, its exit code.
- With tmux in the image, the agent runs in tmux session `agent` on socket `corral`
  (`tmux -L corral`); `pipe-pane` feeds its output to the awk logger. A person takes over with
  `docker exec -it <container> tmux -L corral attach -t agent` and hands back with ctrl-b d.
- Without tmux, it runs under `setsid` in a detached exec, piped to the same logger. Takeover is
  then read-only (follow the logs) plus a separate shell.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from backend import sandbox
from backend.errors import CorralError, UsageError
from backend.tasklog import AWK_LOGGER

BOX = "/corral"
TMUX = ["tmux", "-L", "corral"]
SESSION = "agent"


def resolve(
    preset: str | None, command: str | None, presets: dict[str, str]
) -> tuple[str | None, str]:
    """(preset name or None, command to run) from --agent / --agent-cmd."""
    if preset and command:
        raise UsageError("give either an agent preset or --agent-cmd, not both")
    if command:
        if not command.strip():
            raise UsageError("--agent-cmd is empty; give the command the agent runs")
        return None, command
    if not preset:
        raise UsageError(f"name an agent preset ({', '.join(sorted(presets))}) or give --agent-cmd")
    if preset not in presets:
        raise UsageError(
            f"unknown agent preset {preset!r}; choose one of {', '.join(sorted(presets))} "
            "or give --agent-cmd"
        )
    return preset, presets[preset]


def write_scripts(box: Path, command: str, uid: int, *, max_bytes: int, keep: int) -> None:
    box.mkdir(parents=True, exist_ok=True)
    (box / "logs").mkdir(exist_ok=True)
    script = (
        "#!/bin/sh\n"
        "# Written by Corral: the task's agent. Records its process group, then its exit code.\n"
        "set -- $(cat /proc/$$/stat)\n"
        f'echo "$5" > {BOX}/agent.pgid\n'
        f"rm -f {BOX}/agent.exit\n"
        "cd /workspace\n"
        f"{command}\n"
        "code=$?\n"
        f'echo "$code" > {BOX}/agent.exit\n'
        'echo "[corral] agent exited with code $code"\n'
    )
    (box / "agent.sh").write_text(script)
    (box / "agent.sh").chmod(0o755)
    (box / "logger.awk").write_text(AWK_LOGGER)
    for name in ("agent.exit", "agent.pgid"):
        (box / name).unlink(missing_ok=True)
    args = f"-v f={BOX}/logs/agent.log -v src=agent -v max={max_bytes} -v keep={keep} -f {BOX}/logger.awk"
    # mawk (Debian's awk) reads a pipe in 4 KiB blocks unless told -W interactive; lines would
    # sit in its buffer. Other awks read line by line and may not know that flag.
    logger = (
        "#!/bin/sh\n"
        "if awk -W version 2>&1 | grep -q mawk; then\n"
        f"  exec awk -W interactive {args}\n"
        "fi\n"
        f"exec awk {args}\n"
    )
    (box / "logger.sh").write_text(logger)
    (box / "logger.sh").chmod(0o755)
    if os.geteuid() == 0 and uid:
        for p in (box, box / "logs", *box.iterdir(), *(box / "logs").iterdir()):
            os.chown(p, uid, uid)


def has_tmux(container_id: str, user: str | None) -> bool:
    out = sandbox.exec_run(container_id, ["sh", "-c", "command -v tmux"], user=user, timeout=20)
    return out.exit_code == 0


def launch(container_id: str, user: str | None, *, use_tmux: bool) -> None:
    if use_tmux:
        # The pane waits on a tmux channel until pipe-pane is attached: no early line is lost.
        script = (
            f"{shlex.join(TMUX)} kill-session -t {SESSION} 2>/dev/null; "
            f"{shlex.join(TMUX)} new-session -d -s {SESSION} -x 200 -y 50 "
            f"'{shlex.join(TMUX)} wait-for go-{SESSION}; exec sh {BOX}/agent.sh' && "
            f"{shlex.join(TMUX)} pipe-pane -t {SESSION} -o 'exec sh {BOX}/logger.sh' && "
            f"{shlex.join(TMUX)} wait-for -S go-{SESSION}"
        )
        out = sandbox.exec_run(container_id, ["sh", "-c", script], user=user, timeout=30)
        if out.exit_code != 0:
            raise CorralError(
                f"could not start the agent in tmux: {out.output.decode(errors='replace').strip()}"
            )
    else:
        sandbox.exec_run(
            container_id,
            ["setsid", "sh", "-c", f"sh {BOX}/agent.sh 2>&1 | sh {BOX}/logger.sh"],
            user=user,
            detach=True,
        )


def is_running(box: Path, container_id: str | None, user: str | None) -> bool:
    if not container_id or (box / "agent.exit").exists():
        return False
    pgid = _pgid(box)
    if pgid is None:
        return (box / "agent.sh").exists()  # launched a moment ago, not yet recorded
    # Through sh: procps' /bin/kill reads "-77" as a signal number, not a process group.
    out = sandbox.exec_run(container_id, ["sh", "-c", f"kill -0 -{pgid}"], user=user, timeout=10)
    return out.exit_code == 0


def exit_code(box: Path) -> int | None:
    try:
        return int((box / "agent.exit").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _pgid(box: Path) -> int | None:
    try:
        return int((box / "agent.pgid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def wait_started(box: Path, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and _pgid(box) is None and not (box / "agent.exit").exists():
        time.sleep(0.05)


def stop(box: Path, container_id: str, user: str | None, grace: float = 3.0) -> None:
    """TERM the agent's process group, KILL it after `grace`, close its tmux session."""
    pgid = _pgid(box)
    if pgid:
        script = (
            f"kill -TERM -{pgid} 2>/dev/null; i=0; "
            f"while kill -0 -{pgid} 2>/dev/null && [ $i -lt {int(grace * 10)} ]; do "
            "sleep 0.1; i=$((i+1)); done; "
            f"kill -KILL -{pgid} 2>/dev/null; true"
        )
        sandbox.exec_run(container_id, ["sh", "-c", script], user=user, timeout=grace + 10)
    sandbox.exec_run(
        container_id,
        ["sh", "-c", f"{shlex.join(TMUX)} kill-server 2>/dev/null; true"],
        user=user,
        timeout=10,
    )
    (box / "agent.pgid").unlink(missing_ok=True)


def takeover_argv(container_id: str) -> list[str]:
    """The command a person runs to take over the agent's terminal (ctrl-b d hands it back)."""
    return ["docker", "exec", "-it", container_id, *TMUX, "attach", "-t", SESSION]
