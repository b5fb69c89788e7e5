"""Generate docs/commands.md from the registry (`python -m backend.commands.docs`), so the
reference can never drift from the code; a test checks the committed file is current."""

from __future__ import annotations

from backend.commands.parsing import build_parser
from backend.commands.registry import commands


def render() -> str:
    out = [
        "# Commands",
        "",
        "Generated from the command registry by `python -m backend.commands.docs`; do not edit.",
        "Each command is the same in the TUI command bar (`/name ...`), the CLI (`corral name ...`,",
        "add `--json` for machine output) and, where an MCP tool is named, the MCP server.",
        "",
    ]
    for cmd in commands():
        out += [f"## `{cmd.name}`", "", cmd.summary, "", "```", f"corral {cmd.usage}", "```", ""]
        parser = build_parser(cmd)
        rows = []
        for name, info in cmd.args.model_fields.items():
            flags = next((a.option_strings for a in parser._actions if a.dest == name), [])
            label = ", ".join(flags) if flags else name.upper()
            rows.append(
                f"| `{label}` | {'yes' if info.is_required() else 'no'} | {info.description or ''} |"
            )
        if rows:
            out += ["| argument | required | meaning |", "|---|---|---|", *rows, ""]
        out.append(f"Example: `corral {cmd.example}` (TUI: `/{cmd.example}`)")
        if cmd.mcp_name:
            out.append(f"  MCP tool: `{cmd.mcp_name}`")
        if cmd.aliases:
            out.append(f"  Aliases: {', '.join(f'`{a}`' for a in cmd.aliases)}")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
