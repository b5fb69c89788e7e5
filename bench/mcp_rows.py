"""MCP `list_tasks` round trip over stdio with the real `mcp` client: `corral mcp` vs the
same package's bare server returning the same payload (the protocol's floor). Both sessions
are open at once; calls alternate between them."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from backend.store import Store
from bench.env import BenchEnv
from bench.harness import Row, alternate, under
from bench.plan import Plan
from bench.store_rows import fake_rows, fill

TASKS = 20  # a realistic session: a screenful of tasks


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    try:
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        from backend.mcp_server.bench import stdio_params
    except ImportError as exc:
        return [Row("mcp", "list_tasks round trip (stdio)", "-", unavailable=f"{exc}")]
    home = env.root / "mcp-home"
    store = await Store.open(home / "corral.db")
    await fill(store, fake_rows(TASKS))
    await store.close()
    corral_params = stdio_params(env.root, {"CORRAL_HOME": str(home)})
    async with Client(corral_params) as ours_client:
        first = await ours_client.call_tool("list_tasks", {})
        if first.is_error:
            raise RuntimeError(f"corral list_tasks failed: {first.content}")
        payload = env.root / "mcp-payload.json"
        payload.write_text(json.dumps(first.structured_content))
        floor = StdioServerParameters(
            command=sys.executable, args=["-m", "bench.mcp_floor", str(payload)],
            cwd=str(_repo_root()),
        )  # fmt: skip
        async with Client(floor) as floor_client:

            def timed(client: Any) -> Any:
                async def call(i: int) -> float:
                    start = time.perf_counter()
                    result = await client.call_tool("list_tasks", {})
                    ms = (time.perf_counter() - start) * 1000
                    if result.is_error:
                        raise RuntimeError(f"list_tasks failed: {result.content}")
                    return ms

                return call

            for _ in range(5):  # warm both: first calls import and open things
                await ours_client.call_tool("list_tasks", {})
                await floor_client.call_tool("list_tasks", {})
            ours, theirs = await alternate(plan.mcp, timed(ours_client), timed(floor_client))
    live = len((first.structured_content or {}).get("items", []))
    return [
        Row("mcp", f"list_tasks round trip, stdio ({live} tasks)",
            "bare `mcp` stdio server, same payload", corral=ours, base=theirs,
            target="p50 <= 20 ms", check=under(20),
            note="real `mcp` client; `corral mcp` reads the store on every call"),
    ]  # fmt: skip


def _repo_root() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
