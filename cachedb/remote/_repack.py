"""A wheel file made again from an archive (a wheel unpacked and verified), the same every time.

``remote push`` needs a file for a built wheel whose original is gone (the cache
keeps archives only). The archive holds the wheel's members exactly, its RECORD
and provenance file included, so zipping them again gives a wheel that unpacks
to the same tree and passes the same checks. Members are sorted, with the
``.dist-info`` directory last and its RECORD the very last member (as wheel
writers order them), dated 1980-01-01, mode 0644 or 0755, deflated: the same
archive always gives the same bytes.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)


def _members(archive: Path) -> list[str]:
    names = [
        Path(dirpath, name).relative_to(archive).as_posix()
        for dirpath, _, filenames in os.walk(archive)
        for name in filenames
    ]

    def order(name: str) -> tuple[bool, bool, str]:
        top = name.split("/", 1)[0]
        in_dist_info = top.endswith(".dist-info")
        return in_dist_info, in_dist_info and name == f"{top}/RECORD", name

    return sorted(names, key=order)


def repack(archive: Path, dest: Path) -> Path:
    """Zip the archive directory ``archive`` into the new file ``dest``."""
    with zipfile.ZipFile(dest, "x", zipfile.ZIP_DEFLATED) as out:
        for name in _members(archive):
            path = archive / name
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
    return dest
