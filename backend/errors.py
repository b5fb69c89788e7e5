"""Errors a person can act on. Each carries the exit code the CLI returns for it.

Messages are one line: what was wrong, then what to do about it.
"""

from __future__ import annotations


class CorralError(Exception):
    """Base of every error Corral reports to a person; exit code 1 (the operation failed)."""

    exit_code = 1
    kind = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())  # always one line

    def __str__(self) -> str:
        return self.message


class UsageError(CorralError):
    """Bad or missing arguments, unknown command."""

    exit_code = 2
    kind = "usage"


class NotFoundError(CorralError):
    exit_code = 3
    kind = "not_found"


class ConflictError(CorralError):
    """Name taken, illegal state change, lost optimistic-concurrency race."""

    exit_code = 4
    kind = "conflict"


class EngineUnavailableError(CorralError):
    kind = "engine_unavailable"


class ImageMissingError(CorralError):
    kind = "image_missing"


class WorkspaceError(CorralError):
    kind = "workspace"


class StoreError(CorralError):
    kind = "store"
