"""TaskService, part: running commands in a sandbox, its logs and its resource samples."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

from backend import lifecycle, sandbox
from backend.errors import UsageError
from backend.filewatch import DirWatch
from backend.models import (
    ExecResult,
    LogLine,
    Sample,
)
from backend.service_base import LIVE_SANDBOX, ServiceBase
from backend.tasklog import Follower, LogWriter, read

if TYPE_CHECKING:
    from backend.service import TaskService

OUTPUT_TAIL = 4000


class ExecOps(ServiceBase):
    async def exec(
        self,
        ref: str,
        command: str | list[str],
        *,
        timeout: float | None = None,
        on_output: Callable[[bytes], None] | None = None,
        keep_bytes: int = 1 << 20,
    ) -> ExecResult:
        task = await self.get(ref)
        lifecycle.require(task.name, task.state, LIVE_SANDBOX, "run a command in")
        assert task.container_id
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        if not argv or not "".join(argv).strip():
            raise UsageError("no command given; write it after --, e.g. exec TASK -- ls -la")
        text = command if isinstance(command, str) else shlex.join(argv)
        secrets = self.secrets_of(task)
        writer = LogWriter(
            self.log_dir(task) / "exec.log", self.settings.logs.max_bytes, self.settings.logs.keep
        )
        writer.write_lines("exec", [f"$ {_redact(text, secrets)}"])
        pending = bytearray()

        def sink(chunk: bytes) -> None:
            pending.extend(chunk)
            head, sep, rest = bytes(pending).rpartition(b"\n")
            if sep:  # whole lines only: a secret split across chunks is still caught
                lines = [_redact(ln, secrets) for ln in head.decode(errors="replace").split("\n")]
                writer.write_lines("exec", lines)
                pending[:] = rest
                if on_output:
                    on_output(("\n".join(lines) + "\n").encode())

        out = await asyncio.to_thread(
            sandbox.exec_run,
            task.container_id,
            argv,
            user=task.spec.user,
            timeout=timeout,
            on_output=sink,
            keep_bytes=keep_bytes,
        )
        if pending:
            tail = _redact(pending.decode(errors="replace"), secrets)
            writer.write_lines("exec", [tail])
            if on_output:
                on_output(tail.encode())
        status = "timed out" if out.timed_out else f"exit {out.exit_code}"
        writer.write_lines("exec", [f"[{status} after {out.duration_ms} ms]"])
        output = _redact(out.output.decode(errors="replace"), secrets)
        await self.store.add_execution(
            task.id,
            _redact(text, secrets),
            out.exit_code,
            out.duration_ms,
            output[-OUTPUT_TAIL:],
            out.timed_out,
        )
        await self._sync(task)
        return ExecResult(
            task_id=task.id,
            command=text,
            exit_code=out.exit_code,
            output=output,
            truncated=out.truncated,
            timed_out=out.timed_out,
            duration_ms=out.duration_ms,
        )

    async def logs(
        self, ref: str, *, since: Any = None, grep: str | None = None, limit: int | None = None
    ) -> list[LogLine]:
        task = await self.store.find_task(ref, include_deleted=True)
        return await asyncio.to_thread(
            read,
            self.log_dir(task),
            since=since,
            grep=grep,
            limit=limit,
            redact=self.secrets_of(task),
        )

    async def follow_logs(
        self,
        ref: str,
        *,
        grep: str | None = None,
        interval: float = 0.05,
        from_start: bool = False,
    ) -> AsyncIterator[list[LogLine]]:
        """New log lines in batches. With `from_start` the first batch is everything the current
        log files hold (yielded even when empty: the history is read), so history and live
        lines join with no gap and nothing twice. While a log streams it is read every
        `interval`; otherwise the follower sleeps until a log file changes (inotify)."""
        task = await self.store.find_task(ref, include_deleted=True)
        follower = Follower(self.log_dir(task), redact=self.secrets_of(task), grep=grep)
        if not from_start:
            follower.skip_existing()
        watch = DirWatch(self.log_dir(task), fallback=interval)
        try:
            # The first poll may read megabytes of history: a thread. Later ones stat a few
            # files and read what was appended, cheaper than a thread hop.
            batch = await asyncio.to_thread(follower.poll)
            if batch or from_start:
                yield batch
            while True:
                if batch:
                    await asyncio.sleep(interval)  # a streaming log is read in batches
                await watch.changed(1.0)  # a second at most: a change may slip past the watch
                batch = follower.poll()
                if batch:
                    yield batch
        finally:
            watch.close()

    async def stats(self, ref: str) -> AsyncIterator[Sample]:
        """Resource samples about once a second while the sandbox runs."""
        task = await self.get(ref)
        lifecycle.require(task.name, task.state, LIVE_SANDBOX, "watch resources of")
        assert task.container_id
        from backend import checkpoints  # whoever watches stats triggers emergency checkpoints

        gen = sandbox.stats_stream(task.id, task.container_id)
        while True:
            sample = await asyncio.to_thread(next, gen, None)
            if sample is None:
                return
            await checkpoints.maybe_emergency(cast("TaskService", self), task, sample)
            yield sample


def _redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text
