"""Corral's images on the engine: the ones carrying the `corral.image` label under their own
name (a checkpoint committed from a sandbox inherits the label but not the name)."""

from __future__ import annotations

from datetime import UTC, datetime

from backend import docker_client
from backend.images.catalog import LABEL_DIGEST, LABEL_RECIPE, images_dir
from backend.images.models import ImageInfo


def list_images() -> list[ImageInfo]:
    """Sync (Docker SDK): call through asyncio.to_thread."""
    digests = _recipe_digests()
    out: list[ImageInfo] = []
    for img in docker_client.client().images.list(filters={"label": LABEL_RECIPE}):
        labels = (img.attrs.get("Config") or {}).get("Labels") or {}
        recipe = labels.get(LABEL_RECIPE, "")
        if "corral.task" in labels or "corral.checkpoint" in labels:
            continue
        for ref in img.tags:
            repo, _, tag = ref.rpartition(":")
            if repo.rsplit("/", 1)[-1] != recipe:
                continue
            built = labels.get(LABEL_DIGEST)
            out.append(
                ImageInfo(
                    name=repo,
                    tag=tag,
                    id=str(img.short_id).removeprefix("sha256:"),
                    size_bytes=int(img.attrs.get("Size") or 0),
                    created_at=_parse_time(str(img.attrs.get("Created", ""))),
                    recipe=recipe,
                    outdated=bool(built and recipe in digests and digests[recipe] != built),
                )
            )
    out.sort(key=lambda i: (i.name, i.tag))
    return out


def _recipe_digests() -> dict[str, str]:
    from backend.images.catalog import recipes

    try:
        return {r.recipe: r.digest() for r in recipes().values()} if images_dir().is_dir() else {}
    except OSError:
        return {}


def _parse_time(text: str) -> datetime:
    """Docker's RFC 3339 with nanoseconds -> an aware datetime (microseconds kept)."""
    try:
        head, _, frac = text.rstrip("Z").partition(".")
        stamp = datetime.fromisoformat(head).replace(tzinfo=UTC)
        return stamp.replace(microsecond=int((frac + "000000")[:6])) if frac else stamp
    except ValueError:
        return datetime.now(UTC)
