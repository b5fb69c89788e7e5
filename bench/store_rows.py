"""The store with 100k tasks: find, list, search; and batched event ingest.

The 100k rows go straight into a fresh store (schema from Store.open) with one executemany in
one transaction: making them through create_task would take hours. The baseline of each query
is the same SQL through the stdlib sqlite3 module on the same file (no aiosqlite thread hop, no
pydantic models), so the ratio is Corral's overhead and the absolute figure is what users wait.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

from backend.models import TaskSpec, TaskState
from backend.store import Store
from backend.store.store import TASK_COLUMNS
from bench.env import BenchEnv
from bench.harness import Clock, Row, alternate, at_least, under
from bench.plan import Plan

STATES = [("running", 10), ("stopped", 25), ("completed", 40), ("cleaned", 20), ("deleted", 5)]
VERBS = ["fix", "add", "refactor", "remove", "speed", "test", "document", "port", "rename", "split"]
NOUNS = ["login", "parser", "cache", "billing", "search", "upload", "export", "auth", "queue",
         "router", "schema", "report", "layout", "mailer", "config", "metrics", "session", "api",
         "worker", "backup"]  # fmt: skip
LIST_TARGET = "<= 20 ms (100k tasks)"


def fake_rows(n: int, seed: int = 8) -> list[tuple[object, ...]]:
    rnd = random.Random(seed)
    states = [s for s, w in STATES for _ in range(w)]
    spec = TaskSpec(
        image="corral/sandbox-base", cpus=2.0, memory="2g", memory_bytes=2 * 1024**3,
        pids_limit=512, network="none", user="agent", uid=1000,
    ).model_dump_json()  # fmt: skip
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows: list[tuple[object, ...]] = []
    for i in range(n):
        when = (start + timedelta(seconds=30 * i)).isoformat(timespec="microseconds")
        slug = f"task-{i:06d}"
        desc = f"{rnd.choice(VERBS)} the {rnd.choice(NOUNS)} {rnd.choice(NOUNS)}"
        rows.append((
            uuid.UUID(int=rnd.getrandbits(128)).hex[:12], slug, slug, rnd.choice(states),
            "/home/dev/project", "main", "0" * 40, f"corral/{slug}", "corral/sandbox-base",
            spec, None, None, desc, "none", None, 1, when, when,
        ))  # fmt: skip
    return rows


async def fill(store: Store, rows: list[tuple[object, ...]]) -> None:
    async with store.write() as db:
        await db.executemany(
            f"INSERT INTO tasks ({TASK_COLUMNS}) VALUES ({', '.join('?' * 18)})", rows
        )


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    path = env.root / "store" / "corral.db"
    store = await Store.open(path)
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        return await _measure(store, raw, plan)
    finally:
        raw.close()
        await store.close()


async def _measure(store: Store, raw: sqlite3.Connection, plan: Plan) -> list[Row]:
    rows = fake_rows(plan.store_tasks)
    with Clock() as fill_clock:
        await fill(store, rows)
    live = [r for r in rows if r[3] != "deleted"]
    rnd = random.Random(1)
    n = plan.store
    out: list[Row] = []
    size = f"{plan.store_tasks // 1000}k tasks"

    def raw_timed(sql: str, params: tuple[object, ...]) -> float:
        with Clock() as c:
            raw.execute(sql, params).fetchall()
        return c.ms

    async def compare(name: str, ours_call, sql: str, params_of, **kw: object) -> None:  # type: ignore[no-untyped-def]
        picks = [rnd.choice(live) for _ in range(n)]

        async def ours(i: int) -> float:
            with Clock() as c:
                await ours_call(picks[i])
            return c.ms

        async def theirs(i: int) -> float:
            return raw_timed(sql, params_of(picks[i]))

        a, b = await alternate(n, ours, theirs)
        out.append(Row("store", f"{name} ({size})", "same SQL via stdlib sqlite3", corral=a,
                       base=b, **kw))  # type: ignore[arg-type]  # fmt: skip

    cols = TASK_COLUMNS
    await compare(
        "find_task by name", lambda r: store.find_task(str(r[1])),
        f"SELECT {cols} FROM tasks WHERE name = ? AND state != 'deleted' ORDER BY created_at DESC",
        lambda r: (r[1],), target=LIST_TARGET, check=under(20),
    )  # fmt: skip
    await compare(
        "find_task by id prefix (8 chars)", lambda r: store.find_task(str(r[0])[:8]),
        f"SELECT {cols} FROM tasks WHERE id LIKE ? ESCAPE '\\' AND state != 'deleted' LIMIT 6",
        lambda r: (str(r[0])[:8] + "%",), target=LIST_TARGET, check=under(20),
        note="Corral first tries the prefix as a name (a miss), then the id LIKE; the baseline "
        "runs only the LIKE",
    )  # fmt: skip
    await compare(
        "list_tasks state=running limit=100",
        lambda r: store.list_tasks(states=[TaskState.RUNNING], limit=100),
        f"SELECT {cols} FROM tasks WHERE state IN (?) ORDER BY created_at LIMIT 100",
        lambda r: ("running",), target=LIST_TARGET, check=under(20),
    )  # fmt: skip
    await compare(
        "search (full text, one word)", lambda r: store.search("login"),
        f"SELECT {', '.join('t.' + c.strip() for c in cols.split(','))} FROM task_search s "
        "JOIN tasks t ON t.rowid = s.rowid WHERE task_search MATCH ? AND t.state != 'deleted' "
        "ORDER BY rank LIMIT 50",
        lambda r: ('"login"*',), target=LIST_TARGET, check=under(20),
    )  # fmt: skip
    n_all = plan.store_list_all
    saved = n
    n = n_all
    await compare(
        "list all live tasks (what list-tasks shows)",
        lambda r: store.list_tasks(states=[s for s in TaskState if s.value not in
                                           ("deleted", "cleaned")]),
        f"SELECT {cols} FROM tasks WHERE state IN (?, ?, ?, ?, ?) ORDER BY created_at",
        lambda r: tuple(s.value for s in TaskState if s.value not in ("deleted", "cleaned"))[:5],
        target=LIST_TARGET, check=under(20),
        note=f"TaskService.list_tasks has no limit: every live task becomes a model "
        f"({sum(1 for r in rows if r[3] not in ('deleted', 'cleaned')):,} here); "
        f"{plan.store_list_all} iterations",
    )  # fmt: skip
    n = saved
    out.append(await _ingest(store, raw, plan))
    out[0].note = f"store filled with {plan.store_tasks:,} rows in {fill_clock.ms / 1000:.1f} s"
    return out


async def _ingest(store: Store, raw: sqlite3.Connection, plan: Plan) -> Row:
    batch = plan.ingest_batch
    payload = {"command": "pytest -q", "exit_code": 0, "duration_ms": 1234}
    raw.execute("PRAGMA synchronous = NORMAL")

    async def ours(i: int) -> float:
        events = [(None, "bench.event", {**payload, "i": j}) for j in range(batch)]
        with Clock() as c:
            await store.append_events(events)
        return batch / (c.ms / 1000)

    async def theirs(i: int) -> float:
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        with Clock() as c:
            data = [(None, "bench.event", json.dumps({**payload, "i": j}), now)
                    for j in range(batch)]  # fmt: skip
            raw.execute("BEGIN IMMEDIATE")
            raw.executemany(
                "INSERT INTO events (task_id, kind, payload, created_at) VALUES (?, ?, ?, ?)", data
            )
            raw.execute("COMMIT")
        return batch / (c.ms / 1000)

    a, b = await alternate(plan.ingest_batches, ours, theirs)
    return Row(
        "store", f"event ingest, batches of {batch}", "stdlib sqlite3 executemany, one transaction",
        unit="ev/s", corral=a, base=b, higher_is_better=True, target=">= 50k events/s batched",
        check=at_least(50_000), note="rates per batch; p95 column shows the 95th percentile "
        "rate (the faster end), p50 is the one judged",
    )  # fmt: skip
