"""Shared fixtures. Everything here is real: a Docker engine, git repos, SQLite files.

A missing Docker engine or test image fails the run loudly (never a skip): scripts/test sets
both up, and CI runs scripts/test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backend import docker_client
from backend.service import TaskService

TINY = "corral/test-tiny"  # busybox: a shell, no git (fast)
BASE = "corral/sandbox-base"  # Debian + git + tmux, user agent (uid 1000)
DEV = "corral/sandbox-developer"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def engine() -> None:
    """Docker must answer; a missing engine is a failure, not a skip."""
    if not docker_client.ping():
        pytest.fail("no Docker engine answers: run scripts/test (it starts one) or start dockerd")


def require_image(name: str) -> str:
    cli = docker_client.client()
    try:
        cli.images.get(name)
    except Exception:
        pytest.fail(f"test image {name} is missing: run scripts/build-test-images")
    return name


@pytest.fixture(scope="session")
def tiny_image(engine: None) -> str:
    return require_image(TINY)


@pytest.fixture(scope="session")
def base_image(engine: None) -> str:
    return require_image(BASE)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private CORRAL_HOME; any container left behind under it is removed afterwards."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("CORRAL_HOME", str(h))
    monkeypatch.setenv("CORRAL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CORRAL_SANDBOX__CPUS", "1")
    monkeypatch.setenv("CORRAL_SANDBOX__MEMORY", "256m")
    yield h
    _remove_containers(h)


def _remove_containers(h: Path) -> None:
    try:
        cli = docker_client.client()
        for c in cli.containers.list(all=True, filters={"label": f"corral.home={h}"}):
            if c.status == "paused":  # Docker 20.10 refuses to remove a paused container
                c.unpause()
            c.remove(force=True)
        # Checkpoint images (backend.checkpoints) of this home: by id, so every tag goes.
        for img in cli.images.list(
            filters={"label": [f"corral.home={h}", "corral.checkpoint.task"]}
        ):
            cli.images.remove(img.id, force=True)
    except Exception:
        pass


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "Test")
    for name, text in (files or {"README.md": "hello\n"}).items():
        f = path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
async def service(home: Path) -> AsyncIterator[TaskService]:
    svc = await TaskService.open(home)
    try:
        yield svc
    finally:
        await svc.close()


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def corral(
    *args: str,
    cwd: Path | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run the real `corral` console script as a subprocess."""
    exe = Path(sys.executable).parent / "corral"
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
