"""Installed RECORD files read back (uninstall, archives): the wheel model's parser,
with an installer's errors. Writing one is ``cachedb.wheel.records.format_record``."""

from __future__ import annotations

from pathlib import Path

from ..errors import InstallError
from ..wheel.records import MalformedRecord, RecordEntry, parse_record


def parse_installed_record(text: str, where: Path) -> list[RecordEntry]:
    try:
        return parse_record(text)
    except MalformedRecord as exc:
        if exc.row is None:
            raise InstallError(f"{where} is not valid CSV: {exc.detail}") from None
        raise InstallError(f"{where} has a malformed row {exc.row!r}") from None


def read_record(path: Path) -> list[RecordEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstallError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read {path}: {exc}") from exc
    return parse_installed_record(text, path)
