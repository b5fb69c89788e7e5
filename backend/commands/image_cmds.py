"""Sandbox image commands: images-build (`corral images build developer`) and images-list."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from backend.commands.context import Context
from backend.commands.registry import arg, command
from backend.images import ImageInfo, ImagesBuildResult, list_images
from backend.images.builder import BuildStep, run_build
from backend.images.progress import BuildProgressView
from backend.units import human_age, human_size


class BuildArgs(BaseModel):
    names: list[str] = arg(
        [],
        help="Images to build: base, developer, or any docker-images/ recipe (default: all).",
        positional=True,
        metavar="NAME",
        complete="image",
    )
    rebuild: bool = arg(False, help="Build even when the tag exists (unchanged steps are cached).")
    no_cache: bool = arg(False, help="Rebuild every step from scratch (fresh packages).")


def build_table(result: ImagesBuildResult) -> RenderableType:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("IMAGE", "RESULT", "SIZE", "TIME"):
        table.add_column(col)
    for o in result.images:
        action = Text(o.action, style="green" if o.action == "built" else "dim")
        if o.outdated:
            action.append(" (Dockerfile changed: --rebuild)", style="yellow")
        table.add_row(o.tag, action, human_size(o.size_bytes), f"{o.seconds:.1f}s")
    notes = [Text(f"note: {n}", style="yellow") for n in result.notes]
    return Group(*notes, table)


@command(
    "images-build",
    summary="Build Corral's sandbox images (offline too), showing each step as it runs.",
    args=BuildArgs,
    example="images-build developer",
    render=build_table,
    group="images",
    details="Builds docker-images/<recipe> as corral/<recipe>; developer builds base first "
    "when it is missing. Without a registry, debian:bookworm-slim is made with debootstrap.",
)
async def images_build(ctx: Context, a: BuildArgs) -> ImagesBuildResult:
    # A terminal front end that streams output but does not show progress itself (the CLI in
    # human mode) gets a live display on stderr; the TUI listens on ctx.progress; quiet callers
    # (--json, MCP, the TUI's background calls) get the result only.
    cli_like = ctx.on_output is not None and ctx.on_progress is None and not ctx.json
    view = BuildProgressView(live=True) if cli_like else None

    def on_step(step: BuildStep) -> None:
        ctx.progress(step.text, step.fraction)
        if view:
            view.step(step)

    def on_note(text: str) -> None:
        ctx.progress(text, None)
        if view:
            view.note(text)

    if view is None:
        return await run_build(
            a.names, rebuild=a.rebuild, no_cache=a.no_cache, on_step=on_step, on_note=on_note
        )
    with view:
        result = await run_build(
            a.names, rebuild=a.rebuild, no_cache=a.no_cache, on_step=on_step, on_note=on_note
        )
    # Notes were said as they happened; the table need not repeat them.
    return result.model_copy(update={"notes": []}) if result.notes and view else result


def images_table(images: Sequence[ImageInfo]) -> RenderableType:
    if not images:
        return Text("no Corral images yet (build them with: corral images build)", style="dim")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("IMAGE", "TAG", "ID", "SIZE", "AGE"):
        table.add_column(col)
    for i in images:
        age = Text(human_age(i.created_at))
        if i.outdated:
            age.append("  outdated: corral images build --rebuild", style="yellow")
        table.add_row(i.name, i.tag, i.id, human_size(i.size_bytes), age)
    return table


class ListArgs(BaseModel):
    pass


@command(
    "images-list",
    summary="Corral's sandbox images on this engine, with size and age.",
    args=ListArgs,
    example="images-list",
    mcp_name="list_images",
    render=images_table,
    group="images",
)
async def images_list(ctx: Context, a: ListArgs) -> list[ImageInfo]:
    return await asyncio.to_thread(list_images)
