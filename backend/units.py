"""Parsing and printing sizes and durations the way people write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from backend.errors import UsageError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)?\s*$", re.IGNORECASE)
_MULT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_AGE_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_size(text: str, what: str = "memory") -> int:
    m = _SIZE.match(text)
    if not m:
        raise UsageError(f"{what} {text!r} is not a size; write it like 512m or 2g")
    return int(float(m.group(1)) * _MULT[m.group(2).lower()])


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def parse_age(text: str) -> timedelta:
    m = _AGE.match(text)
    if not m:
        raise UsageError(f"age {text!r} is not understood; write it like 30m, 2h or 7d")
    return timedelta(seconds=int(m.group(1)) * _AGE_S[m.group(2)])


def parse_since(text: str) -> datetime:
    """'10m' (ago) or an ISO time."""
    if _AGE.match(text):
        return datetime.now(UTC) - parse_age(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"--since {text!r} is not a time; write 10m, 2h or 2026-01-31T12:00"
        ) from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def human_age(then: datetime, now: datetime | None = None) -> str:
    secs = int(((now or datetime.now(UTC)) - then).total_seconds())
    if secs < 60:
        return f"{max(secs, 0)}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"
