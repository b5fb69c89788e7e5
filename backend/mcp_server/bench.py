"""Measuring the MCP server the way an agent meets it: the real `mcp` client, the real
`corral mcp` subprocess over stdio. Used by tests and by bench/ (`list_tasks_roundtrips`)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters


def corral_command() -> list[str]:
    """`corral` next to this interpreter (the venv's console script), else `python -m`."""
    script = Path(sys.executable).parent / "corral"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "backend.cli.main"]


def stdio_params(
    cwd: Path | str | None = None, env: dict[str, str] | None = None, *extra: str
) -> StdioServerParameters:
    """How to start `corral mcp` over stdio; `env` is added to this process's environment."""
    exe, *pre = corral_command()
    return StdioServerParameters(
        command=exe,
        args=[*pre, "mcp", *extra],
        env={**os.environ, **(env or {})},
        cwd=str(cwd) if cwd else None,
    )


async def list_tasks_roundtrips(
    n: int = 200,
    *,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    warmup: int = 10,
) -> list[float]:
    """Milliseconds per `list_tasks` call over one stdio session, `n` calls after `warmup`."""
    samples: list[float] = []
    async with Client(stdio_params(cwd, env)) as client:
        for _ in range(warmup):
            await client.call_tool("list_tasks", {})
        for _ in range(n):
            start = time.perf_counter()
            result = await client.call_tool("list_tasks", {})
            samples.append((time.perf_counter() - start) * 1000)
            if result.is_error:
                raise RuntimeError(f"list_tasks failed: {result.content}")
    return samples


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 (inclusive method: exact on small samples)."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "max": max(samples), "n": float(len(samples))}
