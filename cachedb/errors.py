"""Errors a user sees: each carries a one-line message and an exit code."""

from __future__ import annotations


class CachedbError(Exception):
    """Base of every error cachedb reports to a user as a one-line message."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CachedbError):
    """Bad input on the command line or in a requirements file."""

    exit_code = 2


class InvalidWheel(CachedbError):
    """A wheel that is malformed or hostile; it is refused before anything is registered."""


class HashMismatch(CachedbError):
    """A file whose digest disagrees with the one it was promised to have."""


class DatabaseError(CachedbError):
    """The metadata database cannot be used (too new, corrupt, unreachable)."""


class CacheError(CachedbError):
    """The cache directory cannot be used (read-only, full, inconsistent)."""


class NetworkError(CachedbError):
    """An index or download could not be reached or answered badly."""


class ResolutionImpossible(CachedbError):
    """The requirements cannot be satisfied together."""


class InstallError(CachedbError):
    """Linking into the target environment failed or was refused."""


class BuildError(CachedbError):
    """A source could not be built into a wheel, or its archive was refused.

    The first line is the summary; later lines carry the build's output.
    """
