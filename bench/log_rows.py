"""Live log throughput: agents printing about 2.5k lines/s each; lines counted and their delay
measured where the TUI gets them (TaskService.follow_logs, i.e. backend.tasklog.Follower) and,
at the same time on the same files, by `tail -F` (the raw way to watch a log).

Each batch of 250 lines carries the writer's clock (`date +%s%N`, the same kernel clock as the
host), so a line's delay is receipt time minus that stamp. Both readers run simultaneously on
the same stream (alternating would mean two different streams)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import threading
import time
import uuid

from backend import paths
from backend.models import Task
from bench.env import BenchEnv, discard, make_repo
from bench.harness import Row
from bench.plan import Plan

LINE = re.compile(r"L (\d{19}) (\d+)")
PER_BATCH = 250  # lines per 0.1 s: 2.5k lines/s


def agent_cmd(batches: int) -> str:
    return (
        "sleep 2; i=0; "
        f"while [ $i -lt {batches} ]; do t=$(date +%s%N); "
        f'seq $((i*{PER_BATCH}+1)) $((i*{PER_BATCH}+{PER_BATCH})) | sed "s/^/L $t /"; '
        "i=$((i+1)); sleep 0.1; done; sleep 86400"
    )


class Received:
    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.delays: list[float] = []
        self.stamps: list[int] = []

    def add(self, text: str, now: float) -> None:
        m = LINE.search(text)
        if not m:
            return
        stamp, n = int(m.group(1)), int(m.group(2))
        if n not in self.seen:
            self.seen.add(n)
            self.delays.append((now - stamp / 1e9) * 1000)
            self.stamps.append(stamp)


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    svc = env.service()
    repo = make_repo(env.root / "logs-repo", 5)
    batches = int(plan.log_seconds * 10)
    expected = batches * PER_BATCH
    tasks: list[Task] = []
    for i in range(plan.log_tasks):
        name = f"bench-log{i}-{uuid.uuid4().hex[:4]}"
        tasks.append(
            await svc.create_task(name, repo=str(repo), image=image, agent_cmd=agent_cmd(batches))
        )
    ours = [Received() for _ in tasks]
    theirs = [Received() for _ in tasks]
    tails: list[subprocess.Popen[str]] = []

    async def follow(task: Task, got: Received) -> None:
        async for batch in svc.follow_logs(task.id, from_start=True):
            now = time.time()
            for line in batch:
                if line.source == "agent":
                    got.add(line.text, now)

    def read_tail(proc: subprocess.Popen[str], got: Received) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            got.add(raw, time.time())

    try:
        followers = [asyncio.create_task(follow(t, r)) for t, r in zip(tasks, ours, strict=True)]
        for t, r in zip(tasks, theirs, strict=True):
            log = paths.log_dir(svc.home, t.id) / "agent.log"
            proc = subprocess.Popen(
                ["tail", "-F", "-s", "0.1", "-n", "+1", str(log)], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, errors="replace",
            )  # fmt: skip
            tails.append(proc)
            threading.Thread(target=read_tail, args=(proc, r), daemon=True).start()
        deadline = time.monotonic() + 2 + plan.log_seconds * 3 + 10
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if all(len(r.seen) >= expected for r in (*ours, *theirs)):
                break
        await asyncio.sleep(0.5)
        for f in followers:
            f.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    finally:
        for proc in tails:
            with contextlib.suppress(Exception):
                proc.kill()
                proc.wait(timeout=5)
    for t in tasks:
        await discard(svc, t.id)

    got_ours = sum(len(r.seen) for r in ours)
    got_theirs = sum(len(r.seen) for r in theirs)
    total = expected * len(tasks)
    stamps = [s for r in theirs for s in r.stamps] or [0, 1]
    span = (max(stamps) - min(stamps)) / 1e9 + 0.1
    rate = got_theirs / len(tasks) / span if span > 0 else 0.0
    lost = total - got_ours

    def judged(r: Row) -> bool:
        return lost == 0 and r.p95 <= 100

    return [
        Row("logs", f"live log lines, {len(tasks)} agent(s) at ~2.5k lines/s: delay",
            "`tail -F -s 0.1` on the same files, same time",
            corral=[d for r in ours for d in r.delays],
            base=[d for r in theirs for d in r.delays],
            target="no line lost, p95 <= 100 ms", check=judged,
            note=f"Corral (follow_logs from the start, 0.05 s poll) received {got_ours:,} of {total:,} lines, "
            f"tail -F {got_theirs:,}; writers reached {rate:,.0f} lines/s per agent; delay "
            "includes the in-sandbox pipe (tmux pipe-pane -> awk -> file) for both sides; "
            "the TUI adds its drawing on top"),
    ]  # fmt: skip
