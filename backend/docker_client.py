"""One place that reaches the Docker engine, and turns 'cannot reach it' into advice."""

from __future__ import annotations

import os
import threading

import docker
from docker.errors import DockerException

from backend.errors import EngineUnavailableError

_lock = threading.Lock()
_client: docker.DockerClient | None = None


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def unreachable(exc: BaseException) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"Docker engine not reachable at {engine_address()} ({type(exc).__name__}); "
        "start it (sudo systemctl start docker, or sudo dockerd &) or point DOCKER_HOST at one"
    )


def client() -> docker.DockerClient:
    """A shared client; created on first use so importing Corral never touches Docker."""
    global _client
    with _lock:
        if _client is None:
            try:
                c = docker.DockerClient(base_url=engine_address(), timeout=120)
                c.ping()
            except (DockerException, OSError) as exc:
                raise unreachable(exc) from exc
            _client = c
        return _client


def reset() -> None:
    """Forget the client (after the engine restarted or went away)."""
    global _client
    with _lock:
        _client = None


def ping() -> bool:
    try:
        client().ping()
        return True
    except Exception:
        reset()
        return False
