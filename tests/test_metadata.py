"""Requires-Dist as read from METADATA: the hand-split fast path agrees with the email parser."""

from __future__ import annotations

import random
from email.parser import BytesHeaderParser
from importlib.metadata import distributions

import pytest

from cachedb._headers import simple_header_values
from cachedb.errors import InvalidWheel
from cachedb.install.metadata import requires_dist

# Lines a hand-written or hostile METADATA may hold, each a way for naive splitting to go wrong.
ODD_LINES = [
    b"Requires-Dist:tight",
    b'requires-dist:   lower ; extra == "x"',
    b"Requires-Dist: folded\n continued",
    b"Requires-Dist: g\n\th",
    b"Requires-Dist: carriage\r",
    b"Not a header\nRequires-Dist: after-body",
    b"Requires-Dist: trailing  ",
    b"\xc3\xa9t\xc3\xa9: non-ascii name",
    b"Author: Ren\xc3\xa9 non-ascii value",
    b"Requires-Dist: caf\xc3\xa9",
    b" continuation of whatever came before",
    b"Requires-Dist : space-before-colon",
    b"From someone: unixfrom-like",
    b":empty-name",
    b"Requires-Dist:\ttab",
    b"Del\x7fete: control",
    b"",
]


def _real_metadata() -> list[bytes]:
    # The METADATA of every distribution installed for this test run: real-world variety.
    found = []
    for dist in distributions():
        text = dist.read_text("METADATA")
        if text:
            found.append(text.encode("utf-8"))
    assert len(found) > 10
    return found


def _email_values(data: bytes, name: str = "Requires-Dist") -> list[str]:
    return [str(v) for v in BytesHeaderParser().parsebytes(data).get_all(name) or []]


def test_fast_header_split_agrees_with_the_email_parser() -> None:
    rng = random.Random(1234)
    fast_used = 0
    for data in _real_metadata():
        for round_ in range(30):
            lines = data.split(b"\n\n", 1)[0].split(b"\n")
            for _ in range(round_ % 3):
                lines.insert(rng.randint(0, len(lines)), rng.choice(ODD_LINES))
            mangled = b"\n".join(lines) + b"\n\nRequires-Dist: in-the-body\n"
            # Several headers of one block in a row, as the finder reads them (one split).
            for name in ("Requires-Python", "Requires-Dist", "Author", "requires-dist"):
                fast = simple_header_values(mangled, name)
                if fast is not None:
                    fast_used += 1
                    assert fast == _email_values(mangled, name), (name, mangled[:400])
    assert fast_used > 400  # the fast path is what real metadata takes


@pytest.mark.parametrize(
    "metadata",
    [
        b"Name: a\nRequires-Dist: b>=1\nRequires-Dist: c; extra == 'x'\n\nbody",
        b"Name: a\nSummary: folded\n  summary\nRequires-Dist: b>=1\n\n",
        b"Name: a\r\nRequires-Dist: b>=1\r\n\r\n",
        b"\nRequires-Dist: after-a-leading-blank-line\n",
    ],
)
def test_requires_dist_parses_fast_and_slow_paths_alike(metadata: bytes) -> None:
    got = [str(r) for r in requires_dist(metadata, "a 1.0")]
    from packaging.requirements import Requirement

    assert got == [str(Requirement(v)) for v in _email_values(metadata)]


def test_an_invalid_requires_dist_is_refused() -> None:
    with pytest.raises(InvalidWheel, match="invalid Requires-Dist"):
        requires_dist(b"Name: a\nRequires-Dist: b >>= 1\n\n", "a 1.0")
