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
    headers = _split_headers(metadata)
    if headers is None:
        return None
    return headers.get(name.lower(), [])


# The last block split: a reader asks one METADATA for several headers in a row
# (Requires-Python, then Requires-Dist), and each split reads every header line.
_last: tuple[bytes, dict[str, list[str] | None] | None] | None = None


def _split_headers(metadata: bytes) -> dict[str, list[str] | None] | None:
    """Every header's values by lower-cased name (None: that header is not plain: folded
    or not ASCII), or None if the block is not plain at all."""
    global _last
    last = _last
    if last is not None and last[0] is metadata:
        return last[1]
    headers = _split(metadata)
    _last = (metadata, headers)
    return headers


def _split(metadata: bytes) -> dict[str, list[str] | None] | None:
    end = metadata.find(b"\n\n")
    head = metadata if end < 0 else metadata[:end]
    if b"\r" in head:
        return None
    headers: dict[str, list[str] | None] = {}
    last: str | None = None  # the header of the line before
    # Latin-1 maps every byte to one character: the structure reads the same as bytes.
    for line in head.decode("latin-1").split("\n"):
        if not line:
            break  # the blank line that ends the headers (here only ever a leading one)
        if line[0] in " \t":
            if last is not None:
                headers[last] = None  # folded: the email parser's to read
            continue
        if not _HEADER.match(line):
            return None
        key, _, value = line.partition(":")
        last = key.lower()
        value = value.lstrip(" \t")
        values = headers.setdefault(last, [])
        if values is not None:
            if value.isascii():
                values.append(value)
            else:
                headers[last] = None  # the parser's decoding of it is its own business
    return headers


def header_values(data: bytes, name: str) -> list[str]:
    """Every value of header ``name``, as ``email``'s compat32 parser reads them."""
    values = simple_header_values(data, name)
    if values is None:
        from email.parser import BytesHeaderParser

        message = BytesHeaderParser().parsebytes(data)
        values = [str(v) for v in message.get_all(name) or []]
    return values
