"""entry_points.txt read without configparser (wheel/entry_points.plain_sections) reads
what configparser reads, on random input.

Wherever the plain reader answers, configparser must read the same text without an
error to the same sections, options and values; where it answers None, configparser
reads the text instead, so only its answers are compared.
"""

from __future__ import annotations

import configparser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachedb.errors import InstallError
from cachedb.wheel.entry_points import EntryPointScript, parse_entry_points, plain_sections

FUZZ = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BLANK = st.sampled_from(["", "", " ", "  ", "\t", " \t"])
NAMES = st.sampled_from(["foo", "Foo", "foo-bar", "a.b", "x y", "k:v", "#no", ";no", "[s]", "é"])
VALUES = st.sampled_from(
    ["pkg.cli:main", "pkg:main [extra]", "a = b", "", "x:y  ", "[x]", "#c", "v\x0b", "m:f\r"]
)
SECTIONS = st.sampled_from(
    ["console_scripts", "gui_scripts", "other.group", "DEFAULT", "a]b", "a[b", "", "x ", "é"]
)


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind < 4:
        return f"{draw(NAMES)}{draw(BLANK)}={draw(BLANK)}{draw(VALUES)}{draw(BLANK)}"
    if kind < 6:
        return f"{draw(BLANK)}[{draw(SECTIONS)}]{draw(BLANK)}"
    if kind == 6:
        return draw(BLANK) + draw(st.sampled_from(["# a comment", "; one", "#", ""]))
    if kind == 7:  # indented: a continuation line, or an indented option
        return draw(st.sampled_from([" ", "\t", "  "])) + draw(st.sampled_from(["more", "b = c"]))
    if kind == 8:
        return draw(st.sampled_from(["no delimiter", "= value", "[", "[]", "name : value"]))
    return draw(st.text(alphabet=" \t=[]#;:ab\x0c\r\x1f\u00a0\u2028", max_size=6))


NEAT = st.one_of(
    st.builds(lambda s: f"[{s}]", st.sampled_from(["console_scripts", "gui_scripts", "x"])),
    st.builds(lambda n, b, v: f"{n}{b}={b}{v}", NAMES, BLANK, VALUES.filter(str.isprintable)),
    st.sampled_from(["", "# c", "; c"]),
)
TEXTS = st.one_of(
    st.lists(lines(), max_size=8),
    st.builds(lambda head, rest: [head, *rest], st.just("[console_scripts]"), st.lists(NEAT)),
).flatmap(lambda ls: st.sampled_from(["\n".join(ls), "\n".join(ls) + "\n"]))


def by_configparser(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {name: dict(parser.items(name)) for name in parser.sections()}


@FUZZ
@given(TEXTS)
def test_plain_sections_are_what_configparser_reads(text: str) -> None:
    plain = plain_sections(text)
    if plain is None:
        return
    try:
        expected = by_configparser(text)
    except configparser.Error as exc:
        raise AssertionError(f"{text!r}: read plainly, but configparser refuses it") from exc
    assert plain == expected, text


def test_a_usual_entry_points_file_is_read_plainly() -> None:
    text = (
        "[console_scripts]\nfoo = foo.cli:main\nbar=bar:run [speed]\n\n"
        "# a comment\n[gui_scripts]\nfoo-gui = foo.gui:main\n\n[foo.plugins]\nx = y\n"
    )
    assert plain_sections(text) == by_configparser(text)
    assert parse_entry_points(text, "foo") == [
        EntryPointScript("foo", "foo.cli", "main", "console"),
        EntryPointScript("bar", "bar", "run", "console"),
        EntryPointScript("foo-gui", "foo.gui", "main", "gui"),
    ]


def test_what_the_plain_reader_leaves_to_configparser_still_reads() -> None:
    # A continuation line and [DEFAULT] (whose options every section has) are configparser's.
    text = "[DEFAULT]\nshared = a:b\n[console_scripts]\nfoo =\n  foo:main\n"
    assert plain_sections(text) is None
    assert parse_entry_points(text, "foo") == [
        EntryPointScript("shared", "a", "b", "console"),
        EntryPointScript("foo", "foo", "main", "console"),
    ]
    with pytest.raises(InstallError, match="unreadable entry_points.txt"):
        parse_entry_points("foo = bar:baz\n", "foo")  # no section header
