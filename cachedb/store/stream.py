"""Unpacking a wheel while it downloads, kept only where it equals the ordinary unpack.

A download hands each piece to ``StreamUnpack.feed`` as it arrives: the members
are read from their local headers (``wheel/localheaders.py``) and written into a
staging directory of their own, so that when the last byte of a big wheel
arrives, little is left to do. That tree is a guess until ``finish``: the
finished file (its sha256 already the one expected) must pass every check
``unpack_wheel`` makes (``unpack.Checked``), its central directory must agree
with what was read member by member (name, offsets, method, flags, CRC, sizes),
and every file must match RECORD as ``extract`` would require. On any doubt the
tree is removed and ``finish`` returns None: the caller unpacks the file the
ordinary way, which also says what is wrong with it. So a streamed tree is
always the tree ``unpack_wheel`` would write, with the same rows
(tests/test_stream_unpack.py), and nothing but the staging directory is ever
written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from typing import TYPE_CHECKING

from .._fdio import write_all
from ..wheel import inflate
from ..wheel.localheaders import LocalHeaders, LocalMember
from ..wheel.members import BOMB_THRESHOLD, MAX_COMPRESSION_RATIO, MAX_UNPACKED_SIZE
from ..wheel.records import Hash, urlsafe_b64
from .extract import UMASK_BITES
from .unpack import Checked, identity, open_wheel, unpacked
from .unpacked import FileEntry

if TYPE_CHECKING:
    from pathlib import Path

    from ..wheel.localheaders import Buffer
    from ..wheel.records import RecordEntry
    from ..wheel.zipdir import Member
    from .unpacked import UnpackedWheel

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_EXECUTABLE_ATTR = 0o111 << 16


class StreamUnpack:
    """The members of a wheel written under ``parent`` as its bytes are fed in.

    ``size`` is the wheel's declared size: what it may inflate to is bounded as
    ``check_members`` bounds it. ``feed`` never raises for the wheel's sake: a
    doubt only stops the streaming.
    """

    def __init__(self, parent: Path, size: int) -> None:
        self.directory: Path | None = parent / f"unpack-stream-{os.urandom(6).hex()}"
        os.mkdir(self.directory, 0o700)
        self._root = str(self.directory)
        budget = min(MAX_UNPACKED_SIZE, max(BOMB_THRESHOLD, size * MAX_COMPRESSION_RATIO))
        self._headers = LocalHeaders(self, budget)
        self._fed = 0
        self._fd = -1
        self._hash = hashlib.sha256()
        self._made: set[str] = set()  # directories made, parents of files
        self._files: dict[str, tuple[str, int]] = {}  # name: sha256 hex, size

    @property
    def streaming(self) -> bool:
        return self.directory is not None

    def feed(self, chunk: bytes) -> None:
        if self.directory is None:
            return
        self._fed += len(chunk)
        try:
            self._headers.feed(chunk)
        except Exception:  # noqa: BLE001 - any doubt, a full disk too: the ordinary way then
            self.discard()

    # The sink of LocalHeaders.
    def begin(self, member: LocalMember) -> None:
        name = member.name
        if name.endswith("/"):
            return  # unpack_wheel makes only the directories files are in
        parent = name.rpartition("/")[0]
        if parent and parent not in self._made:
            self._make_parents(parent)
        fd = os.open(f"{self._root}/{name}", _CREATE, 0o644)
        if UMASK_BITES():
            os.fchmod(fd, 0o644)
        self._fd = fd
        self._hash = hashlib.sha256()

    def _make_parents(self, directory: str) -> None:
        missing = []
        while directory and directory not in self._made:
            missing.append(directory)
            directory = directory.rpartition("/")[0]
        for each in reversed(missing):
            os.mkdir(f"{self._root}/{each}", 0o755)  # exists already: a doubt
            if UMASK_BITES():
                os.chmod(f"{self._root}/{each}", 0o755)
            self._made.add(each)

    def write(self, data: Buffer) -> None:
        if self._fd >= 0:
            write_all(self._fd, data)
            self._hash.update(data)

    def end(self, member: LocalMember) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
            self._files[member.name] = (self._hash.hexdigest(), member.file_size)

    def discard(self) -> None:
        """Stop streaming and remove what was written."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def finish(self, wheel: Path, archive_id: str) -> UnpackedWheel | None:
        """The tree of ``wheel`` (fed here whole, its sha256 ``archive_id``), if it is what
        ``unpack_wheel(wheel, ..., archive_id=archive_id)`` would write; else None, with
        the tree removed."""
        directory = self.directory
        tree = None
        if directory is not None and self._headers.done and self._fd < 0:
            try:
                tree = self._agreed(wheel, directory, archive_id)
            except Exception:  # noqa: BLE001 - the ordinary unpack says what is wrong
                tree = None
        if tree is None:
            self.discard()
        return tree

    def _agreed(self, wheel: Path, directory: Path, archive_id: str) -> UnpackedWheel | None:
        ident = identity(wheel.name)
        src = open_wheel(wheel)
        checked: Checked | None = None
        try:
            checked = Checked(wheel, src, ident)
            if checked.wheel_size != self._fed or not self._same_members(checked):
                return None
            if self._made != set(checked.directories):
                return None
            entries = []
            for member in checked.files:
                entry = self._entry(member, checked.record, checked.record_name)
                if entry is None:
                    return None
                entries.append(entry)
            for entry in entries:
                if entry.executable:
                    os.chmod(f"{self._root}/{entry.path}", 0o755)
            os.chmod(directory, 0o755)
            return unpacked(directory, archive_id, ident, entries, checked)
        finally:
            if checked is not None:
                checked.close()
            os.close(src)

    def _same_members(self, checked: Checked) -> bool:
        """Whether the central directory lists exactly the members read, in file order."""
        read = self._headers.members
        listed = sorted(checked.members, key=lambda m: m.header_offset)
        if len(read) != len(listed):
            return False
        for got, want in zip(read, listed, strict=True):
            if (got.raw_name, got.name, got.header_offset, got.data_offset, got.flag_bits,
                got.compress_type, got.CRC, got.compress_size, got.file_size) != (
                want.raw_name, want.name, want.header_offset, want.data_offset, want.flag_bits,
                want.compress_type, want.CRC, want.compress_size, want.file_size):  # fmt: skip
                return False
        return True

    def _entry(
        self, member: Member, record: dict[str, RecordEntry], record_name: str
    ) -> FileEntry | None:
        """The row ``extract`` would give ``member``, where it would accept what was read
        (the CRC of every member was compared already)."""
        name = member.name
        got = self._files.get(name)
        expected = record.get(name)
        if got is None or expected is None:
            return None
        sha256, size = got
        executable = bool(member.external_attr & _EXECUTABLE_ATTR)
        entry = FileEntry(name, sha256, size, executable)
        hash_ = expected.hash
        if name == record_name or not hash_:
            return entry  # extract checks the CRC alone
        if (
            hash_.startswith("sha256=")
            and member.file_size <= inflate.CHUNK
            and member.compress_size <= inflate.CHUNK
            and member.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED)
        ):
            matches = urlsafe_b64(bytes.fromhex(sha256)) == hash_[7:].rstrip("=")
        else:
            algorithm, _, want = hash_.partition("=")
            if algorithm != "sha256":
                return None  # another digest than the one read: the ordinary way
            matches = Hash(algorithm, want).matches(bytes.fromhex(sha256))
        return entry if matches and int(expected.size) == size else None


# Wheels at least this big are unpacked while they download: the biggest arrive
# last, and their unpacking is what is left to wait for once the network is done.
STREAM_FROM = 4 * 1024**2


def stream_into(parent: Path, size: int | None) -> StreamUnpack | None:
    """A ``StreamUnpack`` under ``parent`` for a download of ``size`` bytes (declared),
    where streaming is worth it; None where not, or where the directory cannot be made."""
    if size is None or size < STREAM_FROM:
        return None
    try:
        return StreamUnpack(parent, size)
    except OSError:
        return None
