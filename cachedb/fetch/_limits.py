"""How much of a download may be read, and from where: what bounds every fetched file."""

from __future__ import annotations

from dataclasses import dataclass

# As large as a wheel cachedb would unpack at all (CACHEDB_MAX_UNPACKED_SIZE's default):
# its compressed bytes cannot be more than its contents by much.
DEFAULT_MAX_DOWNLOAD_SIZE = 8 * 1024**3


@dataclass(frozen=True)
class Limits:
    """What one download may be: at most ``declared`` bytes if the index said so (PEP 700
    ``size``, which it must then be exactly), else at most ``cap``; from a ``file:`` URL
    only if ``local_files`` (the link comes from a location on this machine)."""

    declared: int | None = None
    cap: int = DEFAULT_MAX_DOWNLOAD_SIZE
    local_files: bool = True

    @property
    def most(self) -> int:
        return self.declared if self.declared is not None else self.cap

    def too_big(self, what: str, size: int) -> str:
        """Why ``size`` bytes of ``what`` are refused."""
        if self.declared is not None:
            return f"{what} is larger than the {self.declared} bytes its index declares"
        return (
            f"{what} is larger than the {self.cap}-byte limit "
            "(--max-download-size, CACHEDB_MAX_DOWNLOAD_SIZE)"
        )
