"""Reading dependencies out of core metadata (METADATA files)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .._headers import header_values
from ..errors import InvalidWheel


def requires_dist(metadata: bytes, what: str) -> list[Requirement]:
    out = []
    for value in header_values(metadata, "Requires-Dist"):
        try:
            out.append(Requirement(str(value)))
        except InvalidRequirement as exc:
            raise InvalidWheel(f"{what} has an invalid Requires-Dist {value!r}: {exc}") from exc
    return out


def dist_info_metadata(directory: Path) -> bytes:
    """METADATA of the single ``*.dist-info`` inside ``directory`` (an archive or a dist-info)."""
    if directory.name.endswith(".dist-info"):
        return (directory / "METADATA").read_bytes()
    for entry in directory.iterdir():
        if entry.name.endswith(".dist-info"):
            return (entry / "METADATA").read_bytes()
    raise InvalidWheel(f"no .dist-info directory in {directory}")


def wheel_file_metadata(wheel: Path) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                parts = name.split("/")
                if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                    return zf.read(name)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidWheel(f"cannot read {wheel.name}: {exc}") from exc
    raise InvalidWheel(f"{wheel.name} has no .dist-info/METADATA")
