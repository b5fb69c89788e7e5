"""Hardened Docker sandboxes through the Engine API (docker SDK). Synchronous on purpose:
callers run these in a thread (`asyncio.to_thread`) so no event loop ever blocks on Docker."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import signal
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import LogConfig, Mount
from requests.exceptions import ConnectionError as RequestsConnectionError

from backend import docker_client
from backend.errors import CorralError, ImageMissingError, NotFoundError, UsageError
from backend.models import Sample, TaskSpec

WORKSPACE = "/workspace"
BOX = "/corral"  # the task box: agent scripts and logs (see backend.agents)
# PID 1 is Docker's init (tini); this loop only keeps the sandbox alive and exits on TERM.
KEEPALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"]
T = TypeVar("T")
_ENGINE_ERRORS = (RequestsConnectionError, ConnectionError)


@dataclass(frozen=True)
class ImageUser:
    user: str | None  # as Docker takes it ("agent", "1000:1000"), None = root
    uid: int  # numeric uid, for chowning the workspace


def guard(fn: Callable[[], T]) -> T:
    """Run a Docker call; an unreachable engine becomes EngineUnavailableError."""
    try:
        return fn()
    except _ENGINE_ERRORS as exc:
        docker_client.reset()
        raise docker_client.unreachable(exc) from exc


def image_user(image: str) -> ImageUser:
    """The non-root user an image declares (USER or label corral.uid), else root."""
    cli = docker_client.client()
    try:
        img = guard(lambda: cli.images.get(image))
    except ImageNotFound as exc:
        raise missing_image(image) from exc
    config = img.attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    user = (config.get("User") or "").strip() or None
    if "corral.uid" in labels:
        return ImageUser(user, int(labels["corral.uid"]))
    if not user or user in ("root", "0", "0:0"):
        return ImageUser(None, 0)
    head = user.split(":")[0]
    if head.isdigit():
        return ImageUser(user, int(head))
    return ImageUser(user, _uid_from_passwd(image, head))


def _uid_from_passwd(image: str, name: str) -> int:
    cli = docker_client.client()
    container = guard(lambda: cli.containers.create(image, command=["true"], network_mode="none"))
    try:
        stream, _ = container.get_archive("/etc/passwd")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("passwd")
            text = member.read().decode() if member else ""
    finally:
        container.remove(force=True)
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[0] == name:
            return int(parts[2])
    raise UsageError(f"image {image} runs as user {name!r}, which its /etc/passwd lacks; fix it")


def missing_image(image: str) -> ImageMissingError:
    if image.startswith("corral/"):
        name = image.split(":")[0].removeprefix("corral/").removeprefix("sandbox-")
        hint = f"build it with: corral images build {name}"
    else:
        hint = f"pull or build it (docker pull {image}), or pick another with --image"
    return ImageMissingError(f"image {image} is not on this Docker engine; {hint}")


def check_limits(spec: TaskSpec) -> None:
    cores = os.cpu_count() or 1
    if not 0.01 <= spec.cpus <= cores:
        raise UsageError(f"--cpus {spec.cpus} is out of range; this host allows 0.01 to {cores}")
    if spec.memory_bytes < 8 * 1024**2:
        raise UsageError(f"--memory {spec.memory} is below the 8m minimum; give more, e.g. 512m")
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if spec.memory_bytes > total:
        raise UsageError(
            f"--memory {spec.memory} is more than this host has ({total // 1024**2}m); give less"
        )
    if not 16 <= spec.pids_limit <= 1_000_000:
        raise UsageError(f"pids limit {spec.pids_limit} is out of range 16..1000000")


def create(
    *,
    task_id: str,
    name: str,
    slug: str,
    home: Path,
    spec: TaskSpec,
    workspace: Path,
    box: Path,
    env: dict[str, str],
    image: str | None = None,
    log_max_size: str = "10m",
    log_max_files: int = 3,
) -> str:
    """Create and start a sandbox; returns the container id."""
    cli = docker_client.client()
    check_limits(spec)
    if spec.network not in ("none", "bridge", "host"):
        try:
            guard(lambda: cli.networks.get(spec.network))
        except NotFound as exc:
            raise UsageError(
                f"Docker network {spec.network!r} does not exist; create it "
                "(docker network create NAME) or use --network none|bridge"
            ) from exc
    if spec.network == "host":
        raise UsageError("--network host would let the sandbox reach the host; use bridge")
    kwargs: dict[str, Any] = dict(
        image=image or spec.image,
        command=KEEPALIVE,
        name=f"corral-{slug[:40]}-{task_id[:8]}",
        hostname=slug[:63] or "sandbox",
        labels={"corral.task": task_id, "corral.home": str(home), "corral.name": name[:200]},
        environment=env,
        user=spec.user or "",
        working_dir=WORKSPACE,
        mounts=[
            Mount(WORKSPACE, str(workspace), type="bind"),
            Mount(BOX, str(box), type="bind"),
        ],
        init=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        pids_limit=spec.pids_limit,
        mem_limit=spec.memory_bytes,
        memswap_limit=spec.memory_bytes,
        nano_cpus=int(spec.cpus * 1e9),
        network_mode=spec.network,
        log_config=LogConfig(
            type="json-file", config={"max-size": log_max_size, "max-file": str(log_max_files)}
        ),
        detach=True,
    )
    try:
        container = guard(lambda: cli.containers.create(**kwargs))
    except ImageNotFound as exc:
        raise missing_image(kwargs["image"]) from exc
    except APIError as exc:
        raise CorralError(f"Docker refused to create the sandbox: {_explain(exc)}") from exc
    try:
        guard(container.start)
    except APIError as exc:
        container.remove(force=True)
        raise CorralError(f"Docker could not start the sandbox: {_explain(exc)}") from exc
    return str(container.id)


def _explain(exc: APIError) -> str:
    return str(exc.explanation or exc).strip().splitlines()[0]


def _container(container_id: str) -> Any:
    cli = docker_client.client()
    try:
        return guard(lambda: cli.containers.get(container_id))
    except NotFound as exc:
        raise NotFoundError(
            f"sandbox container {container_id[:12]} no longer exists; resume-task recreates it"
        ) from exc


def exists(container_id: str) -> bool:
    try:
        _container(container_id)
        return True
    except NotFoundError:
        return False


def status(container_id: str) -> str | None:
    """Docker's status ('running', 'exited', ...) or None when the container is gone."""
    try:
        c = _container(container_id)
    except NotFoundError:
        return None
    return str(c.status)


def start(container_id: str) -> None:
    guard(_container(container_id).start)


def _thaw(c: Any) -> None:
    """Unpause a sandbox left frozen (e.g. by a process killed mid-checkpoint). Signals to a
    frozen process are never delivered, so stopping or force-removing it would make the engine
    wait forever, holding locks that block other operations (seen on Docker 20.10)."""
    if c.status == "paused":
        guard(c.unpause)


def stop(container_id: str, timeout: int = 5) -> None:
    c = _container(container_id)
    _thaw(c)
    guard(lambda: c.stop(timeout=timeout))


def remove(container_id: str) -> None:
    try:
        c = _container(container_id)
    except NotFoundError:
        return
    _thaw(c)
    guard(lambda: c.remove(force=True, v=True))


def inspect(container_id: str) -> dict[str, Any]:
    return dict(_container(container_id).attrs)


@dataclass
class ExecOutcome:
    exit_code: int | None
    output: bytes
    truncated: bool
    timed_out: bool
    duration_ms: int


def exec_run(container_id: str, argv: list[str], **kwargs: Any) -> ExecOutcome:
    """`_exec_run_once`, but a sandbox a checkpoint has frozen for a moment (docker pause,
    during which Docker refuses to start an exec) is waited out instead of failing."""
    sink: Callable[[bytes], None] | None = kwargs.pop("on_output", None)
    out: ExecOutcome | None = None
    for _attempt in range(5):
        _wait_while_paused(container_id)
        held: list[bytes] = []  # output that may be Docker's refusal, not the command's
        gate = _PauseGate(sink, held)
        out = _exec_run_once(container_id, argv, on_output=gate, **kwargs)
        refused = (out.exit_code == 126 and b"paused" in out.output[:200]) or (
            out.exit_code is None
            and not out.output
            and not out.timed_out
            and not kwargs.get("detach")
        )
        if not refused:
            for chunk in held:
                if sink:
                    sink(chunk)
            return out
    assert out is not None
    return out


class _PauseGate:
    def __init__(self, sink: Callable[[bytes], None] | None, held: list[bytes]) -> None:
        self.sink, self.held = sink, held

    def __call__(self, chunk: bytes) -> None:
        if self.held or (self._first and b"paused" in chunk[:200]):
            self.held.append(chunk)
        elif self.sink:
            self.sink(chunk)
        self._first = False

    _first = True


def _wait_while_paused(container_id: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and _container(container_id).status == "paused":
        time.sleep(0.02)


def _exec_run_once(
    container_id: str,
    argv: list[str],
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    on_output: Callable[[bytes], None] | None = None,
    keep_bytes: int = 1 << 20,
    workdir: str = WORKSPACE,
    detach: bool = False,
) -> ExecOutcome:
    """Run argv in the sandbox, streaming output to `on_output`; kill it at `timeout` seconds.

    Output kept in the result is capped at `keep_bytes` (the tail survives: errors come last).
    """
    c = _container(container_id)
    if c.status != "running":
        raise CorralError(f"sandbox {container_id[:12]} is {c.status}, not running")
    api = docker_client.client().api
    started = time.monotonic()
    exec_id = guard(
        lambda: api.exec_create(
            c.id,
            argv,
            stdout=True,
            stderr=True,
            user=user or "",
            environment=env,
            workdir=workdir,
        )
    )["Id"]
    if detach:
        guard(lambda: api.exec_start(exec_id, detach=True))
        return ExecOutcome(None, b"", False, False, 0)
    chunks: queue.Queue[bytes | None] = queue.Queue()

    def pump() -> None:
        try:
            for chunk in api.exec_start(exec_id, stream=True):
                chunks.put(chunk)
        except (DockerException, OSError):
            pass
        finally:
            chunks.put(None)

    threading.Thread(target=pump, daemon=True, name="corral-exec").start()
    buf = bytearray()
    truncated = timed_out = False
    deadline = started + timeout if timeout else None
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            chunk = chunks.get(timeout=wait)
        except queue.Empty:
            timed_out = True
            _kill_exec(api, exec_id)
            break
        if chunk is None:
            break
        if on_output:
            on_output(chunk)
        buf += chunk
        if len(buf) > keep_bytes:
            del buf[: len(buf) - keep_bytes]
            truncated = True
    exit_code = None if timed_out else api.exec_inspect(exec_id).get("ExitCode")
    return ExecOutcome(
        exit_code, bytes(buf), truncated, timed_out, int((time.monotonic() - started) * 1000)
    )


def _kill_exec(api: Any, exec_id: str) -> None:
    """Kill an exec'd process and its children. Docker reports the host pid; we walk /proc."""
    pid = int(api.exec_inspect(exec_id).get("Pid") or 0)
    if pid <= 0 or not Path(f"/proc/{pid}").exists():
        return
    for p in reversed(_descendants(pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    out, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in kids:
                out.append(int(k))
                todo.append(int(k))
    return out


def container_logs(
    container_id: str, *, follow: bool = False, tail: int | str = "all"
) -> Iterator[str]:
    c = _container(container_id)
    for chunk in guard(lambda: c.logs(stream=True, follow=follow, timestamps=True, tail=tail)):
        yield chunk.decode(errors="replace")


def stats_stream(task_id: str, container_id: str) -> Iterator[Sample]:
    """Samples about once a second until the container stops."""
    c = _container(container_id)
    for raw in guard(lambda: c.stats(stream=True, decode=True)):
        sample = sample_from_stats(task_id, raw)
        if sample is not None:
            yield sample


def sample_from_stats(task_id: str, raw: dict[str, Any]) -> Sample | None:
    cpu, pre = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    if not cpu:
        return None
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get(
        "total_usage", 0
    )
    sys_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or [1])
    percent = (cpu_delta / sys_delta) * ncpu * 100.0 if sys_delta > 0 and cpu_delta > 0 else 0.0
    mem = raw.get("memory_stats") or {}
    usage = int(mem.get("usage", 0))
    cache = int(
        (mem.get("stats") or {}).get("inactive_file", 0)
        or (mem.get("stats") or {}).get("total_inactive_file", 0)
    )
    return Sample(
        task_id=task_id,
        cpu_percent=round(percent, 2),
        memory_bytes=max(usage - cache, 0),
        memory_limit=int(mem.get("limit", 0)),
        pids=int((raw.get("pids_stats") or {}).get("current", 0)),
    )


def labelled_containers(home: Path) -> list[dict[str, Any]]:
    """Containers of this Corral home, from one list call (no inspect per container)."""
    api = docker_client.client().api
    found = guard(lambda: api.containers(all=True, filters={"label": f"corral.home={home}"}))
    return [
        {
            "id": c["Id"],
            "name": (c.get("Names") or ["?"])[0].lstrip("/"),
            "task": (c.get("Labels") or {}).get("corral.task", ""),
            "status": c.get("State", ""),
        }
        for c in found
    ]


def oom_killed(container_id: str) -> bool:
    try:
        return bool(inspect(container_id).get("State", {}).get("OOMKilled"))
    except NotFoundError:
        return False
