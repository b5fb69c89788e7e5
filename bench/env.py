"""A private place to benchmark in: a temp dir holding CORRAL_HOME, repos and raw workspaces,
and a run label on every raw container and image. Everything is removed on the way out, also
after a failure or Ctrl-C (and SIGTERM, turned into SystemExit by __main__)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import docker

from backend import docker_client, paths
from backend.service import TaskService

BASE_IMAGE = "corral/sandbox-base"  # Debian + git + tmux: what tasks get by default
TINY_IMAGE = "corral/test-tiny"  # busybox: cheapest sandbox
RUN_LABEL = "corral.bench"
KEEPALIVE = ["sleep", "86400"]
GIT_ID = ["-c", "user.email=bench@example.com", "-c", "user.name=bench"]


def corral_exe() -> str:
    """The `corral` console script of this interpreter's venv."""
    script = Path(sys.executable).parent / "corral"
    return str(script) if script.exists() else "corral"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def sh(cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["sh", "-c", cmd], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd!r} failed: {(proc.stderr or proc.stdout).strip()[-400:]}")
    return proc.stdout.strip()


def make_repo(path: Path, files: int, *, per_dir: int = 100) -> Path:
    """A git repo with `files` small text files, 100 to a directory, committed on main."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for i in range(files):
        d = path / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir()
        (d / f"f{i:06d}.txt").write_text(f"file {i}\n" + "x" * 200 + "\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", f"{files} files")
    return path


def changed_files(ws: Path, count: int = 10) -> list[Path]:
    """The files a checkpoint iteration changes: spread over the tree, always the same ones."""
    found = sorted(p for p in ws.glob("d*/f*.txt"))
    step = max(1, len(found) // count)
    return found[::step][:count]


def touch_files(files: list[Path], tag: str) -> None:
    for f in files:
        with open(f, "a") as fh:
            fh.write(f"change {tag}\n")


def image_present(name: str) -> bool:
    try:
        docker_client.client().images.get(name)
        return True
    except Exception:
        return False


async def discard(svc: TaskService, ref: str, timeout: float = 20) -> None:
    """Delete a task made for measuring (never timed). A slow or failing delete is reported
    and left to BenchEnv.cleanup, which removes by label whatever is left."""
    try:
        await asyncio.wait_for(svc.delete_task(ref, purge=True), timeout)
    except Exception as exc:
        print(f"bench: warning: deleting task {ref} failed: {exc!r}"[:300], file=sys.stderr)


class BenchEnv:
    """Temp dir, CORRAL_HOME inside it, an open TaskService, and cleanup of all of it."""

    def __init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.root = Path(tempfile.mkdtemp(prefix=f"corral-bench-{self.run_id}-"))
        self.home = self.root / "home"
        self.home.mkdir()
        self._saved_env: dict[str, str | None] = {}
        self.svc: TaskService | None = None
        self.extra_homes: list[Path] = []

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: self.run_id}

    def env(self, home: Path | None = None) -> dict[str, str]:
        """Environment for a `corral` subprocess on this (or another) bench home."""
        return {
            **os.environ,
            "CORRAL_HOME": str(home or self.home),
            "CORRAL_CONFIG_DIR": str(self.root / "config"),
        }

    async def __aenter__(self) -> BenchEnv:
        for key, value in self.env().items():
            if key.startswith("CORRAL_"):
                self._saved_env[key] = os.environ.get(key)
                os.environ[key] = value
        self.svc = await TaskService.open(self.home)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.svc is not None:
            with contextlib.suppress(Exception):
                await self.svc.close()
        self.cleanup()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def service(self) -> TaskService:
        assert self.svc is not None
        return self.svc

    def cleanup(self) -> None:
        """Remove containers, images, workspaces of this run; never anything else."""
        homes = [self.home, *self.extra_homes]
        task_ids = [t for h in homes for t in _task_ids(paths.db_path(h))]
        with contextlib.suppress(Exception):
            cli = docker.from_env(timeout=30)  # a stuck engine call must not stall clean-up
            found: list[Any] = cli.containers.list(
                all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"}
            )
            for h in homes:
                found += cli.containers.list(all=True, filters={"label": f"corral.home={h}"})
            for c in found:
                with contextlib.suppress(Exception):
                    c.remove(force=True, v=True)
            images = [
                i.id for i in cli.images.list(filters={"label": f"{RUN_LABEL}={self.run_id}"})
            ]
            for h in homes:
                images += [i.id for i in cli.images.list(filters={"label": f"corral.home={h}"})]
            ours = set(task_ids)  # checkpoint images are tagged corral/checkpoint:<task id>-<n>
            for img in cli.images.list(name="corral/checkpoint"):
                images += [t for t in img.tags if t.split(":")[-1].rsplit("-", 1)[0] in ours]
            _remove_images(cli, [str(i) for i in images])
        shutil.rmtree(self.root, ignore_errors=True)


def _remove_images(cli: Any, images: list[str]) -> None:
    """Remove images; if the engine stops answering image removals (seen when another
    process left a container paused mid-commit), stop trying and say what is left."""
    for i, image in enumerate(images):
        try:
            cli.images.remove(image, force=True)
        except Exception as exc:
            if "timed out" in str(exc).lower():
                print(
                    f"bench: warning: the engine does not answer image removals; "
                    f"{len(images) - i} image(s) left, labelled {RUN_LABEL} or corral.home: "
                    "remove them later with docker image prune -a --filter label=...",
                    file=sys.stderr,
                )
                return


def _task_ids(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return [r[0] for r in conn.execute("SELECT id FROM tasks")]
    except sqlite3.Error:
        return []
