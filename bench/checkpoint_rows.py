"""Checkpoint and restore at 1k/10k/50k files with 10 changed, vs the raw tools in a shell.

Per repo size, one Corral task and one raw pair (a `git clone --local` + a container of the
same image, user and mount). Two phases, each side alternating:
  A. 10 files changed, container untouched: `checkpoint` vs `git add -A && git commit`.
  B. 10 files changed and a file written in the container outside /workspace: `checkpoint` vs
     `git add -A && git commit && docker commit`, then restore to the previous checkpoint vs
     `git reset --hard && git clean -fd && docker rm -f && docker run -d` from the older image.
Corral's commands go through the registry (parse_line + handler), as the TUI and MCP call them.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any

from backend import docker_client
from bench.env import (
    GIT_ID,
    KEEPALIVE,
    BenchEnv,
    changed_files,
    discard,
    git,
    make_repo,
    sh,
    touch_files,
)
from bench.harness import Clock, Row, alternate, under
from bench.plan import Plan

CK_TARGET = "p50 <= 150 ms (DESIGN: 10k files, 10 changed)"
RS_TARGET = "p95 <= 1 s"
GIT_COMMIT = f"git add -A && git {shlex.join(GIT_ID)} commit --allow-empty -q -m"


def _unavailable(reason: str) -> list[Row]:
    return [
        Row("checkpoint", "checkpoint / restore", "git commit, docker commit + run",
            unavailable=reason),
    ]  # fmt: skip


async def run(env: BenchEnv, plan: Plan, image: str) -> list[Row]:
    try:
        from backend.commands.context import Context
        from backend.commands.parsing import parse_line
        from backend.commands.registry import load_all

        load_all()
        parse_line("checkpoint x")
        parse_line("restore-checkpoint x 1")
    except Exception as exc:
        return _unavailable(f"checkpoint commands not usable: {exc}")
    rows: list[Row] = []
    p50s: dict[int, float] = {}
    for size, n_plain, n_changed in plan.checkpoint:
        got = await _one_size(env, size, n_plain, n_changed, image, Context, parse_line)
        rows += got
        p50s[size] = got[0].p50
    if len(p50s) > 1:
        small, big = min(p50s), max(p50s)
        rows[0].note += (
            f"; growth with repo size: checkpoint p50 at {big:,} files / at {small:,} files = "
            f"{p50s[big] / p50s[small]:.2f}x for {big / small:.0f}x the files"
        )
    return rows


class RawPair:
    """A plain clone plus a plain container: what a person would checkpoint by hand."""

    def __init__(self, env: BenchEnv, repo: Path, ws: Path, image: str, user: str) -> None:
        git(repo, "clone", "-q", "--local", str(repo), str(ws))
        self.env, self.ws, self.image, self.user = env, ws, image, user
        self.container = self._run(image)

    def _run(self, image: str) -> str:
        cli = docker_client.client()
        from docker.types import Mount

        c = cli.containers.run(
            image, KEEPALIVE, detach=True, labels=self.env.labels, user=self.user,
            mounts=[Mount("/workspace", str(self.ws), type="bind")],
        )  # fmt: skip
        return str(c.id)

    def docker_run_cmd(self, image: str) -> str:
        return (
            f"docker run -d --label corral.bench={self.env.run_id} --user '{self.user}' "
            f"-v {self.ws}:/workspace {image} {shlex.join(KEEPALIVE)}"
        )

    def mark(self, tag: str) -> None:
        _mark(self.container, tag)


def _mark(container: str, tag: str) -> None:
    """Write a file outside /workspace: the container's filesystem changed."""
    c = docker_client.client().containers.get(container)
    code, out = c.exec_run(["sh", "-c", f"echo {tag} > /tmp/bench-marker"])
    if code != 0:
        raise RuntimeError(f"could not write in the container: {out!r}")


async def _one_size(
    env: BenchEnv, size: int, n_plain: int, n_changed: int, image: str, context: Any, parse: Any
) -> list[Row]:
    svc = env.service()
    repo = make_repo(env.root / f"ck-{size}", size)
    task = await svc.create_task(f"bench-ck-{size}", repo=str(repo), image=image)
    assert task.workspace and task.container_id
    ws = Path(task.workspace)
    raw = await asyncio.to_thread(RawPair, env, repo, env.root / f"ck-raw-{size}", image,
                                  task.spec.user or "")  # fmt: skip
    ours_files, raw_files = changed_files(ws), changed_files(raw.ws)
    ctx = context(service=svc)

    async def command(line: str) -> Any:
        cmd, args = parse(line)
        return await cmd.handler(ctx, args)

    # One untimed checkpoint per side first: both then start from a fresh index.
    first = await command(f"checkpoint {task.id} -m start")
    await asyncio.to_thread(sh, f"{GIT_COMMIT} start", raw.ws)

    async def ours_plain(i: int) -> float:
        touch_files(ours_files, f"a{i}")
        with Clock() as c:
            await command(f"checkpoint {task.id} -m a{i}")
        return c.ms

    async def raw_plain(i: int) -> float:
        touch_files(raw_files, f"a{i}")
        with Clock() as c:
            await asyncio.to_thread(sh, f"{GIT_COMMIT} a{i}", raw.ws)
        return c.ms

    plain_ours, plain_raw = await alternate(n_plain, ours_plain, raw_plain)

    prev_n = first.n
    prev_raw = await asyncio.to_thread(_raw_checkpoint, raw, "b-start")
    restore_ours: list[float] = []
    restore_raw: list[float] = []

    async def ours_changed(i: int) -> float:
        nonlocal prev_n
        touch_files(ours_files, f"b{i}")
        current = (await svc.get(task.id)).container_id or ""
        await asyncio.to_thread(_mark, current, f"b{i}")
        with Clock() as c:
            cp = await command(f"checkpoint {task.id} -m b{i}")
        with Clock() as r:
            result = await command(f"restore-checkpoint {task.id} {prev_n}")
        if not result.container_recreated:
            raise RuntimeError("restore kept the container although its filesystem changed")
        restore_ours.append(r.ms)
        prev_n = cp.n
        return c.ms

    async def raw_changed(i: int) -> float:
        nonlocal prev_raw
        touch_files(raw_files, f"b{i}")
        await asyncio.to_thread(raw.mark, f"b{i}")
        with Clock() as c:
            now = await asyncio.to_thread(_raw_checkpoint, raw, f"b{i}")
        with Clock() as r:
            await asyncio.to_thread(_raw_restore, raw, *prev_raw)
        restore_raw.append(r.ms)
        prev_raw = now
        return c.ms

    changed_ours, changed_raw = await alternate(n_changed, ours_changed, raw_changed)
    await discard(svc, task.id)
    label = f"{size:,} files, 10 changed"
    return [
        Row("checkpoint", f"checkpoint, {label}, container unchanged",
            "`git add -A && git commit`", corral=plain_ours, base=plain_raw,
            target=CK_TARGET, check=under(150),
            note="Corral: temp-index commit object + ref + mirror into the user's repo + "
            "container fingerprint (no docker commit: the container did not change)"),
        Row("checkpoint", f"checkpoint, {label}, container changed",
            "`git add -A && git commit && docker commit C`", corral=changed_ours,
            base=changed_raw),
        Row("checkpoint", f"restore, {label} (files + container)",
            "`git reset --hard && git clean -fd && docker rm -f && docker run -d IMG`",
            corral=restore_ours, base=restore_raw, target=RS_TARGET, check=under(1000, "p95"),
            note="Corral's restore first takes a safety checkpoint (so it can be undone), then "
            "writes the files and recreates the container from the checkpoint's image"),
    ]  # fmt: skip


def _raw_checkpoint(raw: RawPair, tag: str) -> tuple[str, str]:
    """(commit, image) by hand, in one shell."""
    out = sh(
        f"{GIT_COMMIT} {tag} && git rev-parse HEAD && "
        f"docker commit --change 'LABEL corral.bench={raw.env.run_id}' {raw.container}",
        raw.ws,
    ).split()
    return out[-2], out[-1]


def _raw_restore(raw: RawPair, commit: str, image: str) -> None:
    out = sh(
        f"git reset -q --hard {commit} && git clean -qfd && docker rm -f {raw.container} "
        f">/dev/null && {raw.docker_run_cmd(image)}",
        raw.ws,
    )
    raw.container = out.split()[-1]
