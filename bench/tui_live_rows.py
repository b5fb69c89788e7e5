"""The TUI while it runs: its idle CPU with N running sandboxes, and key-to-frame while a log
streams. `corral` (no arguments: the TUI) runs in a 120x40 pseudo-terminal whose output a
thread drains all the time (a full pty would block the app's writes).

Idle CPU: N tasks whose agents print a line a second; the TUI selects the first one (follows
its log and resource samples). After a settle time the process's CPU over a window is read from
/proc/<pid>/stat (utime + stime, + cutime + cstime of reaped children; clock ticks): percent of
one core. Baselines, each alternated with Corral: `docker stats C1..CN` on the same containers
in the same pty (the raw way to watch them) and a bare Textual app doing nothing
(bench.tui_floor idle), both measured the same way.

Key-to-frame: one task printing ~2.5k lines/s (log_rows.agent_cmd). Once its lines show, `/`
focuses the command bar, then characters that occur nowhere else on screen (Cyrillic А, Б, ...)
are typed one at a time; a key's time is from os.write of the key to the first pty output,
read after the write, that holds that character. The app's CORRAL_TUI_REPORT file says how many
log lines its log follower received: all of them must arrive. The baseline is a bare Textual
Input (bench.tui_floor input) typed into the same way, with no stream."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend import paths
from backend.models import Task
from bench.env import TINY_IMAGE, BenchEnv, corral_exe, discard, image_present, make_repo
from bench.harness import Row, alternate
from bench.log_rows import PER_BATCH, agent_cmd
from bench.plan import Plan
from bench.pty_run import ANSI, spawn

ROOT = Path(__file__).resolve().parent.parent
TICK_CMD = "while true; do echo tick; sleep 1; done"
QUIET_CMD = "sleep 86400"  # an agent thinking: running, printing nothing
IDLE_TARGET = "< 1 % of a core (20 running sandboxes)"
KEY_TARGET = "p95 <= 50 ms, no line lost"
KEYS = [chr(c) for c in range(ord("А"), ord("Я") + 1)]  # Cyrillic: never in the log or chrome
KEY_GAP = 0.08  # seconds between one key's echo and the next key
ECHO_TIMEOUT = 2.0  # a key not echoed by then counts as this long (and fails the row)
STREAM_LINE = re.compile(r"L \d{19} \d+")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class PtyApp:
    """A program in a pseudo-terminal of a fixed size; a thread reads (and keeps) its output,
    decoded, with the time each chunk arrived."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path,
                 cols: int = 120, rows: int = 40) -> None:  # fmt: skip
        self.master, self.proc = spawn(argv, env, cwd, cols, rows)
        self.chunks: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        self._stop = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            now = time.perf_counter()
            if not data:
                break
            text = decoder.decode(data)
            with self.cond:
                self.chunks.append((now, text))
                self.cond.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def mark(self) -> int:
        with self.cond:
            return len(self.chunks)

    def write(self, data: bytes) -> tuple[int, float]:
        """(index of the first chunk that can hold the answer, time of the write)."""
        at = self.mark()
        t = time.perf_counter()
        os.write(self.master, data)
        return at, t

    def wait_for(self, found: Callable[[str], bool], start: int, timeout: float) -> float | None:
        """Arrival time of the first chunk from `start` on for which found(text so far, from
        `start`) holds; None after timeout."""
        deadline = time.perf_counter() + timeout
        seen = ""
        i = start
        with self.cond:
            while True:
                while i < len(self.chunks):
                    when, text = self.chunks[i]
                    seen = seen[-400:] + text
                    i += 1
                    if found(seen):
                        return when
                left = deadline - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.cond.wait(left)

    def text(self, start: int = 0) -> str:
        with self.cond:
            return ANSI.sub("", "".join(t for _, t in self.chunks[start:]))

    def cpu_seconds(self) -> float:
        """utime + stime (+ reaped children's) of the process so far."""
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / CLK_TCK

    def stop(self, keys: bytes | None, sig: int | None = None, timeout: float = 5) -> bool:
        """Ask it to end (keys written or a signal); kill after `timeout`. True if killed."""
        killed = False
        with contextlib.suppress(OSError):
            if keys is not None:
                os.write(self.master, keys)
            if sig is not None:
                self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            self.proc.kill()
            self.proc.wait()
        self._stop = True
        self._reader.join(timeout=2)
        os.close(self.master)
        return killed

    def __enter__(self) -> PtyApp:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self._stop:
            self._stop = True
            self._reader.join(timeout=2)
            with contextlib.suppress(OSError):
                os.close(self.master)


def cpu_window(app: PtyApp, settle: float, window: float) -> float:
    """Percent of one core the program used over `window` seconds, after `settle`."""
    time.sleep(settle)
    if app.proc.poll() is not None:
        raise RuntimeError(f"{app.proc.args!r} exited early: {app.text()[-300:]!r}")
    cpu0, t0 = app.cpu_seconds(), time.perf_counter()
    time.sleep(window)
    cpu, wall = app.cpu_seconds() - cpu0, time.perf_counter() - t0
    return cpu / wall * 100


# -- idle CPU --------------------------------------------------------------------------------


async def _create(
    env: BenchEnv, repo: Path, image: str, prefix: str, n: int, cmd: str
) -> list[Task]:
    """n tasks with an agent, created concurrently (sequentially what failed that way)."""
    svc = env.service()

    async def one(i: int) -> Task:
        name = f"bench-{prefix}{i}-{uuid.uuid4().hex[:4]}"
        return await svc.create_task(name, repo=str(repo), image=image, agent_cmd=cmd)

    got = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    tasks = [t for t in got if isinstance(t, Task)]
    failed = [i for i, t in enumerate(got) if not isinstance(t, Task)]
    if failed:
        print(f"bench: {len(failed)} concurrent create(s) failed ({got[failed[0]]!r}"[:200]
              + "); creating them one by one", file=sys.stderr)  # fmt: skip
    for i in failed:
        tasks.append(await one(i))
    return tasks


async def _idle_rows(
    env: BenchEnv, plan: Plan, repo: Path, image: str, quiet: bool = False
) -> list[Row]:
    """Agents printing a line a second (the TUI follows the selected one), or, with `quiet`,
    agents that print nothing (compared with `docker stats` only)."""
    svc = env.service()
    img = TINY_IMAGE if image_present(TINY_IMAGE) else image
    n, window, settle = plan.tui_idle_sandboxes, plan.tui_idle_window, plan.tui_idle_settle
    tasks = await _create(env, repo, img, "quiet" if quiet else "idle", n,
                          QUIET_CMD if quiet else TICK_CMD)  # fmt: skip
    ids = [t.container_id or "" for t in tasks]
    killed: list[str] = []
    try:

        def measured(argv: list[str], cwd: Path, keys: bytes | None, sig: int | None) -> float:
            with PtyApp(argv, env.env(), cwd) as app:
                value = cpu_window(app, settle, window)
                if app.stop(keys, sig):
                    killed.append(argv[-1])
            return value

        async def corral(i: int) -> float:
            return await asyncio.to_thread(measured, [corral_exe()], repo, b"q", None)

        async def docker_stats(i: int) -> float:
            # In a terminal it ignores INT and TERM (seen: 5 s, then killed); a hang-up ends it.
            argv = ["docker", "stats", *ids]
            return await asyncio.to_thread(measured, argv, repo, None, signal.SIGHUP)

        async def floor(i: int) -> float:
            argv = [sys.executable, "-m", "bench.tui_floor", "idle"]
            return await asyncio.to_thread(measured, argv, ROOT, b"q", None)

        ours, stats = await alternate(plan.tui_idle_windows, corral, docker_stats)
        ours2, bare = ([], []) if quiet else await alternate(plan.tui_idle_windows, corral, floor)
    finally:
        await asyncio.gather(*(discard(svc, t.id) for t in tasks))

    def judged(r: Row) -> bool | None:
        if r.p50 >= 1.0:
            return False
        return True if n >= 20 else None

    how = (f"{settle:.0f} s after start, {window:.0f} s windows, CPU from /proc/<pid>/stat "
           f"(ticks of {1000 / CLK_TCK:.0f} ms); "
           f"{'agents print nothing' if quiet else 'agents print 1 line/s'}; Corral: all "
           f"{len(ours) + len(ours2)} windows (alternated with both baselines)")  # fmt: skip
    if killed:
        how += f"; {len(killed)} run(s) did not exit within 5 s of their stop ({killed[0]})"
    what = (
        f"idle CPU, {n} running sandboxes, {'quiet agents' if quiet else 'agents print 1 line/s'}"
    )
    stats_row = Row("tui-live", what,
            "`docker stats C1..CN` in the same pty (one process)", unit="%core",
            corral=ours + ours2, base=stats, target=IDLE_TARGET, check=judged,
            note=f"`corral` TUI in a 120x40 pty, first task selected (log + samples); {how}; "
            "the engine's CPU is on neither side")  # fmt: skip
    if quiet:
        return [stats_row]
    return [
        stats_row,
        Row("tui-live", what,
            "bare Textual app idle (DataTable + Footer)", unit="%core",
            corral=ours + ours2, base=bare, target=IDLE_TARGET, check=judged,
            note="the floor: what any Textual app costs doing nothing"),
    ]  # fmt: skip


# -- key-to-frame ----------------------------------------------------------------------------


@dataclass
class Keys:
    """One round of typing: per-key times and what went wrong."""

    ms: list[float] = field(default_factory=list)
    missing: int = 0
    sent_wall: list[float] = field(default_factory=list)  # time.time() of each key's write


def _holds(ch: str) -> Callable[[str], bool]:
    return lambda text: ch in text


def type_keys(app: PtyApp, chars: list[str]) -> Keys:
    got = Keys()
    for ch in chars:
        got.sent_wall.append(time.time())
        at, t = app.write(ch.encode())
        when = app.wait_for(_holds(ch), at, ECHO_TIMEOUT)
        if when is None:
            got.missing += 1
            got.ms.append(ECHO_TIMEOUT * 1000)
        else:
            got.ms.append((when - t) * 1000)
        time.sleep(KEY_GAP)
    return got


@dataclass
class Round:
    keys: Keys
    expected: int
    report: dict[str, Any]
    in_files: int  # lines in the task's log files (agent + Corral's own) at the end
    keys_in_stream: int
    killed: bool = False
    problems: list[str] = field(default_factory=list)


def _last_stamp(log: Path, last: int) -> float | None:
    """Writer's time (s) of the stream's last line once it is in the log, else None."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 8192))
            tail = fh.read().decode(errors="replace")
    except OSError:
        return None
    m = re.search(rf"L (\d{{19}}) {last}\r?\n", tail)  # tmux pipes keep the \r
    return int(m.group(1)) / 1e9 if m else None


def _lines_in(log_dir: Path) -> int:
    total = 0
    for f in log_dir.glob("*.log*"):
        with contextlib.suppress(OSError), open(f, "rb") as fh:
            total += sum(1 for _ in fh)
    return total


def corral_round(env: BenchEnv, repo: Path, task: Task, chars: list[str], seconds: float,
                 report: Path) -> Round:  # fmt: skip
    log_dir = paths.log_dir(env.home, task.id)
    expected = int(seconds * 10) * PER_BATCH
    problems: list[str] = []
    e = {**env.env(), "CORRAL_TUI_REPORT": str(report)}
    with PtyApp([corral_exe()], e, repo) as app:
        if app.wait_for(lambda s: STREAM_LINE.search(ANSI.sub("", s)) is not None, 0, 20) is None:
            problems.append("no log line on screen within 20 s before typing")
        app.write(b"/")
        time.sleep(0.3)
        keys = type_keys(app, chars)
        app.write(b"\x1b")
        deadline = time.monotonic() + seconds * 3 + 20
        end = _last_stamp(log_dir / "agent.log", expected)
        while end is None and time.monotonic() < deadline:
            time.sleep(0.2)
            end = _last_stamp(log_dir / "agent.log", expected)
        if end is None:
            problems.append(f"the agent had not printed line {expected} within the deadline")
        last = re.compile(rf"L \d{{19}} {expected}(?!\d)")
        mark = max(0, app.mark() - 5)
        if app.wait_for(lambda s: last.search(ANSI.sub("", s)) is not None, mark, 3) is None:
            problems.append("the stream's last line did not show within 3 s of being written")
        time.sleep(0.5)  # the follower reads every 30-150 ms
        killed = app.stop(b"q")
    try:
        got = json.loads(report.read_text())
    except (OSError, ValueError) as exc:
        got = {}
        problems.append(f"no report from the app ({exc.__class__.__name__})")
    in_stream = sum(1 for w in keys.sent_wall if end is not None and w <= end)
    return Round(keys, expected, got, _lines_in(log_dir), in_stream, killed, problems)


def floor_round(env: BenchEnv, chars: list[str]) -> Keys:
    argv = [sys.executable, "-m", "bench.tui_floor", "input"]
    with PtyApp(argv, env.env(), ROOT) as app:
        if app.wait_for(lambda s: len(s) > 0, 0, 20) is None:
            raise RuntimeError(f"the bare Textual app printed nothing: {app.text()[-300:]!r}")
        time.sleep(1.0)
        keys = type_keys(app, chars)
        app.write(b"\x1b")
        time.sleep(0.2)
        app.stop(b"q")
    return keys


async def _key_row(env: BenchEnv, plan: Plan, repo: Path, image: str) -> Row:
    svc = env.service()
    seconds = plan.log_seconds
    chars = KEYS[: plan.tui_keys]
    rounds: list[Round] = []
    bare: list[Keys] = []

    async def corral(i: int) -> float:
        name = f"bench-keys{i}-{uuid.uuid4().hex[:4]}"
        task = await svc.create_task(
            name, repo=str(repo), image=image, agent_cmd=agent_cmd(int(seconds * 10))
        )
        try:
            report = env.root / f"tui-report-{i}.json"
            rounds.append(
                await asyncio.to_thread(corral_round, env, repo, task, chars, seconds, report)
            )
        finally:
            await discard(svc, task.id)
        return 0.0

    async def floor(i: int) -> float:
        bare.append(await asyncio.to_thread(floor_round, env, chars))
        return 0.0

    await alternate(plan.tui_key_rounds, corral, floor)
    expected = sum(r.expected for r in rounds)
    read = sum(int(r.report.get("log_lines_read", 0)) for r in rounds)
    shown = sum(int(r.report.get("log_lines_shown", 0)) for r in rounds)
    in_files = sum(r.in_files for r in rounds)
    missing = sum(r.keys.missing for r in rounds)
    lost = any(int(r.report.get("log_lines_read", 0)) < r.expected for r in rounds)
    keys_total = len(chars) * len(rounds)
    in_stream = sum(r.keys_in_stream for r in rounds)

    def judged(r: Row) -> bool:
        return not lost and missing == 0 and r.p95 <= 50

    unreported = sum(1 for r in rounds if "log_lines_read" not in r.report)
    received = f"{read:,}" if not unreported else f"? ({unreported} round(s) wrote no report)"
    shown_text = f"{shown:,}" if not unreported else "?"
    note = (f"received {received} of {expected:,} lines (CORRAL_TUI_REPORT log_lines_read; "
            f"log_lines_shown {shown_text}; the log files held {in_files:,} lines with Corral's own "
            f"notes); {len(chars)} keys a round, {len(rounds)} round(s): `/` then Cyrillic "
            f"letters, {KEY_GAP * 1000:.0f} ms apart; time from os.write of the key to its "
            f"first appearance in the pty output; {in_stream} of {keys_total} keys typed while "
            "the stream ran")  # fmt: skip
    if missing:
        note += f"; {missing} key(s) never echoed (counted as {ECHO_TIMEOUT * 1000:.0f} ms)"
    bare_missing = sum(k.missing for k in bare)
    if bare_missing:
        note += f"; the bare Input never echoed {bare_missing} key(s)"
    selected = {str(r.report.get("selected")) for r in rounds if r.report}
    if selected and not all(s.startswith("bench-keys") for s in selected):
        note += f"; the TUI had another task selected: {sorted(selected)}"
    problems = [p for r in rounds for p in r.problems]
    if any(r.killed for r in rounds):
        problems.append("`corral` did not exit within 5 s of q (killed)")
    if problems:
        note += "; " + "; ".join(sorted(set(problems)))
    return Row("tui-live", "key-to-frame while a task streams 2.5k lines/s",
               "bare Textual Input, no stream (bench.tui_floor input)",
               corral=[m for r in rounds for m in r.keys.ms],
               base=[m for k in bare for m in k.ms], target=KEY_TARGET, check=judged,
               note=note)  # fmt: skip


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    try:
        import tui.app  # noqa: F401
    except ImportError as exc:
        return [Row("tui-live", "idle CPU", "-", unavailable=f"the TUI does not import: {exc}")]
    repo = make_repo(env.root / "tui-live-repo", 5)
    rows = await _idle_rows(env, plan, repo, image, quiet=True)
    rows += await _idle_rows(env, plan, repo, image)
    rows.append(await _key_row(env, plan, repo, image))
    return rows
