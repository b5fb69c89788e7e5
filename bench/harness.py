"""The measuring harness: rows, alternating iterations, percentiles, verdicts.

Every row compares Corral with the raw tool it replaces, measured in the same run and, where
the two can run one after the other, alternating (Corral first on even iterations, the
baseline first on odd ones) so that drift of the machine (page cache, other load) hits both.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Op = Callable[[int], Awaitable[float]]


def pct(samples: list[float], q: int) -> float:
    """The q-th percentile (inclusive method: exact on small samples)."""
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


@dataclass
class Row:
    section: str
    name: str
    baseline: str  # what the raw tool side does
    unit: str = "ms"
    corral: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    higher_is_better: bool = False
    target: str = ""  # the DESIGN.md target, as text
    # Judges the row against its target: True met, False missed, None not judged.
    check: Callable[[Row], bool | None] | None = None
    note: str = ""
    unavailable: str | None = None  # why the row could not be measured

    @property
    def p50(self) -> float:
        return pct(self.corral, 50)

    @property
    def p95(self) -> float:
        return pct(self.corral, 95)

    @property
    def base_p50(self) -> float:
        return pct(self.base, 50)

    @property
    def base_p95(self) -> float:
        return pct(self.base, 95)

    @property
    def ratio(self) -> float | None:
        if not self.corral or not self.base or self.base_p50 == 0:
            return None
        return self.p50 / self.base_p50

    def verdict(self) -> str:
        if self.unavailable:
            return "not available"
        if not self.target:
            return ""
        if self.check is None or not self.corral:
            return "not judged"
        ok = self.check(self)
        if ok is None:
            return "not judged"
        return "met" if ok else "MISSED"


async def alternate(n: int, corral: Op, base: Op) -> tuple[list[float], list[float]]:
    """n iterations of each side, alternating which goes first. Each op returns the value it
    measured (so it decides what is timed: set-up and clean-up stay outside the clock)."""
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(n):
        if i % 2 == 0:
            ours.append(await corral(i))
            theirs.append(await base(i))
        else:
            theirs.append(await base(i))
            ours.append(await corral(i))
    return ours, theirs


class Clock:
    """`with Clock() as c: ...` then `c.ms`."""

    def __enter__(self) -> Clock:
        self.start = time.perf_counter()
        self.ms = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = (time.perf_counter() - self.start) * 1000


def under(limit: float, which: str = "p50") -> Callable[[Row], bool | None]:
    return lambda r: getattr(r, which) <= limit


def at_least(limit: float, which: str = "p50") -> Callable[[Row], bool | None]:
    return lambda r: getattr(r, which) >= limit


def no_slower_than_baseline(r: Row) -> bool | None:
    return None if r.ratio is None else r.ratio <= 1.0
