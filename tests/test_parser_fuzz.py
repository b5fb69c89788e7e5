"""Parser fuzzing: no input crashes the command parser; every error is one line with exit 2."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.commands import parsing
from backend.commands.registry import commands
from backend.errors import CorralError, UsageError
from tests.conftest import corral

NAMES = [c.name for c in commands()]
FLAGS = sorted(
    {o for c in commands() for a in parsing.build_parser(c)._actions for o in a.option_strings}
)
WORDS = st.one_of(
    st.sampled_from(NAMES + FLAGS + ["--", "-", "/", "'", '"', "\\", "=", "--env", "K=V"]),
    st.text(max_size=12),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WORDS, max_size=8), st.booleans())
def test_parse_line_never_crashes(words: list[str], slash: bool) -> None:
    line = ("/" if slash else "") + " ".join(words)
    try:
        cmd, args = parsing.parse_line(line)
    except UsageError as exc:
        assert exc.exit_code == 2
        assert "\n" not in str(exc) and str(exc)
    except CorralError as exc:  # pragma: no cover - parsing only raises usage errors
        raise AssertionError(f"parser raised {type(exc).__name__}: {exc}") from exc
    else:
        assert cmd.name in NAMES
        assert isinstance(args, cmd.args)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NAMES), st.lists(st.text(max_size=10), max_size=5))
def test_argv_never_crashes(name: str, rest: list[str]) -> None:
    cmd = parsing.resolve([name])[0]
    try:
        parsing.parse_argv(cmd, rest)
    except UsageError as exc:
        assert ("\n" not in str(exc) and f"usage: {cmd.usage}" in str(exc)) or "usage" in str(exc)


def test_cli_bad_input_samples_exit_2_with_one_line(tmp_path: object) -> None:
    for argv in (["create-task"], ["list-tasks", "--bogus"], ["exec"], ["logs", "t", "--tail", "x"],
                 ["task-status"], ["batch"], ["help", "nope"], ["?"]):  # fmt: skip
        r = corral(*argv)
        assert r.returncode == 2, (argv, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
