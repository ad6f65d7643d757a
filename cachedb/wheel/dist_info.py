"""The METADATA of an unpacked wheel (an archive directory, a built wheel's tree) or of
an installed ``.dist-info`` directory, read from the file system."""

from __future__ import annotations

from pathlib import Path


def dist_info_metadata(directory: Path) -> bytes | None:
    """METADATA of ``directory`` if it is a ``.dist-info``, else of the ``*.dist-info`` in
    it (an unpacked wheel has one: the unpacker saw to it); None where there is none.

    ``OSError`` where the directory or the file cannot be read: a caller may know
    better where to look (an archive gc collected meanwhile).
    """
    if directory.name.endswith(".dist-info"):
        return (directory / "METADATA").read_bytes()
    for entry in directory.iterdir():
        if entry.name.endswith(".dist-info"):
            return (entry / "METADATA").read_bytes()
    return None
