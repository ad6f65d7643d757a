"""Rendering result rows: a rich table on a terminal, or text other programs can parse.

Formats: ``table`` (aligned columns; rich on a TTY), ``csv`` (RFC 4180, header
row), ``tsv`` (header row; tab, newline, carriage return and backslash escaped
as ``\\t``, ``\\n``, ``\\r``, ``\\\\``), ``json`` (one array of objects) and
``jsonl`` (one object per line). NULL is empty in csv/tsv/table and ``null`` in
JSON; BLOBs are written as hex.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

FORMATS = ("table", "csv", "tsv", "json", "jsonl")
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _text(value: Any) -> str:
    if type(value) is str:  # most cells: skip the checks below
        return value
    value = _plain(value)
    return "" if value is None else str(value)


def render(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, out: TextIO, *, tty: bool
) -> None:
    """Write ``rows`` as they come (every format but ``table``, which needs them all
    to size its columns)."""
    if fmt == "json":
        # One object per line inside the array, so it can be written row by row.
        out.write("[")
        separator = "\n  "
        for r in rows:
            out.write(separator + json.dumps(dict(zip(columns, map(_plain, r), strict=True))))
            separator = ",\n  "
        out.write("\n]\n")
    elif fmt == "jsonl":
        for r in rows:
            out.write(json.dumps(dict(zip(columns, map(_plain, r), strict=True))) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(v) for v in r] for r in rows)
    elif fmt == "tsv":
        out.write("\t".join(c.translate(_TSV_ESCAPES) for c in columns) + "\n")
        for r in rows:
            out.write("\t".join(_text(v).translate(_TSV_ESCAPES) for v in r) + "\n")
    elif tty:
        _rich_table(columns, list(rows), out)
    else:
        out.write(text_table(columns, list(rows)))


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to a common width; numbers right-aligned."""
    cells = [[_text(v) for v in r] for r in rows]
    by_column = list(zip(*cells, strict=True)) if cells else [()] * len(columns)
    widths = [max([len(c), *map(len, col)]) for c, col in zip(columns, by_column, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(v, int | float) or v is None for v in col)
        for col in (zip(*rows, strict=True) if rows else [()] * len(columns))
    ]
    # One format per row rather than a ljust/rjust call per cell: listings run to 10,000s of rows.
    line = "  ".join(
        f"{{:{'>' if num else '<'}{w}}}" for w, num in zip(widths, numeric, strict=True)
    )
    return "".join(line.format(*r).rstrip() + "\n" for r in [columns, *cells])


def _rich_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for i, name in enumerate(columns):
        numeric = bool(rows) and all(isinstance(r[i], int | float) for r in rows)
        table.add_column(name, justify="right" if numeric else "left")
    for r in rows:
        table.add_row(*(_text(v) for v in r))
    from .._color import console

    console(out).print(table)
