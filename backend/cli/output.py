"""Printing results: rich for people (colour only on a TTY), stable JSON for programs."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from backend.errors import CorralError


def jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, (list, tuple)):
        return [jsonable(r) for r in result]
    if isinstance(result, dict):
        return {k: jsonable(v) for k, v in result.items()}
    return result


def to_json(result: Any) -> str:
    return json.dumps(jsonable(result), ensure_ascii=False)


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def error_line(exc: CorralError) -> str:
    return f"corral: error: {exc.message}"


def error_json(exc: CorralError) -> str:
    return json.dumps(
        {"error": {"kind": exc.kind, "message": exc.message, "exit_code": exc.exit_code}}
    )


def write_raw(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
