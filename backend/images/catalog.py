"""The image recipes: every `docker-images/<dir>/Dockerfile` is one image, tagged
`corral/<dir>:latest` and called by its short name (`sandbox-base` -> `base`)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from backend.errors import NotFoundError, UsageError

IMAGES_DIR_ENV = "CORRAL_IMAGES_DIR"
LABEL_RECIPE = "corral.image"
LABEL_DIGEST = "corral.recipe-digest"


def images_dir() -> Path:
    """docker-images/ of this checkout (or $CORRAL_IMAGES_DIR)."""
    env = os.environ.get(IMAGES_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "docker-images"


@dataclass(frozen=True)
class ImageRecipe:
    directory: Path

    @property
    def recipe(self) -> str:
        """The directory name, also the `corral.image` label: sandbox-base."""
        return self.directory.name

    @property
    def name(self) -> str:
        """The short name people type: base."""
        return self.recipe.removeprefix("sandbox-")

    @property
    def repository(self) -> str:
        return f"corral/{self.recipe}"

    @property
    def tag(self) -> str:
        return f"{self.repository}:latest"

    @cached_property
    def parent(self) -> str:
        """The image the Dockerfile builds FROM (its last stage's, with ARG defaults filled)."""
        args: dict[str, str] = {}
        parent = ""
        for line in _instructions(self.directory / "Dockerfile"):
            word, _, rest = line.partition(" ")
            if word.upper() == "ARG" and "=" in rest:
                key, _, value = rest.strip().partition("=")
                args.setdefault(key, value.strip("\"'"))
            elif word.upper() == "FROM":
                ref = next((w for w in rest.split() if not w.startswith("--")), "")
                parent = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), ref)
        return parent

    def digest(self) -> str:
        """A hash of the build context: it changes when the Dockerfile or a file it copies does."""
        h = hashlib.sha256()
        for path in sorted(p for p in self.directory.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(self.directory)).encode() + b"\0")
            h.update(path.read_bytes())
        return h.hexdigest()[:16]


def _instructions(dockerfile: Path) -> list[str]:
    """Dockerfile instructions with comments dropped and `\\` continuations joined."""
    out: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append((pending + line).strip())
        pending = ""
    if pending:
        out.append(pending.strip())
    return out


def recipes() -> dict[str, ImageRecipe]:
    """Short name -> recipe, base first (others sorted)."""
    root = images_dir()
    if not root.is_dir():
        raise NotFoundError(
            f"no image recipes at {root}; set {IMAGES_DIR_ENV} to a docker-images directory"
        )
    found = [ImageRecipe(d) for d in sorted(root.iterdir()) if (d / "Dockerfile").is_file()]
    found.sort(key=lambda r: (r.name != "base", r.name))
    return {r.name: r for r in found}


def recipe_for(name: str) -> ImageRecipe:
    """`base`, `sandbox-base`, `corral/sandbox-base` and `corral/sandbox-base:latest` all work."""
    known = recipes()
    key = name.removeprefix("corral/").split(":")[0].removeprefix("sandbox-")
    if key in known:
        return known[key]
    raise UsageError(f"no image recipe named {name!r}; known: {', '.join(known)}")


def recipe_for_parent(parent: str) -> ImageRecipe | None:
    """The recipe that builds `parent` (a Corral image another Dockerfile starts FROM)."""
    if not parent.startswith("corral/"):
        return None
    repo, _, tag = parent.partition(":")
    for r in recipes().values():
        if r.repository == repo and tag in ("", "latest"):
            return r
    return None
