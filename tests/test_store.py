"""The SQLite store: migrations, optimistic concurrency, events, search — on real files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend.errors import ConflictError, NotFoundError, StoreError, UsageError
from backend.models import Task, TaskSpec, TaskState, utcnow
from backend.store import Store
from backend.store.schema import SCHEMA_VERSION


def make_task(name: str, tid: str, repo: str = "/r") -> Task:
    now = utcnow()
    spec = TaskSpec(
        image="img", cpus=1, memory="1g", memory_bytes=1 << 30, pids_limit=64, network="none"
    )
    return Task(
        id=tid,
        name=name,
        slug=name,
        state=TaskState.CREATING,
        repo=repo,
        base_ref="main",
        base_commit="0" * 40,
        branch=f"corral/{name}",
        image="img",
        spec=spec,
        created_at=now,
        updated_at=now,
    )


async def test_wal_and_schema_version(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        async with store.conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"  # type: ignore[index]
        async with store.conn.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == SCHEMA_VERSION  # type: ignore[index]
    finally:
        await store.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    await (await Store.open(db)).close()  # create it
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer than this Corral knows"):
        await Store.open(db)


async def test_insert_find_update_with_versions(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        t = await store.insert_task(make_task("alpha", "abc123def456"))
        assert (await store.find_task("alpha")).id == t.id
        assert (await store.find_task("abc1")).name == "alpha"
        t2 = await store.update_task(t, ("task.started", {}), state=TaskState.RUNNING)
        assert t2.version == t.version + 1
        with pytest.raises(ConflictError, match="changed by another Corral process"):
            await store.update_task(t, None, state=TaskState.STOPPED)  # stale version
        assert (await store.get_task(t.id)).state == TaskState.RUNNING  # not overwritten
        kinds = [e.kind for e in await store.task_events(t.id)]
        assert kinds == ["task.created", "task.started"]
    finally:
        await store.close()


async def test_duplicate_live_name_conflicts_but_deleted_frees_it(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        t = await store.insert_task(make_task("dup", "111111111111"))
        with pytest.raises(ConflictError, match="already exists"):
            await store.insert_task(make_task("dup", "222222222222", repo="/other"))
        await store.update_task(t, None, state=TaskState.DELETED)
        await store.insert_task(make_task("dup", "333333333333", repo="/other"))
    finally:
        await store.close()


async def test_ambiguous_prefix_lists_candidates(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        await store.insert_task(make_task("one", "aaaa11111111"))
        await store.insert_task(make_task("two", "aaaa22222222"))
        with pytest.raises(UsageError, match=r"matches several tasks: .*one.*two"):
            await store.find_task("aaaa")
        with pytest.raises(NotFoundError, match="no task named 'zzz'"):
            await store.find_task("zzz")
    finally:
        await store.close()


async def test_full_text_search_covers_decisions(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        a = await store.insert_task(make_task("login-fix", "aaaaaaaaaaaa"))
        await store.insert_task(make_task("docs", "bbbbbbbbbbbb"))
        await store.add_decision(a.id, "use bcrypt for passwords")
        assert [t.name for t in await store.search("bcrypt")] == ["login-fix"]
        assert [t.name for t in await store.search("logi")] == ["login-fix"]  # prefix
        assert [t.name for t in await store.search('docs" *')] == ["docs"]  # no FTS injection
    finally:
        await store.close()


async def test_batched_event_ingest_and_tail(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db")
    try:
        start = await store.last_event_id()
        n = await store.append_events((None, "bench.tick", {"i": i}) for i in range(5000))
        assert n == 5000
        got = await store.events_after(start, limit=10_000)
        assert [e.payload["i"] for e in got] == list(range(5000))
    finally:
        await store.close()
