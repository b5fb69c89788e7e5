"""The docs that are generated from code are current, and the README keeps its promises."""

from __future__ import annotations

import re

from backend.commands import docs
from backend.commands.registry import commands
from tests.conftest import ROOT


def test_commands_reference_is_current() -> None:
    committed = (ROOT / "docs" / "commands.md").read_text()
    assert committed == docs.render(), "run: python -m backend.commands.docs > docs/commands.md"


def test_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```(?:sh|bash)?\n(.*?)```", quick, re.S)
    lines = [ln for b in block for ln in b.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines == ["scripts/corral", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_every_command_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    missing = [
        c.name
        for c in commands()
        if not re.search(rf"(?<![\w-]){re.escape(c.name)}(?![\w-])", table)
    ]
    assert not missing, f"README lacks: {missing}"
