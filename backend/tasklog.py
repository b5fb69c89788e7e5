"""A task's log: agent output and the output of every command Corral runs, kept on the host.

Layout of a task's box dir (mounted at /corral in the sandbox):
  logs/agent.log   written *inside* the sandbox by an awk pipe (so it keeps going when no Corral
                   process runs), rotated to agent.log.1, .2 by that same pipe
  logs/exec.log    written by whichever Corral process ran a command (exec), rotated likewise
  logs/corral.log  lifecycle notes Corral adds (started, stopped, restored ...)
Every line is `<ISO time>\t<source>\t<text>`. Readers merge the files by time.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from backend.models import LogLine

SOURCES = ("agent", "exec", "corral")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\r")
_lock = threading.Lock()

# awk keeps the agent log inside the sandbox: stamp, flush, rotate. mawk, gawk and busybox awk
# all have strftime and fflush.
AWK_LOGGER = r"""
# Timestamps to the centisecond (awk's systime() has whole seconds, which would misorder agent
# lines against Corral's own when logs are merged): wall clock = boot time + /proc/uptime, with
# the boot time taken once from `date +%s.%N` (whole seconds where date lacks %N).
function clock(   up, u) {
    getline up < "/proc/uptime"; close("/proc/uptime"); split(up, u, " ")
    return u[1] + 0
}
BEGIN {
    n = 0; cmd = "wc -c < " f " 2>/dev/null"; if ((cmd | getline sz) > 0) n = sz + 0; close(cmd)
    d = "date +%s.%N"; now = ""; d | getline now; close(d)
    if (now !~ /^[0-9]+\.[0-9]+$/) now = systime()
    boot = now - clock()
}
{
    t = boot + clock(); sec = int(t); cs = int((t - sec) * 100)
    line = strftime("%Y-%m-%dT%H:%M:%S", sec, 1) sprintf(".%02d0000+00:00", cs) "\t" src "\t" $0
    print line >> f; fflush(f); n += length(line) + 1
    if (n > max) {
        close(f)
        for (i = keep; i > 1; i--) system("mv -f " f "." (i - 1) " " f "." i " 2>/dev/null")
        system("mv -f " f " " f ".1"); n = 0
    }
}
"""


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def stamp(dt: datetime | None = None) -> str:
    return (dt or datetime.now(UTC)).isoformat(timespec="microseconds")


@dataclass
class LogWriter:
    """Host-side appender for exec.log / corral.log, rotating like the in-sandbox awk."""

    path: Path
    max_bytes: int = 8 * 1024 * 1024
    keep: int = 2

    def write_lines(self, source: str, lines: Iterable[str]) -> None:
        now = stamp()
        data = "".join(f"{now}\t{source}\t{line}\n" for line in lines)
        if not data:
            return
        with _lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8", errors="replace") as fh:
                fh.write(data)
                size = fh.tell()
            if size > self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        for i in range(self.keep, 1, -1):
            older = self.path.with_name(f"{self.path.name}.{i - 1}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{i}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))


def parse_line(raw: str) -> LogLine | None:
    parts = raw.rstrip("\n").split("\t", 2)
    if len(parts) != 3:
        return None
    try:
        when = datetime.fromisoformat(parts[0])
    except ValueError:
        return None
    return LogLine(time=when, source=parts[1], text=strip_ansi(parts[2]))


def _files(log_dir: Path) -> list[Path]:
    out: list[Path] = []
    for src in SOURCES:
        base = log_dir / f"{src}.log"
        rotated = sorted(log_dir.glob(f"{src}.log.*"), key=lambda p: -int(p.suffix[1:] or 0))
        out.extend(p for p in rotated if p.suffix[1:].isdigit())
        out.append(base)
    return out


def read(
    log_dir: Path,
    *,
    since: datetime | None = None,
    grep: str | None = None,
    limit: int | None = None,
    redact: Iterable[str] = (),
) -> list[LogLine]:
    """All kept lines, merged by time (stable: within one second agent lines keep order)."""
    pattern = re.compile(grep) if grep else None
    secrets = [s for s in redact if len(s) >= 4]
    lines: list[LogLine] = []
    for path in _files(log_dir):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for raw in fh:
                    line = parse_line(raw)
                    if line is None or (since and line.time < since):
                        continue
                    line = _redacted(line, secrets)
                    if pattern and not pattern.search(line.text):
                        continue
                    lines.append(line)
        except FileNotFoundError:
            continue
    lines.sort(key=lambda ln: ln.time)
    return lines[-limit:] if limit else lines


def _redacted(line: LogLine, secrets: list[str]) -> LogLine:
    text = line.text
    for s in secrets:
        if s in text:
            text = text.replace(s, "***")
    return line if text is line.text else line.model_copy(update={"text": text})


@dataclass
class _Cursor:
    inode: int = -1
    offset: int = 0
    partial: str = ""


@dataclass
class Follower:
    """Tails a task's live log files; survives rotation. Call `poll()` to get new lines."""

    log_dir: Path
    redact: list[str] = field(default_factory=list)
    grep: str | None = None
    _cursors: dict[str, _Cursor] = field(default_factory=dict)

    def skip_existing(self) -> None:
        for src in SOURCES:
            path = self.log_dir / f"{src}.log"
            try:
                st = path.stat()
            except FileNotFoundError:
                self._cursors[src] = _Cursor(-1, 0)
                continue
            self._cursors[src] = _Cursor(st.st_ino, st.st_size)

    def poll(self) -> list[LogLine]:
        pattern = re.compile(self.grep) if self.grep else None
        out: list[LogLine] = []
        for src in SOURCES:
            out.extend(self._poll_one(src))
        out.sort(key=lambda ln: ln.time)
        secrets = [s for s in self.redact if len(s) >= 4]
        out = [_redacted(ln, secrets) for ln in out]
        return [ln for ln in out if not pattern or pattern.search(ln.text)]

    def _poll_one(self, src: str) -> list[LogLine]:
        path = self.log_dir / f"{src}.log"
        cur = self._cursors.setdefault(src, _Cursor())
        try:
            st = path.stat()
        except FileNotFoundError:
            return []
        chunks: list[str] = []
        if st.st_ino != cur.inode:
            if cur.inode != -1:  # rotated: finish the old file first
                chunks.append(self._read_rest(path.with_name(path.name + ".1"), cur))
            cur.inode, cur.offset = st.st_ino, 0
        elif st.st_size < cur.offset:  # truncated
            cur.offset = 0
        if st.st_size > cur.offset:
            with open(path, encoding="utf-8", errors="replace") as fh:
                fh.seek(cur.offset)
                chunks.append(fh.read())
                cur.offset = fh.tell()
        text = cur.partial + "".join(chunks)
        complete, _, cur.partial = text.rpartition("\n")
        return [ln for raw in complete.splitlines() if (ln := parse_line(raw))]

    @staticmethod
    def _read_rest(path: Path, cur: _Cursor) -> str:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                if os.fstat(fh.fileno()).st_ino != cur.inode:
                    return ""
                fh.seek(cur.offset)
                return fh.read()
        except FileNotFoundError:
            return ""
