"""RECORD files: the digest format, reading an installed RECORD, writing a new one."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterable
from pathlib import Path

from ..errors import InstallError


def record_hash(data: bytes) -> str:
    """The RECORD digest of ``data``: ``sha256=<urlsafe base64, no padding>``."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


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


def parse_record(text: str, where: Path) -> list[tuple[str, str, str]]:
    try:
        rows = split_record(text)
    except csv.Error as exc:
        raise InstallError(f"{where} is not valid CSV: {exc}") from None
    for row in rows:
        if len(row) != 3:
            raise InstallError(f"{where} has a malformed row {row!r}")
    return [(row[0], row[1], row[2]) for row in rows]


def read_record(path: Path) -> list[tuple[str, str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstallError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read {path}: {exc}") from exc
    return parse_record(text, path)


def format_record(rows: Iterable[tuple[str, str, str]]) -> bytes:
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
