"""Shell completion scripts, generated from the registry (commands and their flags)."""

from __future__ import annotations

from backend.commands.parsing import build_parser
from backend.commands.registry import commands
from backend.errors import UsageError


def _flags() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cmd in commands():
        flags = [o for a in build_parser(cmd)._actions for o in a.option_strings]
        out[cmd.name] = [*flags, "--json", "--help"]
    return out


def completion_script(shell: str) -> str:
    table = _flags()
    names = " ".join([*table, "batch", "mcp", "completion"])
    if shell in ("bash", "zsh"):
        cases = "\n".join(f'    {n}) opts="{" ".join(f)}" ;;' for n, f in table.items())
        script = f"""_corral() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{names}" -- "$cur")); return
  fi
  case "${{COMP_WORDS[1]}}" in
{cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi
  COMPREPLY=($(compgen -W "$(corral list-tasks --json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))' 2>/dev/null)" -- "$cur"))
}}
complete -F _corral corral"""
        if shell == "zsh":
            return "autoload -U +X bashcompinit && bashcompinit\n" + script
        return script
    if shell == "fish":
        lines = [f"complete -c corral -f -n '__fish_use_subcommand' -a '{names}'"]
        for n, flags in table.items():
            for f in flags:
                if f.startswith("--"):
                    lines.append(
                        f"complete -c corral -n '__fish_seen_subcommand_from {n}' -l {f[2:]}"
                    )
        return "\n".join(lines)
    raise UsageError(f"no completion for shell {shell!r}; choose bash, zsh or fish")
