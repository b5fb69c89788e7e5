"""Waiting for a directory's files to change: inotify where the kernel has it, polling otherwise.

Following a log by polling costs a wake-up every 50 ms per follower even when nothing is
written; with twenty quiet sandboxes that is most of an idle TUI's CPU. inotify wakes us only
when a file in the directory is written, created or renamed (rotation), and works for files
that a sandbox writes through its bind mount: the events belong to the host inode."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

_IN_MODIFY = 0x00000002
_IN_CREATE = 0x00000100
_IN_MOVED_TO = 0x00000080
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC

_libc: Any = None


def _inotify() -> Any:
    """libc with inotify, or None. ctypes loads on first use (20 ms of imports)."""
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            lib.inotify_init1  # noqa: B018 - raises AttributeError where there is no inotify
        except (OSError, AttributeError):
            return None
        _libc = lib
    return _libc


class DirWatch:
    """`await changed(timeout)` returns when a file in `path` changed (True) or the timeout
    passed (False). Without inotify it simply sleeps `fallback` seconds and returns True, so
    callers poll as before."""

    def __init__(self, path: Path, fallback: float = 0.05) -> None:
        self.path = path
        self.fallback = fallback
        self.fd = -1
        lib = _inotify()
        if lib is None:
            return
        fd = lib.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return
        mask = _IN_MODIFY | _IN_CREATE | _IN_MOVED_TO
        if lib.inotify_add_watch(fd, os.fsencode(path), mask) < 0:
            os.close(fd)  # e.g. the directory does not exist yet: poll instead
            return
        self.fd = fd

    @property
    def native(self) -> bool:
        return self.fd >= 0

    async def changed(self, timeout: float) -> bool:
        if self.fd < 0:
            await asyncio.sleep(self.fallback)
            return True
        # The fd is watched only while someone waits. Left registered, an fd with unread events
        # is "ready" on every turn of the event loop (epoll is level-triggered): a follower
        # sleeping between batches of a busy log would spin the loop (seen: 20 streaming logs
        # saturated a core).
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        loop.add_reader(self.fd, wake)
        try:
            await asyncio.wait_for(woken, timeout)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(self.fd)
        self._drain()  # events still coming in after this make the next wait return at once
        return True

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.fd, 65536):
                pass

    def close(self) -> None:
        if self.fd < 0:
            return
        os.close(self.fd)
        self.fd = -1
