"""create-task vs `docker run -d` + `git clone --local` + a branch, in-process and as processes.

Both sides end in the same state: a running container with the workspace bind-mounted and the
workspace checked out on a new branch of the user's repo. Clean-up is outside the clock."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
import uuid

from docker.types import Mount

from backend import docker_client
from bench.env import KEEPALIVE, BenchEnv, corral_exe, discard, git, make_repo
from bench.harness import Clock, Row, alternate, no_slower_than_baseline
from bench.plan import Plan

TARGET = "p50 no slower than the raw tools (ratio <= 1)"


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    repo = make_repo(env.root / "create-repo", 200)
    svc = env.service()
    cli = docker_client.client()
    raw_dir = env.root / "create-raw"
    raw_dir.mkdir()

    async def corral_call(i: int) -> float:
        name = f"bench-c{i}-{uuid.uuid4().hex[:4]}"
        with Clock() as c:
            task = await svc.create_task(name, repo=str(repo), image=image)
        await discard(svc, task.id)
        return c.ms

    def raw_call_sync() -> float:
        tag = uuid.uuid4().hex[:8]
        branch, ws = f"raw/{tag}", raw_dir / tag
        with Clock() as c:
            git(repo, "branch", branch)
            git(repo, "clone", "-q", "--local", "--branch", branch, str(repo), str(ws))
            cont = cli.containers.run(
                image, KEEPALIVE, detach=True, labels=env.labels,
                mounts=[Mount("/workspace", str(ws), type="bind")],
            )  # fmt: skip
        cont.remove(force=True)
        shutil.rmtree(ws)
        git(repo, "branch", "-D", branch)
        return c.ms

    async def raw_call(i: int) -> float:
        return await asyncio.to_thread(raw_call_sync)

    ours, theirs = await alternate(plan.create, corral_call, raw_call)
    in_process = Row(
        "create", f"create-task, in-process ({image})",
        "docker SDK containers.run + git branch + git clone --local",
        corral=ours, base=theirs, target=TARGET, check=no_slower_than_baseline,
        note="TaskService.create_task: validates, records the task, hardened container, chowns "
        "the workspace to the sandbox user",
    )  # fmt: skip

    async def corral_cli(i: int) -> float:
        name = f"bench-p{i}-{uuid.uuid4().hex[:4]}"
        argv = [corral_exe(), "create-task", name, "--repo", str(repo), "--image", image, "--json"]
        with Clock() as c:
            proc = await asyncio.to_thread(
                subprocess.run, argv, capture_output=True, text=True, env=env.env()
            )
        if proc.returncode != 0:
            raise RuntimeError(f"corral create-task failed: {proc.stderr.strip()}")
        await discard(svc, name)
        return c.ms

    def raw_cli_sync() -> float:
        tag = uuid.uuid4().hex[:8]
        branch, ws = f"raw/{tag}", raw_dir / tag
        script = (
            f"git -C {shlex.quote(str(repo))} branch {branch} && "
            f"git clone -q --local --branch {branch} {shlex.quote(str(repo))} {ws} && "
            f"docker run -d --label corral.bench={env.run_id} -v {ws}:/workspace "
            f"{image} {shlex.join(KEEPALIVE)}"
        )
        with Clock() as c:
            proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"raw create failed: {proc.stderr.strip()}")
        cli.containers.get(proc.stdout.strip()).remove(force=True)
        shutil.rmtree(ws)
        git(repo, "branch", "-D", branch)
        return c.ms

    async def raw_cli(i: int) -> float:
        return await asyncio.to_thread(raw_cli_sync)

    ours, theirs = await alternate(plan.create_cli, corral_cli, raw_cli)
    process = Row(
        "create", f"create-task, whole process ({image})",
        "sh -c 'git branch && git clone --local && docker run -d'",
        corral=ours, base=theirs, target=TARGET, check=no_slower_than_baseline,
        note="`corral create-task NAME --repo R --image I --json`, Python start-up included",
    )  # fmt: skip
    return [in_process, process]
