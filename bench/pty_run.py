"""Run a full-screen program in a pseudo-terminal of a fixed size and collect what it prints."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_TIMING = re.compile(r"([a-z_]+)=([0-9.]+)")


def spawn(
    argv: list[str], env: dict[str, str], cwd: Path, cols: int = 120, rows: int = 40
) -> tuple[int, subprocess.Popen[bytes]]:
    """Start `argv` on a new pseudo-terminal of cols x rows: (the master fd, the process)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True,
        start_new_session=True, env={**env, "TERM": "xterm-256color", "COLUMNS": str(cols),
                                     "LINES": str(rows)},
    )  # fmt: skip
    os.close(slave)
    return master, proc


def run_in_pty(
    argv: list[str], env: dict[str, str], cwd: Path, *, cols: int = 120, rows: int = 40,
    timeout: float = 60, done: bytes | None = None, grace: float = 3.0,
) -> tuple[float, str, bool]:  # fmt: skip
    """(wall ms from spawn to exit, output with escape codes removed, whether it had to be
    killed). Once `done` has been printed the program gets `grace` seconds to exit by itself."""
    start = time.perf_counter()
    master, proc = spawn(argv, env, cwd, cols, rows)
    out = bytearray()
    seen: float | None = None
    killed = False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                out += data
            elif proc.poll() is not None:
                break
            if done and seen is None and done in out:
                seen = time.perf_counter()
            if seen is not None and time.perf_counter() - seen > grace:
                killed = True
                break
            if time.perf_counter() - start > timeout:
                tail = ANSI.sub("", out.decode(errors="replace")).split()[-40:]
                raise TimeoutError(f"{argv[0]} did not exit within {timeout:.0f} s: {tail}")
        if not killed:
            proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    wall = (time.perf_counter() - start) * 1000
    return wall, ANSI.sub("", out.decode(errors="replace")), killed


def timings(text: str) -> dict[str, float]:
    """`first_frame_ms=123.4 ...` printed by the app when it exits."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if "first_frame_ms=" in line:
            found = {k: float(v) for k, v in _TIMING.findall(line)}
    return found
