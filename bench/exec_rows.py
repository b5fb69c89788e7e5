"""Exec round trip of `true`: TaskService.exec vs the docker SDK and vs `docker exec`."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

from docker.types import Mount

from backend import docker_client
from bench.env import KEEPALIVE, BenchEnv, corral_exe, discard, git, make_repo
from bench.harness import Clock, Row, alternate
from bench.plan import Plan


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    repo = make_repo(env.root / "exec-repo", 10)
    svc = env.service()
    task = await svc.create_task(f"bench-exec-{uuid.uuid4().hex[:4]}", repo=str(repo), image=image)
    assert task.container_id
    ws = env.root / "exec-raw"
    git(repo, "clone", "-q", "--local", str(repo), str(ws))
    cli = docker_client.client()
    raw = cli.containers.run(
        image, KEEPALIVE, detach=True, labels=env.labels,
        mounts=[Mount("/workspace", str(ws), type="bind")], user=task.spec.user or "",
    )  # fmt: skip

    async def corral_exec(i: int) -> float:
        with Clock() as c:
            out = await svc.exec(task.id, ["true"])
        if out.exit_code != 0:
            raise RuntimeError(f"exec true exited {out.exit_code}")
        return c.ms

    async def sdk_exec(i: int) -> float:
        def call() -> float:
            with Clock() as c:
                code, _ = raw.exec_run(["true"])
            if code != 0:
                raise RuntimeError(f"exec_run true exited {code}")
            return c.ms

        return await asyncio.to_thread(call)

    def timed_process(argv: list[str], **kw: object) -> float:
        with Clock() as c:
            proc = subprocess.run(argv, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[:3]} exited {proc.returncode}: {proc.stderr.strip()}")
        return c.ms

    async def docker_cli(i: int) -> float:
        return await asyncio.to_thread(timed_process, ["docker", "exec", str(raw.id), "true"])

    async def corral_cli(i: int) -> float:
        argv = [corral_exe(), "exec", task.id, "--", "true"]
        return await asyncio.to_thread(timed_process, argv, env=env.env())

    rows = []
    ours, theirs = await alternate(plan.exec, corral_exec, sdk_exec)
    rows.append(Row(
        "exec", "exec `true`, in-process", "docker SDK container.exec_run",
        corral=ours, base=theirs,
        note="TaskService.exec also writes the command to the task log and records an execution "
        "row with its event",
    ))  # fmt: skip
    ours, theirs = await alternate(plan.exec, corral_exec, docker_cli)
    rows.append(Row(
        "exec", "exec `true`, in-process", "`docker exec C true` (a process)",
        corral=ours, base=theirs,
    ))  # fmt: skip
    n = max(2, plan.exec // 2)
    ours, theirs = await alternate(n, corral_cli, docker_cli)
    rows.append(Row(
        "exec", "`corral exec T -- true` (a process)", "`docker exec C true` (a process)",
        corral=ours, base=theirs, note="both whole processes: Python start-up is Corral's cost",
    ))  # fmt: skip
    raw.remove(force=True)
    await discard(svc, task.id)
    return rows
