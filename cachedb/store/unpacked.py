"""What unpacking a wheel gives: the staging directory and a row for each file in it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class FileEntry(NamedTuple):
    # A named tuple: made ten thousand times per install, at half a dataclass's cost.
    path: str  # POSIX path relative to the archive root
    sha256: str  # hex
    size: int
    executable: bool


_new_tuple = tuple.__new__


@dataclass(frozen=True)
class UnpackedWheel:
    directory: Path  # the staging directory holding the unpacked tree
    archive_id: str  # sha256 of the wheel file (hex)
    filename: str
    name: str  # canonical
    version: str
    tags: str  # compressed tag set from the filename, e.g. "py3-none-any"
    files: tuple[FileEntry, ...]
    unpacked_size: int
    wheel_size: int
    dist_info: str  # "<name>-<version>.dist-info"

    def __reduce__(self) -> tuple[Callable[..., UnpackedWheel], tuple[object, ...]]:
        # Unpacking workers send this to their parent: ten thousand files pickle
        # and unpickle in a third of the time as plain tuples as they do as entries.
        return (
            _unpickle_unpacked,
            (
                self.directory, self.archive_id, self.filename, self.name, self.version,
                self.tags, [tuple(f) for f in self.files], self.unpacked_size,
                self.wheel_size, self.dist_info,
            ),
        )  # fmt: skip


def _unpickle_unpacked(
    directory: Path,
    archive_id: str,
    filename: str,
    name: str,
    version: str,
    tags: str,
    rows: list[tuple[str, str, int, bool]],
    unpacked_size: int,
    wheel_size: int,
    dist_info: str,
) -> UnpackedWheel:
    files = tuple([_new_tuple(FileEntry, row) for row in rows])
    return UnpackedWheel(
        directory, archive_id, filename, name, version, tags, files, unpacked_size,
        wheel_size, dist_info,
    )  # fmt: skip


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
