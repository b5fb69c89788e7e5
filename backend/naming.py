"""Task names -> readable, legal git branch slugs; refusal of what is not a name."""

from __future__ import annotations

import re
import unicodedata

from backend.errors import UsageError

MAX_NAME = 80
_SLUG_BAD = re.compile(r"[^a-z0-9]+")


def validate_name(name: str) -> str:
    """Return the trimmed name or raise a one-line UsageError saying what to change."""
    stripped = name.strip()
    if not stripped:
        raise UsageError("task name is empty; give a name such as fix-login")
    if len(stripped) > MAX_NAME:
        raise UsageError(f"task name is longer than {MAX_NAME} characters; shorten it")
    if any(unicodedata.category(c).startswith("C") for c in stripped):
        raise UsageError("task name contains control characters; use letters, digits, - and _")
    if "/" in stripped or "\\" in stripped or ".." in stripped:
        raise UsageError(
            f"task name {stripped!r} contains a path separator or '..'; "
            "use letters, digits, spaces, - and _"
        )
    if stripped.startswith("-"):
        raise UsageError(f"task name {stripped!r} starts with '-'; start with a letter or digit")
    if not slugify(stripped):
        raise UsageError(f"task name {stripped!r} has no letters or digits; add some")
    return stripped


def slugify(name: str) -> str:
    """'Fix Login Bug!' -> 'fix-login-bug'. Accents are folded, everything else becomes '-'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _SLUG_BAD.sub("-", folded.lower()).strip("-")
    return slug[:60].rstrip("-")


def unique_slug(base: str, taken: set[str]) -> str:
    """Add -2, -3, ... until the slug is free (among tasks and existing branches)."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def branch_for(slug: str) -> str:
    return f"corral/{slug}"
