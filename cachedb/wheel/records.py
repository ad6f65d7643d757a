"""RECORD (PEP 376, the wheel spec): its rows, its digests, one parser and one writer.

A wheel's RECORD is checked strictly before anything is unpacked
(``check_wheel_record``): every path safe, listed once, with a digest the
unpacker can check. An installed RECORD is only read back (uninstall, the
linker reading an archive), so there a row only has to have three fields.
"""

from __future__ import annotations

import binascii
import csv
import io
from collections.abc import Container, Iterable, Mapping
from typing import TYPE_CHECKING

from .._digest import sha256_digest
from ..errors import InvalidWheel

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


_URLSAFE = bytes.maketrans(b"+/", b"-_")
ALGORITHMS = ("sha256", "sha384", "sha512")  # the digests a wheel's RECORD may use
_new_tuple = tuple.__new__


def urlsafe_b64(digest: bytes) -> str:
    """RECORD's spelling of a digest: urlsafe base64 without padding."""
    return binascii.b2a_base64(digest, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


class Hash(NamedTuple):
    """A RECORD digest: ``sha256=<urlsafe base64, no padding>``."""

    name: str  # the hashlib algorithm
    value: str  # urlsafe base64, as RECORD spells it

    @classmethod
    def parse(cls, text: str) -> Hash | None:
        """The digest a RECORD field names; None where the field names none."""
        name, equals, value = text.partition("=")
        return cls(name, value) if equals else None

    @classmethod
    def of(cls, data: bytes, name: str = "sha256") -> Hash:
        import hashlib  # OpenSSL: not for the warm path, whose digests are record_hash's

        return cls(name, urlsafe_b64(hashlib.new(name, data).digest()))

    def matches(self, digest: bytes) -> bool:
        """Whether ``digest`` (raw bytes of this algorithm) is this one, padding aside."""
        return urlsafe_b64(digest) == self.value.rstrip("=")

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class RecordEntry(NamedTuple):
    """One RECORD row, as RECORD spells it.

    A named tuple, built from the split row without a Python-level constructor:
    a warm install reads ten thousand of them.
    """

    path: str  # POSIX, relative to the wheel's (or the environment's library) root
    hash: str  # "" or "<algorithm>=<urlsafe base64>"
    size: str  # "" or decimal

    @property
    def digest(self) -> Hash | None:
        return Hash.parse(self.hash)


def record_hash(data: bytes) -> str:
    """The RECORD digest of ``data``: ``sha256=<urlsafe base64, no padding>``."""
    return "sha256=" + urlsafe_b64(sha256_digest(data))


class MalformedRecord(ValueError):
    """A RECORD that is not CSV (``row`` is None), or a row without three fields."""

    def __init__(self, detail: str, row: list[str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.row = row


def split_record(text: str) -> list[list[str]]:
    """The non-empty rows of a RECORD, split exactly as ``csv.reader`` splits them.

    Raises ``csv.Error`` where ``csv.reader`` does.
    """
    if '"' not in text and "\r" not in text:
        # Without quotes or carriage returns, CSV is plain splitting; csv.reader
        # costs a warm install ~15 ms over ten thousand rows. Only a line longer
        # than csv's field limit could hold a field csv refuses.
        lines = text.split("\n")
        limit = csv.field_size_limit()
        if len(text) < limit or max(map(len, lines)) < limit:
            return [line.split(",") for line in lines if line]
    return [row for row in csv.reader(io.StringIO(text)) if row]


def parse_record(text: str) -> list[RecordEntry]:
    """Every row of a RECORD; ``MalformedRecord`` unless each has three fields."""
    try:
        rows = split_record(text)
    except csv.Error as exc:
        raise MalformedRecord(str(exc)) from None
    for row in rows:
        if len(row) != 3:
            raise MalformedRecord("not three fields", row)
    return [_new_tuple(RecordEntry, row) for row in rows]


def check_wheel_record(
    data: bytes, record_name: str, checked: Container[str] = frozenset()
) -> dict[str, RecordEntry]:
    """A wheel's RECORD, by path, refused (``InvalidWheel``) unless every path is safe
    and listed once with a digest and size the unpacker can check; paths in
    ``checked`` already passed ``check_member_name``. RECORD itself, and its
    signatures, may go without."""
    from .members import check_member_name  # not loaded by the warm path, which reads RECORD

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel("RECORD is not valid UTF-8") from exc
    try:
        parsed = parse_record(text)
    except MalformedRecord as exc:
        if exc.row is None:
            raise InvalidWheel(f"RECORD is not valid CSV: {exc.detail}") from None
        raise InvalidWheel(f"RECORD row {exc.row!r} does not have three fields") from None
    rows: dict[str, RecordEntry] = {}
    for entry in parsed:
        path, hash_, size = entry
        if path not in checked:
            check_member_name(path, "RECORD path")
        if path in rows:
            raise InvalidWheel(f"RECORD lists {path!r} twice")
        if hash_.startswith("sha256=") and size.isdigit():
            pass  # nearly every row: nothing below could refuse it
        elif path != record_name and not path.endswith(
            (".dist-info/RECORD.jws", ".dist-info/RECORD.p7s")
        ):
            digest = entry.digest
            if digest is None:
                raise InvalidWheel(f"RECORD has no hash for {path!r}")
            if digest.name not in ALGORITHMS:
                raise InvalidWheel(f"RECORD uses unsupported hash {digest.name!r} for {path!r}")
            if not size.isdigit():
                raise InvalidWheel(f"RECORD has no valid size for {path!r}")
        rows[path] = entry
    return rows


def check_listed(record: Mapping[str, RecordEntry], files: Mapping[str, object]) -> None:
    """Refuse a wheel whose RECORD and files differ, naming the first path either lacks."""
    missing = sorted(record.keys() - files.keys())
    if missing:
        raise InvalidWheel(f"RECORD lists {missing[0]!r}, which is not in the wheel")
    unlisted = sorted(files.keys() - record.keys())
    if unlisted:
        raise InvalidWheel(f"wheel member {unlisted[0]!r} is not listed in RECORD")


def format_record(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """RECORD's bytes for ``rows``, as ``csv.writer`` writes them."""
    listed = list(rows)
    text = "".join([f"{path},{hash_},{size}\n" for path, hash_, size in listed])
    # Joining is csv.writer's output unless a field needs quoting (a comma, quote or
    # line break in it); the counts tell, without looking at each field.
    commas, lines = text.count(","), text.count("\n")
    if commas == 2 * len(listed) and lines == len(listed) and '"' not in text and "\r" not in text:
        return text.encode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(listed)
    return out.getvalue().encode("utf-8")
