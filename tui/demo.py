"""Fixed demo data for snapshot tests, screenshots and the benchmark: a store with known tasks,
times, logs and samples, and no Docker. Never used by the running app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backend import paths
from backend.models import AgentState, Sample, Task, TaskSpec, TaskState
from backend.service import TaskService
from backend.store.store import _ts

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
DEMO = [
    # name, state, agent, agent state, age (minutes), checkpoints
    ("fix-login", TaskState.RUNNING, "claude", AgentState.RUNNING, 95, 3),
    ("add-search", TaskState.RUNNING, "codex", AgentState.RUNNING, 40, 1),
    ("refactor-db", TaskState.STOPPED, "aider", AgentState.STOPPED, 60 * 26, 2),
    ("docs-update", TaskState.COMPLETED, None, AgentState.NONE, 60 * 50, 1),
    ("flaky-test", TaskState.FAILED, "shell", AgentState.EXITED, 12, 0),
]
LOG = [
    ("agent", "Reading src/auth/login.py"),
    ("agent", "The session cookie is set before the password check; moving it after."),
    ("exec", "$ pytest -q tests/test_login.py"),
    ("exec", "....F."),
    ("exec", "FAILED tests/test_login.py::test_lockout - assert 3 == 5"),
    ("exec", "[exit 1 after 2140 ms]"),
    ("agent", "Lockout threshold comes from settings; reading config/defaults.toml"),
    ("corral", "checkpoint 3 taken (4 files changed)"),
    ("agent", "Tests pass now: 6 passed in 1.9s"),
]


def _spec(agent: str | None, memory_mb: int = 2048) -> TaskSpec:
    return TaskSpec(
        image="corral/sandbox-developer", cpus=2.0, memory=f"{memory_mb}m",
        memory_bytes=memory_mb << 20, pids_limit=512, network="none", agent=agent,
        agent_cmd=agent, user="agent", uid=1000,
    )  # fmt: skip


def _task(i: int, name: str, state: TaskState, agent: str | None, ast: AgentState,
          minutes: int) -> Task:  # fmt: skip
    created = NOW - timedelta(minutes=minutes)
    return Task(
        id=f"{i:04d}demo{i:04d}", name=name, slug=name, state=state, repo="/home/dev/shop",
        base_ref="main", base_commit="3f2a9c1d5e7b" + "0" * 28, branch=f"corral/{name}",
        image="corral/sandbox-developer", spec=_spec(agent),
        container_id=f"c{i:011d}" if state == TaskState.RUNNING else None,
        agent_state=ast, created_at=created, updated_at=created,
        reason="out of memory: raise --memory and resume-task" if state == TaskState.FAILED else None,
    )  # fmt: skip


async def seed(home: Path) -> list[Task]:
    """The five demo tasks with logs, samples, executions, decisions and fixed event times."""
    async with await TaskService.open(home) as svc:
        store = svc.store
        tasks = []
        for i, (name, state, agent, ast, minutes, ckpts) in enumerate(DEMO):
            task = _task(i, name, state, agent, ast, minutes)
            await store.insert_task(task, {"name": name, "branch": task.branch})
            tasks.append(task)
            async with store.write() as db:
                for n in range(1, ckpts + 1):
                    await db.execute(
                        "INSERT INTO checkpoints (task_id, n, kind, message, git_ref, commit_sha, "
                        "created_at) VALUES (?, ?, 'manual', ?, ?, ?, ?)",
                        (task.id, n, f"step {n}", f"refs/corral/checkpoints/{task.id}/{n}",
                         f"{n:040d}", _ts(task.created_at + timedelta(minutes=5 * n))),
                    )  # fmt: skip
            _write_log(svc.log_dir(task), task.created_at)
        first = tasks[0]
        await store.add_samples(
            Sample(task_id=first.id, cpu_percent=35 + 30 * ((k * 7) % 11) / 10,
                   memory_bytes=(600 + 9 * k) << 20, memory_limit=2048 << 20,
                   taken_at=NOW - timedelta(seconds=240 - k * 2))
            for k in range(120)
        )  # fmt: skip
        await store.add_execution(first.id, "pytest -q tests/test_login.py", 1, 2140, "", False)
        await store.add_execution(first.id, "pytest -q", 0, 1930, "6 passed", False)
        await store.add_decision(first.id, "keep the lockout threshold in settings, not code")
        async with store.write() as db:  # fixed times, so the History view is reproducible
            for table in ("events", "executions", "decisions"):
                await db.execute(
                    f"UPDATE {table} SET created_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', ?, "
                    "'+' || (id * 7) || ' seconds')",
                    (_ts(NOW - timedelta(hours=2)).replace("+00:00", ""),),
                )
        return tasks


def _write_log(log_dir: Path, start: datetime) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = {}
    for k, (source, text) in enumerate(LOG):
        when = (start + timedelta(seconds=30 * k)).isoformat(timespec="microseconds")
        files.setdefault(source, []).append(f"{when}\t{source}\t{text}\n")
    for source, lines in files.items():
        (log_dir / f"{source}.log").write_text("".join(lines))


async def seed_many(home: Path, count: int) -> None:
    """`count` plain tasks in one transaction (for the 10k-task list benchmark)."""
    async with await TaskService.open(home) as svc:
        spec = _spec("shell").model_dump_json()
        rows = []
        for i in range(count):
            created = _ts(NOW - timedelta(seconds=count - i))
            rows.append((f"{i:012x}", f"task-{i:05d}", f"task-{i:05d}", "running", "/repo",
                         "main", "0" * 40, f"corral/task-{i:05d}", "corral/sandbox-developer",
                         spec, None, None, "", "none", None, 1, created, created))  # fmt: skip
        async with svc.store.write() as db:
            await db.executemany(
                "INSERT INTO tasks (id, name, slug, state, repo, base_ref, base_commit, branch, "
                "image, spec, container_id, workspace, description, agent_state, reason, "
                "version, created_at, updated_at) VALUES (" + ", ".join("?" * 18) + ")",
                rows,
            )


def fixed_clock() -> datetime:
    return NOW


def demo_home(root: Path) -> Path:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    paths.db_path(home).unlink(missing_ok=True)
    return home
