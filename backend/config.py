"""User settings: `~/.config/corral/config.toml`, env vars `CORRAL_<SECTION>__<KEY>`, and a repo's
`.corral.toml` (its `[sandbox]` section overrides the user's for tasks of that repo).

Env wins over the file so CI and tests can steer a run without writing config. The sources are
merged here in a few lines rather than by pydantic-settings, whose import alone (50 ms) was a
sixth of the TUI's time to first frame and a seventh of every CLI call.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend import paths
from backend.config_sources import raw_settings
from backend.errors import UsageError

DEFAULT_IMAGE = "corral/sandbox-developer"


class SandboxSettings(BaseModel):
    """Defaults for every new sandbox; each can be overridden per task."""

    image: str = Field(DEFAULT_IMAGE, description="Image for new tasks.")
    cpus: float = Field(2.0, description="CPU limit (cores).")
    memory: str = Field("2g", description="Memory limit, e.g. 512m, 2g.")
    pids_limit: int = Field(512, description="Most processes a sandbox may run.")
    network: str = Field("none", description="none, bridge, or a named Docker network.")
    log_max_size: str = Field("10m", description="Docker log size before rotation.")
    log_max_files: int = Field(3, description="Rotated Docker log files kept.")


class AgentSettings(BaseModel):
    """Agent presets: name -> command run inside the sandbox (through `sh -c`)."""

    presets: dict[str, str] = Field(
        default_factory=lambda: {
            "claude": "claude --dangerously-skip-permissions",
            "codex": "codex --full-auto",
            "aider": "aider --yes-always",
            "opencode": "opencode",
            "shell": "exec bash -l 2>/dev/null || exec sh -l",
        }
    )


class LogSettings(BaseModel):
    max_bytes: int = Field(8 * 1024 * 1024, description="A task log file rotates past this size.")
    keep: int = Field(2, description="Rotated files kept per log (older ones are deleted).")


class TuiSettings(BaseModel):
    theme: str = Field("textual-dark", description="Textual theme name (light: textual-light).")
    keys: dict[str, str] = Field(
        default_factory=dict, description="Binding id -> key, e.g. checkpoint = 'c'."
    )


class McpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8765


class Settings(BaseModel):
    """`Settings()` is the defaults alone; `load_settings()` adds the file and the env."""

    model_config = ConfigDict(extra="ignore")

    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    agents: AgentSettings = Field(default_factory=AgentSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    tui: TuiSettings = Field(default_factory=TuiSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)


def load_settings(raw: dict[str, Any] | None = None) -> Settings:
    """Validated settings; `raw` is what config_sources.raw_settings() already read, if the
    caller has it (the TUI reads it before its first frame)."""
    file = paths.config_file()
    try:
        return Settings.model_validate(raw_settings() if raw is None else raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        env = "CORRAL_" + "__".join(str(p) for p in err["loc"]).upper()
        if env in {k.upper() for k in os.environ}:  # env wins over the file: it is the culprit
            raise UsageError(f"env {env} is invalid: {err['msg']}; fix or unset it") from exc
        raise UsageError(
            f"config {file} is invalid: {where}: {err['msg']}; fix or remove it"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {file} is invalid: {exc}; fix or remove it") from exc


def repo_overrides(repo_root: Path) -> dict[str, Any]:
    """The `[sandbox]` table of a repo's `.corral.toml`, plus a devcontainer image if any."""
    out: dict[str, Any] = {}
    devcontainer = repo_root / ".devcontainer" / "devcontainer.json"
    if devcontainer.is_file():
        try:
            image = parse_jsonc(devcontainer.read_text()).get("image")
        except (ValueError, AttributeError):
            image = None
        if isinstance(image, str) and image:
            out["image"] = image
    file = repo_root / ".corral.toml"
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{file} is not valid TOML ({exc}); fix it") from exc
        sandbox = data.get("sandbox", {})
        if isinstance(sandbox, dict):
            out.update(sandbox)
    return out


def parse_jsonc(text: str) -> Any:
    """JSON with comments (// and /* */) and trailing commas, as devcontainer.json allows."""
    import re

    token = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
    plain = token.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    trailing = re.compile(r'("(?:\\.|[^"\\])*")|,(\s*[}\]])')
    return json.loads(trailing.sub(lambda m: m.group(1) or m.group(2), plain))
