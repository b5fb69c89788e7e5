"""Test fault injection. CORRAL_TEST_CRASH_AFTER=<point> makes the process die on the spot
(os._exit(137), as if SIGKILLed) right after that part of a checkpoint is done, so tests can
prove that a crash between the parts leaves nothing partial once reconcile has run.

Points, in order: "ref" (workspace ref written), "image" (container committed), "mirror"
(ref copied to the user's repo). Never set it outside tests.
"""

from __future__ import annotations

import os

ENV = "CORRAL_TEST_CRASH_AFTER"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os._exit(137)
