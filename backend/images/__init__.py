"""Corral's sandbox images: the recipes in `docker-images/`, building them through the Engine
API (offline too: the Debian base is made with debootstrap when no registry answers), listing."""

from backend.images.builder import BuildStep, build_images
from backend.images.catalog import ImageRecipe, recipe_for, recipes
from backend.images.listing import list_images
from backend.images.models import ImageBuildOutcome, ImageInfo, ImagesBuildResult

__all__ = [
    "BuildStep",
    "ImageBuildOutcome",
    "ImageInfo",
    "ImageRecipe",
    "ImagesBuildResult",
    "build_images",
    "list_images",
    "recipe_for",
    "recipes",
]
