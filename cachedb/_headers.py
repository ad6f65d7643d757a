"""Header values of RFC 822-style metadata files (METADATA, WHEEL), mostly without ``email``.

Importing and running the email parser costs a warm install more than the rest
of reading metadata; the files are nearly always simple enough to split by hand.
"""

from __future__ import annotations

import re

# A header line as the email parser sees one: printable ASCII other than ":", then ":".
_HEADER = re.compile(r"[!-9;-~]*:")


def simple_header_values(metadata: bytes, name: str) -> list[str] | None:
    """The values of header ``name``, if the header block is plain enough to split by hand.

    Plain: ``\n`` line ends, every line ``Key: value`` or the folded continuation
    of another header, and the values asked for in ASCII (other headers, such as
    an author's name, may be UTF-8). That is nearly every METADATA, and there
    this gives what the email parser gives at a tenth of its cost.
    """
    lines = _header_lines(metadata)
    if lines is None:
        return None
    prefix = name.lower() + ":"
    values = []
    wanted = False  # whether the line before was one of ours
    for line in lines:
        if not line:
            break  # the blank line that ends the headers (here only ever a leading one)
        if line[0] in " \t":
            if wanted:
                return None  # one of ours is folded
            continue
        if not _HEADER.match(line):
            return None
        wanted = line[: len(prefix)].lower() == prefix
        if wanted:
            value = line[len(prefix) :].lstrip(" \t")
            if not value.isascii():
                return None  # the parser's decoding of it is its own business
            values.append(value)
    return values


# The last header block split into lines: a reader asks one METADATA for several
# headers in a row (the finder: Requires-Python, then Requires-Dist).
_last: tuple[bytes, list[str] | None] | None = None


def _header_lines(metadata: bytes) -> list[str] | None:
    """The lines of ``metadata``'s header block; None where they do not end in ``\n`` alone."""
    global _last
    last = _last
    if last is not None and last[0] is metadata:
        return last[1]
    end = metadata.find(b"\n\n")  # the body (often most of the file) is not copied
    head = metadata if end < 0 else metadata[:end]
    # Latin-1 maps every byte to one character: the structure reads the same as bytes.
    lines = None if b"\r" in head else head.decode("latin-1").split("\n")
    _last = (metadata, lines)
    return lines


def header_values(data: bytes, name: str) -> list[str]:
    """Every value of header ``name``, as ``email``'s compat32 parser reads them."""
    values = simple_header_values(data, name)
    if values is None:
        from email.parser import BytesHeaderParser

        message = BytesHeaderParser().parsebytes(data)
        values = [str(v) for v in message.get_all(name) or []]
    return values
