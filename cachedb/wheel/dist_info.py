"""The METADATA of an unpacked wheel (an archive directory, a built wheel's tree) or of
an installed ``.dist-info`` directory, read from the file system."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .._fdio import read_nofollow


def dist_info_metadata(directory: Path) -> bytes | None:
    """METADATA of ``directory`` if it is a ``.dist-info``, else of the ``*.dist-info`` in
    it (an unpacked wheel has one: the unpacker saw to it); None where there is none.

    ``OSError`` where the directory or the file cannot be read: a caller may know
    better where to look (an archive gc collected meanwhile). Also where the
    ``.dist-info`` or its METADATA is a link: an unpacked wheel holds none, so one
    there was planted, and is never read through.
    """
    if directory.name.endswith(".dist-info"):
        return read_nofollow(directory / "METADATA")
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".dist-info"):
                if entry.is_symlink():
                    raise OSError(errno.ELOOP, "a link, not a folder", entry.path)
                return read_nofollow(os.path.join(entry.path, "METADATA"))
    return None
