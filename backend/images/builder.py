"""Build Corral's images through the Engine API (`docker build`'s classic builder), streaming
each step to a callback. Sync: `run_build` is the async face that keeps the event loop free.

Order: an image whose FROM is another Corral image (developer FROM base) builds that one
first when it is missing or was asked for too. An image already tagged is skipped unless
`rebuild`; `no_cache` also re-runs every step (fresh apt packages).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from docker.errors import APIError, DockerException

from backend import docker_client
from backend.errors import CorralError
from backend.images.catalog import (
    LABEL_DIGEST,
    LABEL_RECIPE,
    ImageRecipe,
    recipe_for,
    recipe_for_parent,
    recipes,
)
from backend.images.models import ImageBuildOutcome, ImagesBuildResult
from backend.images.offline_base import ensure_parent, image_exists

STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
NONZERO_RE = re.compile(r"returned a non-zero code: (\d+)$")
REPORT_EVERY_S = 0.1  # output lines between step changes are reported at most this often


@dataclass(frozen=True)
class BuildStep:
    """Where a build stands: image i of n, Dockerfile step s of t, and its latest output."""

    image: str
    index: int
    count: int
    step: int = 0
    total: int = 0
    instruction: str = ""
    line: str = ""

    @property
    def fraction(self) -> float:
        inside = (self.step - 1) / self.total if self.total else 0.0  # steps done so far
        return min(1.0, (self.index + inside) / max(1, self.count))

    @property
    def text(self) -> str:
        if self.total:
            return f"{self.image}: Step {self.step}/{self.total} : {self.instruction}"
        return f"{self.image}: {self.instruction or 'starting'}"


Report = Callable[[BuildStep], None]
Say = Callable[[str], None]


def plan(names: list[str], rebuild: bool) -> list[ImageRecipe]:
    """The recipes to visit, parents before children."""
    chosen = [recipe_for(n) for n in names] if names else list(recipes().values())
    order: list[ImageRecipe] = []

    def visit(r: ImageRecipe, trail: tuple[str, ...]) -> None:
        if r.name in trail:
            raise CorralError(f"image recipes depend on each other in a loop: {' -> '.join(trail)}")
        parent = recipe_for_parent(r.parent)
        if parent and (parent in chosen or not image_exists(parent.tag)):
            visit(parent, (*trail, r.name))
        if r not in order:
            order.append(r)

    for r in chosen:
        visit(r, ())
    return order


def build_images(
    names: list[str],
    *,
    rebuild: bool = False,
    no_cache: bool = False,
    report: Report | None = None,
    say: Say | None = None,
) -> ImagesBuildResult:
    """Build (or skip) each named image; `report` and `say` are called from this thread."""
    report = report or (lambda _s: None)
    say = say or (lambda _t: None)
    order = plan(names, rebuild)
    outcomes: list[ImageBuildOutcome] = []
    notes: list[str] = []
    for i, recipe in enumerate(order):
        started = time.monotonic()
        if image_exists(recipe.tag) and not (rebuild or no_cache):
            outcomes.append(_outcome(recipe, "skipped", started))
            continue
        step = BuildStep(recipe.name, i, len(order))
        if recipe_for_parent(recipe.parent) is None and not image_exists(recipe.parent):
            preparing = replace(step, instruction=f"preparing {recipe.parent}")
            report(preparing)
            note = ensure_parent(recipe.parent, _line_reporter(report, preparing))
            if note:
                notes.append(note)
                say(note)
        build_one(recipe, step, report, no_cache=no_cache)
        outcomes.append(_outcome(recipe, "built", started))
    return ImagesBuildResult(images=outcomes, notes=notes)


def _line_reporter(report: Report, step: BuildStep) -> Say:
    return lambda line: report(replace(step, line=line))


def _outcome(
    recipe: ImageRecipe, action: Literal["built", "skipped"], started: float
) -> ImageBuildOutcome:
    img = docker_client.client().images.get(recipe.tag)
    labels = (img.attrs.get("Config") or {}).get("Labels") or {}
    return ImageBuildOutcome(
        name=recipe.name,
        tag=recipe.tag,
        action=action,
        image_id=str(img.short_id).removeprefix("sha256:"),
        size_bytes=int(img.attrs.get("Size") or 0),
        seconds=round(time.monotonic() - started, 2),
        outdated=labels.get(LABEL_DIGEST) not in (None, recipe.digest()),
    )


def build_one(recipe: ImageRecipe, step: BuildStep, report: Report, *, no_cache: bool) -> None:
    """`docker build` the recipe through the Engine API; a failure names the failing step."""
    api = docker_client.client().api
    report(step)
    last_sent = 0.0
    try:
        stream = api.build(
            path=str(recipe.directory),
            tag=recipe.tag,
            rm=True,
            forcerm=True,
            decode=True,
            pull=False,
            nocache=no_cache,
            labels={LABEL_RECIPE: recipe.recipe, LABEL_DIGEST: recipe.digest()},
            timeout=None,  # a quiet RUN step may take minutes; the stream is the heartbeat
        )
        for msg in stream:
            if "error" in msg:
                raise _step_failed(recipe, step, str(msg.get("error") or msg.get("errorDetail")))
            for line in str(msg.get("stream") or "").splitlines():
                line = line.rstrip()
                match = STEP_RE.match(line)
                if match:
                    step = replace(
                        step,
                        step=int(match.group(1)),
                        total=int(match.group(2)),
                        instruction=" ".join(match.group(3).split()),
                        line="",
                    )
                    report(step)
                    last_sent = time.monotonic()
                elif line.strip() and not line.startswith((" ---> ", "Removing intermediate")):
                    step = replace(step, line=line.strip())
                    if time.monotonic() - last_sent >= REPORT_EVERY_S:
                        report(step)
                        last_sent = time.monotonic()
    except APIError as exc:
        raise _step_failed(recipe, step, str(exc.explanation or exc)) from exc
    except DockerException as exc:
        raise CorralError(f"building {recipe.tag} failed: {exc}") from exc
    if not image_exists(recipe.tag):
        raise _step_failed(recipe, step, "the engine reported no image")


def _step_failed(recipe: ImageRecipe, step: BuildStep, error: str) -> CorralError:
    where = f"step {step.step}/{step.total} ({_short(step.instruction)})" if step.total else "start"
    error = error.strip().splitlines()[-1] if error.strip() else "unknown error"
    code = NONZERO_RE.search(error)
    error = f"exit code {code.group(1)}" if code else _short(error, 160)
    said = f"; last output: {_short(step.line, 160)}" if step.line else ""
    return CorralError(
        f"building {recipe.tag} failed at {where}: {error}{said}; "
        f"fix {recipe.directory / 'Dockerfile'} and run: corral images build {recipe.name}"
    )


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


async def run_build(
    names: list[str],
    *,
    rebuild: bool = False,
    no_cache: bool = False,
    on_step: Report | None = None,
    on_note: Say | None = None,
) -> ImagesBuildResult:
    """`build_images` in a worker thread; callbacks are delivered on the event loop's thread,
    so a front end may touch its widgets from them."""
    loop = asyncio.get_running_loop()

    def report(step: BuildStep) -> None:
        if on_step:
            loop.call_soon_threadsafe(on_step, step)

    def say(text: str) -> None:
        if on_note:
            loop.call_soon_threadsafe(on_note, text)

    return await asyncio.to_thread(
        build_images, names, rebuild=rebuild, no_cache=no_cache, report=report, say=say
    )
