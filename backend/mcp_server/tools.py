"""MCP tool definitions derived from the command registry: one `Command` with an `mcp_name`
becomes one tool, its input schema from the command's pydantic argument model (minus CLI-only
fields), its output schema from the handler's return annotation."""

from __future__ import annotations

import json
import shlex
import typing
from typing import Any

import mcp.types as types
from pydantic import BaseModel, TypeAdapter

from backend.commands import parsing
from backend.commands.registry import Command, arg_extra, commands

# Keys `arg(...)` puts in a field's json_schema_extra for the CLI and TUI; not JSON Schema.
_CLI_KEYS = ("positional", "short", "remainder", "complete", "metavar", "cli_only")


def mcp_commands() -> dict[str, Command]:
    """Tool name -> command, in registry order."""
    return {c.mcp_name: c for c in commands() if c.mcp_name}


def mcp_fields(cmd: Command) -> list[str]:
    """The argument names a tool accepts: the CLI's, without the CLI-only ones."""
    return [n for n in cmd.args.model_fields if not arg_extra(cmd.args, n).get("cli_only")]


def input_schema(cmd: Command) -> dict[str, Any]:
    schema = cmd.args.model_json_schema()
    allowed = set(mcp_fields(cmd))
    props = {k: v for k, v in schema.get("properties", {}).items() if k in allowed}
    for prop in props.values():
        for key in _CLI_KEYS:
            prop.pop(key, None)
    schema["properties"] = props
    required = [r for r in schema.get("required", []) if r in allowed]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    schema["additionalProperties"] = False
    schema.pop("title", None)
    return schema


def _return_annotation(cmd: Command) -> Any:
    hints = typing.get_type_hints(cmd.handler)
    return hints.get("return")


def output_schema(cmd: Command) -> dict[str, Any] | None:
    """The result's JSON schema; lists are wrapped as {"items": [...]} (results must be objects)."""
    annotation = _return_annotation(cmd)
    if annotation is None:
        return None
    schema = TypeAdapter(annotation).json_schema(mode="serialization")
    if schema.get("type") == "array":
        return {
            "type": "object",
            "properties": {"items": {"type": "array", "items": _shallow_item(schema)}},
            "required": ["items"],
        }
    return schema if schema.get("type") == "object" or "$ref" in schema else None


def _shallow_item(array_schema: dict[str, Any]) -> dict[str, Any]:
    """A list item's schema, shallow: its fields named in the description, required keys checked.

    Clients validate structured content against the output schema on every call; the Python
    client's jsonschema spends ~0.15 ms per fully described task, which made `list_tasks` with
    100 tasks miss its 20 ms round trip. Names and required keys are what an agent needs.
    """
    item = array_schema.get("items", {})
    ref = item.get("$ref", "")
    full = array_schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1], item)
    title = full.get("title", "item")
    fields = ", ".join(full.get("properties", {}))
    shallow: dict[str, Any] = {"type": "object", "title": title}
    if fields:
        shallow["description"] = f"{title}: {fields}"
    if "required" in full:
        shallow["required"] = full["required"]
    return shallow


def structured(result: Any) -> dict[str, Any]:
    """A handler's result as the tool's structured content (always a JSON object)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, (list, tuple)):
        return {"items": [structured(r) if isinstance(r, BaseModel) else r for r in result]}
    if isinstance(result, dict):
        return result
    return {"result": result}


def example_arguments(cmd: Command) -> dict[str, Any] | None:
    """The command's CLI example, parsed by the CLI's own parser, as MCP arguments."""
    try:
        words = shlex.split(cmd.example)[1:]
        args = parsing.parse_argv(cmd, words)
    except Exception:  # an example the parser cannot read: the description falls back to CLI
        return None
    values = args.model_dump(mode="json", exclude_defaults=True)
    for name, value in list(values.items()):
        if arg_extra(cmd.args, name).get("cli_only"):
            del values[name]
        elif arg_extra(cmd.args, name).get("remainder") and isinstance(value, list):
            values[name] = shlex.join(value)  # exec's command: one shell string over MCP
    return values


def description(cmd: Command) -> str:
    lines = [cmd.mcp_summary or cmd.summary]
    if cmd.details:
        lines.append(cmd.details)
    example = example_arguments(cmd)
    if example is not None:
        lines.append(f"Example arguments: {json.dumps(example)}")
    lines.append(f"(CLI: corral {cmd.example})")
    return "\n".join(lines)


def tool(cmd: Command) -> types.Tool:
    assert cmd.mcp_name
    return types.Tool(
        name=cmd.mcp_name,
        title=cmd.name,
        description=description(cmd),
        input_schema=input_schema(cmd),
        output_schema=output_schema(cmd),
    )


def all_tools() -> list[types.Tool]:
    return [tool(c) for c in mcp_commands().values()]
