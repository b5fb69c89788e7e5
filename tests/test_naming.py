"""Task names -> branch slugs, and refusal of names that are not names."""

from __future__ import annotations

import pytest

from backend.errors import UsageError
from backend.naming import branch_for, slugify, unique_slug, validate_name


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Fix Login Bug!", "fix-login-bug"),
        ("  spaced   out  ", "spaced-out"),
        ("Crème brûlée v2", "creme-brulee-v2"),
        ("UPPER_snake", "upper-snake"),
        ("a" * 90, "a" * 60),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert branch_for(slugify(name)) == f"corral/{slug}"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("../etc", "path separator"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("bell\x07", "control characters"),
        ("new\nline", "control characters"),
        ("-rf", "starts with '-'"),
        ("!!!", "no letters or digits"),
        ("x" * 81, "longer than 80"),
    ],
)
def test_bad_names_are_refused_with_a_reason(bad: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        validate_name(bad)
    assert says in str(err.value)
    assert "\n" not in str(err.value)


def test_collisions_get_a_suffix() -> None:
    assert unique_slug("fix", set()) == "fix"
    assert unique_slug("fix", {"fix"}) == "fix-2"
    assert unique_slug("fix", {"fix", "fix-2", "fix-3"}) == "fix-4"
