"""Text and argv -> (command, validated arguments). The same parser serves the CLI, the TUI
command bar (`/name args`, `name args`) and batch files. Every failure is a one-line UsageError
that ends with the command's usage line."""

from __future__ import annotations

import argparse
import shlex
import types
import typing
from enum import Enum
from typing import Any, NoReturn, get_args, get_origin

from pydantic import BaseModel, ValidationError

from backend.commands.registry import Command, arg_extra, lookup, suggest
from backend.errors import UsageError


class _Parser(argparse.ArgumentParser):
    def __init__(self, cmd: Command) -> None:
        super().__init__(prog=cmd.name, add_help=False, allow_abbrev=False)
        self.cmd = cmd

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.cmd.name}: {message}; usage: {self.cmd.usage}")


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(innermost type, is a list) for annotations like `str | None`, `list[str]`."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _base_type(inner[0])
        if list in (get_origin(a) for a in inner):  # str | list[str]: the CLI gives a list
            return str, True
        return inner[0], False
    if origin is list:
        return get_args(annotation)[0], True
    return annotation, False


def build_parser(cmd: Command) -> _Parser:
    parser = _Parser(cmd)
    for name, info in cmd.args.model_fields.items():
        extra = arg_extra(cmd.args, name)
        base, is_list = _base_type(info.annotation)
        kwargs: dict[str, Any] = {"help": info.description}
        if isinstance(base, type) and issubclass(base, Enum):
            kwargs["choices"] = [m.value for m in base]
        elif get_origin(base) is typing.Literal:
            kwargs["choices"] = list(get_args(base))
        metavar = (extra.get("metavar") or name).upper()
        if extra.get("remainder"):
            continue  # taken from after `--` by parse_argv, never by argparse
        if extra.get("positional"):
            nargs = "*" if is_list else (None if info.is_required() else "?")
            parser.add_argument(name, nargs=nargs, metavar=metavar, **kwargs)
            continue
        flags = ["--" + name.replace("_", "-")]
        if extra.get("short"):
            flags.insert(0, extra["short"])
        if base is bool:
            parser.add_argument(*flags, dest=name, action="store_true", **kwargs)
        elif is_list:
            parser.add_argument(*flags, dest=name, action="append", metavar=metavar, **kwargs)
        else:
            parser.add_argument(*flags, dest=name, metavar=metavar, **kwargs)
    return parser


def parse_argv(cmd: Command, argv: list[str]) -> BaseModel:
    remainder = next(
        (n for n in cmd.args.model_fields if arg_extra(cmd.args, n).get("remainder")), None
    )
    parser = build_parser(cmd)
    if remainder is None:
        values = vars(parser.parse_args(argv))
    else:
        # Everything after the first `--` is the command, untouched (its own flags included).
        if "--" in argv:
            cut = argv.index("--")
            values = vars(parser.parse_args(argv[:cut]))
            values[remainder] = argv[cut + 1 :]
        else:
            ns, rest = parser.parse_known_args(argv)
            if rest and rest[0].startswith("-"):
                parser.error(f"unrecognized arguments: {' '.join(rest)} (put the command after --)")
            values = vars(ns)
            values[remainder] = rest
        if not values[remainder] and cmd.args.model_fields[remainder].is_required():
            raise UsageError(
                f"{cmd.name}: no {remainder} given; put it after --; usage: {cmd.usage}"
            )
    return validate(cmd, {k: v for k, v in values.items() if v is not None})


def validate(cmd: Command, values: dict[str, Any]) -> BaseModel:
    try:
        return cmd.args.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        msg = err["msg"].removeprefix("Value error, ")
        raise UsageError(f"{cmd.name}: {where}: {msg}; usage: {cmd.usage}") from exc


def resolve(words: list[str]) -> tuple[Command, list[str]]:
    """The command named by the first word(s); `images build` finds `images-build`."""
    if not words:
        raise UsageError("no command given; type help to list commands")
    head = words[0].lstrip("/")
    if len(words) > 1 and not words[1].startswith("-"):
        joined = lookup(f"{head}-{words[1]}")
        if joined and not lookup(head):
            return joined, words[2:]
    cmd = lookup(head)
    if cmd is None:
        hint = suggest(head)
        nearest = f"; did you mean {hint}?" if hint else ""
        raise UsageError(f"unknown command {head!r}{nearest} (help lists commands)")
    return cmd, words[1:]


def split(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False)
    except ValueError as exc:
        raise UsageError(f"cannot read {line.strip()!r}: {exc}; check the quotes") from exc


def parse_line(line: str) -> tuple[Command, BaseModel]:
    """`/create-task x --agent shell` or `create-task x ...` -> (command, arguments)."""
    cmd, rest = resolve(split(line.strip()))
    return cmd, parse_argv(cmd, rest)
