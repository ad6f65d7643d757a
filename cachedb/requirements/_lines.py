"""The lines of a requirements file as pip reads them: comments, continuations, and where
a line's options start. Shared by the full parser (``_file``) and the plain one
(``_plain``), which must read every file alike; no packaging here."""

from __future__ import annotations

import re
from collections.abc import Iterator

# pip's rules: "#" starts a comment at line start or after whitespace, so the
# "#sha256=" fragment of a URL survives.
COMMENT = re.compile(r"(^|\s+)#.*$")
FIRST_OPTION = re.compile(r"(?:^|\s)(-\S*)")
# A pipe or a device may never end (``-r /dev/zero``): what is read is bounded.
MAX_FILE = 64 * 1024 * 1024


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Join backslash continuations; yield each logical line with its first line number."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        is_comment = COMMENT.match(line) is not None
        if line.endswith("\\") and not is_comment:
            if not pending:
                start = number
            pending.append(line[:-1])
            continue
        if not pending:
            yield number, line
            continue
        # A comment line ends a continuation; the space keeps it a comment once joined.
        pending.append(" " + line if is_comment else line)
        yield start, "".join(pending)
        pending = []
    if pending:
        yield start, "".join(pending)


def split_options(line: str) -> tuple[str, str]:
    """Split ``req --hash=...`` at the first word starting with "-", as pip does."""
    match = FIRST_OPTION.search(line)
    if match is None:
        return line, ""
    return line[: match.start(1)].strip(), line[match.start(1) :]
