"""Results of the image commands (pydantic, so the CLI, TUI and MCP render them alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ImageInfo(BaseModel):
    """One tag of one of Corral's images on the engine."""

    name: str = Field(description="Repository, e.g. corral/sandbox-base.")
    tag: str
    id: str = Field(description="Short image id.")
    size_bytes: int
    created_at: datetime
    recipe: str | None = Field(None, description="docker-images/<recipe> it was built from.")
    outdated: bool = Field(False, description="Its Dockerfile changed since it was built.")


class ImageBuildOutcome(BaseModel):
    name: str = Field(description="Short name: base, developer, ...")
    tag: str
    action: Literal["built", "skipped"]
    image_id: str
    size_bytes: int
    seconds: float
    outdated: bool = False


class ImagesBuildResult(BaseModel):
    images: list[ImageBuildOutcome]
    notes: list[str] = Field(
        default_factory=list, description="Things done on the way, e.g. a base made offline."
    )
