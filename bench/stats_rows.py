"""Corral's own CPU while it watches N running sandboxes' stats, vs the raw ways to watch them.

A window is a fixed wall time during which every sandbox is watched; what is measured is the
watcher's CPU time (time.process_time for in-process watchers, getrusage of children for the
`docker stats` process) divided by the wall time: percent of one core. The engine's own CPU is
on neither side. Windows alternate between Corral and each baseline; streams open before the
window starts (their set-up is not in the window)."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import subprocess
import threading
import time
import uuid
from typing import Any

from backend import docker_client
from backend.models import Task
from bench.env import TINY_IMAGE, BenchEnv, discard, image_present, make_repo
from bench.harness import Row, alternate
from bench.plan import Plan

WARMUP = 1.5  # seconds for streams to deliver their first sample before the window opens
TARGET = "<= 2 % of a core (50 sandboxes at 1 Hz)"


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    svc = env.service()
    repo = make_repo(env.root / "stats-repo", 5)
    img = TINY_IMAGE if image_present(TINY_IMAGE) else image
    tasks: list[Task] = []
    for i in range(plan.stats_sandboxes):
        name = f"bench-st{i}-{uuid.uuid4().hex[:4]}"
        tasks.append(await svc.create_task(name, repo=str(repo), image=img))
    ids = [t.container_id or "" for t in tasks]
    n, window = plan.stats_sandboxes, plan.stats_window
    corral_rates: list[float] = []
    sdk_rates: list[float] = []

    async def corral(i: int) -> float:
        stop = asyncio.Event()
        count = 0

        async def watch(t: Task) -> None:
            nonlocal count
            async for _sample in svc.stats(t.id):
                count += 1
                if stop.is_set():
                    return

        running = [asyncio.create_task(watch(t)) for t in tasks]
        await asyncio.sleep(WARMUP)
        cpu0, c0, t0 = time.process_time(), count, time.perf_counter()
        await asyncio.sleep(window)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        corral_rates.append((count - c0) / wall)
        stop.set()
        for r in running:
            r.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.sleep(1.2)  # let blocked stream threads see their next sample and end
        return cpu / wall * 100

    async def sdk(i: int) -> float:
        return await asyncio.to_thread(_sdk_window, ids, window, sdk_rates)

    async def docker_cli(i: int) -> float:
        return await asyncio.to_thread(_cli_window, ids, window)

    ours, theirs = await alternate(plan.stats_windows, corral, sdk)
    ours2, theirs2 = await alternate(plan.stats_windows, corral, docker_cli)
    for t in tasks:
        await discard(svc, t.id)

    def judged(r: Row) -> bool | None:
        if r.p50 > 2.0:
            return False
        return True if n >= 50 else None

    expected = f"{n}/s expected"
    rate = f"samples received: Corral {sum(corral_rates) / len(corral_rates):.1f}/s ({expected})"
    return [
        Row("stats", f"watch {n} sandboxes, watcher CPU", "docker SDK stats stream, a thread each",
            unit="%core", corral=ours, base=theirs, target=TARGET, check=judged,
            note=f"TaskService.stats per task ({window:.0f} s windows); {rate}, SDK "
            f"{sum(sdk_rates) / len(sdk_rates):.1f}/s"),
        Row("stats", f"watch {n} sandboxes, watcher CPU", "`docker stats C1..CN` (one process)",
            unit="%core", corral=ours + ours2, base=theirs2, target=TARGET, check=judged,
            note="docker stats CPU includes its start-up (about the cost of one CLI call)"),
    ]  # fmt: skip


def _sdk_window(ids: list[str], window: float, rates: list[float]) -> float:
    cli = docker_client.client()
    stop = threading.Event()
    count = [0]

    def watch(cid: str) -> None:
        stream: Any = cli.api.stats(cid, stream=True, decode=True)
        for _raw in stream:
            count[0] += 1
            if stop.is_set():
                break
        with contextlib.suppress(Exception):
            stream.close()

    threads = [threading.Thread(target=watch, args=(c,), daemon=True) for c in ids]
    for t in threads:
        t.start()
    time.sleep(WARMUP)
    cpu0, c0, t0 = time.process_time(), count[0], time.perf_counter()
    time.sleep(window)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    rates.append((count[0] - c0) / wall)
    stop.set()
    for t in threads:
        t.join(timeout=5)
    return cpu / wall * 100


def _cli_window(ids: list[str], window: float) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        ["docker", "stats", "--format", "{{.ID}} {{.CPUPerc}} {{.MemUsage}}", *ids],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    drain = threading.Thread(target=proc.stdout.read, daemon=True)  # never let the pipe fill
    drain.start()
    t0 = time.perf_counter()
    time.sleep(WARMUP + window)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends; docker stats ignores TERM while busy
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / wall * 100
