"""One checkpoint operation per task at a time, across every Corral process on the machine.

An flock on a file under the home's locks/ directory: checkpoint, restore, prune, drop and the
task's part of reconcile take it, so reconcile never mistakes a checkpoint that is being made
(ref written, row not yet) for a half-made one.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from backend.errors import ConflictError

WAIT = 120.0


def _path(home: Path, task_id: str) -> Path:
    return home / "locks" / f"checkpoint-{task_id}.lock"


@asynccontextmanager
async def task_lock(home: Path, task_id: str, *, wait: float = WAIT) -> AsyncIterator[None]:
    path = _path(home, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConflictError(
                        "another checkpoint, restore or prune of this task is still running; "
                        "wait for it and retry"
                    ) from None
                await asyncio.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def drop_lock_file(home: Path, task_id: str) -> None:
    _path(home, task_id).unlink(missing_ok=True)
