"""Several real OS processes create and update tasks in one store at once: nothing is lost,
nothing is corrupted, and every lost optimistic-concurrency race is retried, not overwritten."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from backend.store import Store

WORKER = r"""
import asyncio, sys
from pathlib import Path
from backend.errors import ConflictError
from backend.models import Task, TaskSpec, TaskState, utcnow
from backend.store import Store

async def main(db, me, n_tasks, n_bumps):
    store = await Store.open(Path(db))
    # Start together: without this barrier a fast worker can finish before a slow one starts.
    Path(db).with_name(f"ready-{me}").touch()
    while not Path(db).with_name("go").exists():
        await asyncio.sleep(0.005)
    spec = TaskSpec(image="i", cpus=1, memory="1g", memory_bytes=1 << 30, pids_limit=64, network="none")
    for i in range(n_tasks):
        now = utcnow()
        await store.insert_task(Task(
            id=f"{me:02d}{i:010d}", name=f"w{me}-t{i}", slug=f"w{me}-t{i}",
            state=TaskState.CREATING, repo="/r", base_ref="main", base_commit="0" * 40,
            branch=f"corral/w{me}-t{i}", image="i", spec=spec, created_at=now, updated_at=now))
    # Everyone bumps the shared counter task: read, modify, write-if-unchanged, retry on conflict.
    retries = 0
    for _ in range(n_bumps):
        while True:
            t = await store.find_task("shared")
            try:
                await store.update_task(t, ("bump", {"by": me}), description=str(int(t.description or "0") + 1))
                break
            except ConflictError:
                retries += 1
    await store.close()
    print(retries)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
"""


async def test_many_processes_nothing_lost(tmp_path: Path) -> None:
    db = tmp_path / "corral.db"
    store = await Store.open(db)
    from tests.test_store import make_task

    await store.insert_task(make_task("shared", "ffffffffffff"))
    await store.close()

    workers, n_tasks, n_bumps = 6, 15, 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), str(w), str(n_tasks), str(n_bumps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    retries = sum(int(out.strip()) for out, _ in results)

    store = await Store.open(db)
    try:
        tasks = await store.list_tasks(include_deleted=True)
        assert len(tasks) == workers * n_tasks + 1  # every create landed
        assert len({t.id for t in tasks}) == len(tasks)
        shared = await store.find_task("shared")
        assert shared.description == str(workers * n_bumps)  # no increment lost
        assert shared.version == 1 + workers * n_bumps
        bumps = [e for e in await store.task_events(shared.id, limit=10_000) if e.kind == "bump"]
        assert len(bumps) == workers * n_bumps
        async with store.conn.execute("PRAGMA integrity_check") as cur:
            assert (await cur.fetchone())[0] == "ok"  # type: ignore[index]
    finally:
        await store.close()
    assert retries > 0, "the workers never raced; the test proves nothing"
