"""Where Corral keeps things: XDG dirs from platformdirs, `CORRAL_HOME` overrides the data dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    override = os.environ.get("CORRAL_HOME")
    if override:
        return Path(override).expanduser().resolve()
    return Path(platformdirs.user_data_dir("corral", appauthor=False))


def config_dir() -> Path:
    override = os.environ.get("CORRAL_CONFIG_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return Path(platformdirs.user_config_dir("corral", appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.toml"


def db_path(home: Path) -> Path:
    return home / "corral.db"


def task_dir(home: Path, task_id: str) -> Path:
    return home / "tasks" / task_id


def workspace_dir(home: Path, task_id: str) -> Path:
    return task_dir(home, task_id) / "workspace"


def box_dir(home: Path, task_id: str) -> Path:
    """Mounted at /corral in the sandbox: the agent's scripts and the task's logs."""
    return task_dir(home, task_id) / "box"


def log_dir(home: Path, task_id: str) -> Path:
    return box_dir(home, task_id) / "logs"


def env_file(home: Path, task_id: str) -> Path:
    """Task env values live here (mode 0600), never in the database: they may be secrets."""
    return task_dir(home, task_id) / "env.json"
