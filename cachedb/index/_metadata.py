"""Core metadata read out of a wheel file."""

from __future__ import annotations

import zipfile
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from cachedb.errors import InvalidWheel

MAX_METADATA = 10 * 1024 * 1024


def wheel_metadata(path: Path, filename: str | None = None) -> bytes:
    """The ``<name>-<version>.dist-info/METADATA`` of the wheel at ``path``."""
    filename = filename or path.name
    try:
        name = parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        raise InvalidWheel(f"{filename} is not a valid wheel filename") from None
    try:
        with zipfile.ZipFile(path) as zf:
            candidates = [
                info
                for info in zf.infolist()
                if info.filename.count("/") == 1 and info.filename.endswith(".dist-info/METADATA")
            ]
            # A wheel may vendor other dist-infos; the one named after the project wins.
            ours = [
                info
                for info in candidates
                if canonicalize_name(info.filename.split("-", 1)[0]) == name
            ]
            chosen = ours or candidates
            if len(chosen) != 1:
                raise InvalidWheel(f"{filename} has no single .dist-info/METADATA")
            if chosen[0].file_size > MAX_METADATA:
                raise InvalidWheel(f"{filename}: METADATA is larger than 10 MiB")
            return zf.read(chosen[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidWheel(f"{filename} is not a readable wheel: {exc}") from None
