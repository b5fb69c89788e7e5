"""Where settings come from, merged into one plain dict: the user's config file, then
`CORRAL_<SECTION>__<KEY>` env vars over it. No validation here (that is backend.config, with
pydantic), so the TUI can read its theme and keys before its first frame without paying for
pydantic's import."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from typing import Any

from backend import paths


def raw_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """File, then env. Raises tomllib.TOMLDecodeError for a broken file."""
    file = paths.config_file()
    data: dict[str, Any] = tomllib.loads(file.read_text()) if file.is_file() else {}
    return _merged(data, env_overrides(os.environ if environ is None else environ))


ENV_PREFIX = "CORRAL_"


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`CORRAL_SANDBOX__MEMORY=4g` -> {"sandbox": {"memory": "4g"}} (names are case-insensitive;
    deeper keys nest the same way). A value that is a JSON object or list is parsed, so
    `CORRAL_TUI__KEYS='{"checkpoint": "C"}'` sets a whole table. Prefix-only names without
    `__` (CORRAL_HOME) are not settings."""
    out: dict[str, Any] = {}
    for name, value in environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or "__" not in upper:
            continue
        path = [p for p in upper[len(ENV_PREFIX) :].lower().split("__") if p]
        if not path:
            continue
        node = out
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = _env_value(value)
    return out


def _env_value(value: str) -> Any:
    if value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _merged(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out
