"""Read an unpacked wheel (an archive directory) without touching its file contents.

The archive was verified against its RECORD when it was unpacked, so RECORD is
the list of files and the source of their digests and sizes: nothing is walked
or hashed again here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from stat import S_ISDIR

from .._fdio import read_nofollow
from .._headers import header_values
from .._names import canonical_name
from ..errors import InstallError
from ..wheel.records import RecordEntry
from .records import parse_installed_record


class Archive:
    """An archive directory as the linker sees it. Its RECORD's rows are parsed on first
    use: a wheel whose rows are linked as they stand (``link.plain``) never needs them."""

    __slots__ = ("root", "dist_info", "name", "version", "root_is_purelib", "record", "_files")

    def __init__(
        self,
        root: Path,
        dist_info: str,  # "<name>-<version>.dist-info", as in the wheel
        name: str,  # canonical
        version: str,
        root_is_purelib: bool,
        record: str,  # RECORD's text, as the wheel wrote it
    ) -> None:
        self.root = root
        self.dist_info = dist_info
        self.name = name
        self.version = version
        self.root_is_purelib = root_is_purelib
        self.record = record
        self._files: list[RecordEntry] | None = None

    @property
    def files(self) -> list[RecordEntry]:
        """RECORD's rows without the RECORD and its signatures."""
        if self._files is None:
            record_prefix = f"{self.dist_info}/RECORD"
            self._files = [
                row
                for row in parse_installed_record(self.record, self.root / record_prefix)
                # The RECORD (and any signature over it) describes the wheel, not the install.
                if not row[0].startswith(record_prefix) or row[0].count("/") != 1
            ]
        return self._files

    @property
    def data_dir(self) -> str:
        return self.dist_info[: -len(".dist-info")] + ".data"

    def read_dist_info_file(self, name: str) -> bytes | None:
        try:
            return read_nofollow(self.root / self.dist_info / name)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InstallError(f"cannot read {self.dist_info}/{name}: {exc.strerror}") from exc

    def project_name(self) -> str:
        """The Name from METADATA as the project spells it (pip uses it for headers)."""
        names = header_values(self.read_dist_info_file("METADATA") or b"", "Name")
        return names[0].strip() if names and names[0].strip() else self.name


def check_folders(root: str, folders: Iterable[str]) -> None:
    """Raise InstallError unless each of ``folders`` (relative to ``root``; "" is ``root``),
    and every folder between it and ``root``, is a folder and not a link.

    An archive holds no links (wheels with link entries are refused), so one there was
    planted; linking through it would take files from wherever it leads.
    """
    sep = os.sep
    wanted: set[str] = set()
    for folder in folders:
        while folder and folder not in wanted:
            wanted.add(folder)
            folder = folder.rpartition(sep)[0]
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # Sorted, every folder comes after the folders above it: each lstat walks only
        # through folders already shown to be folders.
        for folder in sorted(wanted):
            if not S_ISDIR(os.lstat(folder, dir_fd=fd).st_mode):
                raise InstallError(
                    f"archive {root} is tampered with: {folder} is not a folder"
                    " (run `cachedb verify --check-contents --repair`)"
                )
    except OSError as exc:
        raise InstallError(f"cannot read archive {root}: {exc.strerror}: {exc.filename}") from exc
    finally:
        os.close(fd)


def _find_dist_info(root: Path) -> str:
    try:
        with os.scandir(root) as entries:
            found = [
                e.name
                for e in entries
                if e.name.endswith(".dist-info") and e.is_dir(follow_symlinks=False)
            ]
    except OSError as exc:
        raise InstallError(f"cannot read archive {root}: {exc.strerror}") from exc
    if len(found) != 1:
        raise InstallError(f"archive {root} has {len(found)} .dist-info directories, expected 1")
    return found[0]


def read_archive(root: Path) -> Archive:
    dist_info = _find_dist_info(root)
    raw_name, sep, version = dist_info[: -len(".dist-info")].rpartition("-")
    if not sep or not raw_name or not version:
        raise InstallError(f"archive {root} has a malformed dist-info name {dist_info!r}")
    try:
        wheel_data = read_nofollow(root / dist_info / "WHEEL")
        # As read_text() reads it: universal newlines.
        record_text = read_nofollow(root / dist_info / "RECORD").decode()
        record_text = record_text.replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"archive {root} is unreadable: {exc}") from exc
    purelib = (header_values(wheel_data, "Root-Is-Purelib") or [""])[0]
    return Archive(
        root=root,
        dist_info=dist_info,
        name=canonical_name(raw_name),
        version=version,
        root_is_purelib=str(purelib).strip().lower() == "true",
        record=record_text,
    )
