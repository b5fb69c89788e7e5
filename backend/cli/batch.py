"""`corral batch FILE|-`: slash commands one per line, run in order in one process.

Blank lines and lines starting with # are skipped. The first failure stops the run unless
--keep-going; the exit code is that of the first failure. --json prints one JSON line per
command: {"line", "command", "ok", "exit_code", "result" | "error"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from backend.cli.output import console, jsonable
from backend.commands import parsing
from backend.commands.context import Context
from backend.errors import CorralError, UsageError


def run_batch(words: list[str], *, as_json: bool, debug: bool) -> int:
    keep_going = "--keep-going" in words
    rest = [w for w in words if w != "--keep-going"]
    if len(rest) != 1:
        raise UsageError(
            "batch needs one FILE (or - for stdin); usage: corral batch FILE|- [--keep-going] [--json]"
        )
    source = rest[0]
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text()
        except OSError as exc:
            raise UsageError(
                f"cannot read batch file {source} ({exc.strerror}); check the path"
            ) from exc
    return asyncio.run(_run(text, keep_going=keep_going, as_json=as_json))


async def _run(text: str, *, keep_going: bool, as_json: bool) -> int:
    from backend.cli.main import emit, result_exit_code
    from backend.service import TaskService

    first_failure = 0
    out, err = console(), console(stderr=True)
    async with await TaskService.open() as svc:
        ctx = Context(service=svc, cwd=Path.cwd(), json=as_json)
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            record: dict[str, object] = {"line": number, "command": line}
            try:
                cmd, args = parsing.parse_line(line)
                if cmd.name == "logs" and getattr(args, "follow", False):
                    raise UsageError("logs --follow never ends, so it cannot run in a batch")
                result = await cmd.handler(ctx, args)
                code = result_exit_code(result)
                record.update(ok=code == 0, exit_code=code, result=jsonable(result))
                if not as_json:
                    out.print(f"[bold]» {line}[/]")
                    emit(cmd, result, as_json=False)
            except CorralError as exc:
                code = exc.exit_code
                record.update(
                    ok=False, exit_code=code, error={"kind": exc.kind, "message": exc.message}
                )
                err.print(
                    f"corral: error: line {number}: {exc.message}", markup=False, highlight=False
                )
            if as_json:
                print(json.dumps(record, ensure_ascii=False), flush=True)
            if code and not first_failure:
                first_failure = code
            if code and not keep_going:
                break
    return first_failure
