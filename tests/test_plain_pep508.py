"""The requirement type the warm path uses (cachedb/_pep508.py, _markers.py)
reads what packaging reads, on random input.

Wherever the plain reader answers, packaging must read the same text to the same
name, extras, specifier, URL, marker and text, and the marker must hold in exactly the
environments (with or without an extra asked) where packaging's holds. Where it does
not answer, ``parse_pep508`` is packaging's reading: the same requirement, or the
same error. A requirement packaging read is turned into the same type, unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker as PackagingMarker
from packaging.requirements import InvalidRequirement as PackagingInvalid
from packaging.requirements import Requirement as PackagingRequirement

from cachedb._markers import Marker
from cachedb._pep508 import (
    InvalidRequirement,
    Requirement,
    parse_pep508,
    read_plain,
)

FUZZ = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WS = st.sampled_from(["", "", "", " ", " ", "\t", "  ", "\n", "\u00a0"])
NAMES = st.one_of(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,4}[A-Za-z0-9])?", fullmatch=True),
    st.text(alphabet="aZz09._-[](),@", min_size=0, max_size=7),
)
EXTRAS = st.one_of(
    st.just(""),
    st.just(""),
    st.lists(
        st.sampled_from(["a", "B_c", "b-c", "x.y", "x", "", " a", "a b", "-"]), max_size=3
    ).map(lambda names: f"[{','.join(names)}]"),
    st.sampled_from(["[", "]", "[a", "[a,]", "[,]"]),
)
OPERATORS = st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~="] * 3 + ["===", "=", "<>", ""])
VERSIONS = st.one_of(
    st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}", fullmatch=True),
    st.from_regex(
        r"(1!)?[0-2](\.[0-2]){0,2}((a|b|rc|\.post|\.dev|post|-)[0-9]?)?(\.\*|\+[a-z0-9.]{1,4})?",
        fullmatch=True,
    ),
    st.sampled_from(["2.9.0.post0", "2.0a0", "2.0a.0", "1.0.0rc8", "1.*", "v1.0", "1.0-1"]),
    st.text(alphabet="0129.*abrcpostdev+v!-_ ", min_size=0, max_size=8),
)
VARIABLES = st.sampled_from(
    ["python_version", "python_full_version", "sys_platform", "os_name", "platform_system"]
    + ["platform_machine", "implementation_name", "platform_python_implementation", "extra"]
    + ["platform_release", "python_versionx", "os.name", "python_implementation"]
)
MARKER_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "==", "!=", "~=", "in", "==="])
MARKER_VALUES = st.one_of(
    st.sampled_from(["3.8", "3.9", "3.10", "3.11", "3.12", "3.11.7", "3", "4", "3.*", "3.9rc1"]),
    st.sampled_from(["linux", "win32", "darwin", "posix", "nt", "Linux", "Windows", "x86_64"]),
    st.sampled_from(["cpython", "CPython", "PyPy", "v1", "a", "A.b", "", "x y", "Test.Y", "é"]),
)
QUOTES = st.sampled_from(['"', "'"])


@st.composite
def marker_texts(draw: st.DrawFn, depth: int = 0, neat: bool = False) -> str:
    """Markers; ``neat``: mostly of the kind the plain reader takes."""
    ws = BLANKS if neat else WS
    atoms = []
    for _ in range(draw(st.integers(1, 3))):
        if depth < 3 and draw(st.integers(0, 4)) == 0:
            atom = f"({draw(ws)}{draw(marker_texts(depth + 1, neat))}{draw(ws)})"
        else:
            q = draw(QUOTES)
            var, op, value = draw(VARIABLES), draw(MARKER_OPS), draw(MARKER_VALUES)
            if neat and var not in ("python_version", "python_full_version", "extra"):
                op = draw(st.sampled_from(["==", "!="]))
                value = draw(st.sampled_from(["linux", "win32", "nt", "Windows", "CPython"]))
            if neat or draw(st.integers(0, 2)):  # mostly well-formed
                if var in ("python_version", "python_full_version"):
                    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
                    value = draw(st.sampled_from(["3", "3.8", "3.10", "3.11.7", "3.13.0"]))
                elif var == "extra":
                    op, value = (
                        draw(st.sampled_from(["==", "!="])),
                        draw(st.sampled_from(["x", "Test.Y"])),
                    )
            atom = f"{var}{draw(ws)}{op}{draw(ws)}{q}{value}{q}"
        atoms.append(atom)
    text = atoms[0]
    joints = [" and ", " or "] if neat else [" and ", " or ", "and ", " or\t", " andx "]
    for atom in atoms[1:]:
        text += draw(st.sampled_from(joints))
        text += atom
    return text


@st.composite
def requirement_texts(draw: st.DrawFn) -> str:
    text = draw(WS) + draw(NAMES) + draw(WS) + draw(EXTRAS) + draw(WS)
    specs = ""
    for i in range(draw(st.integers(0, 3))):
        specs += ("," if i else "") + draw(WS) + draw(OPERATORS) + draw(WS) + draw(VERSIONS)
        specs += draw(WS)
    if draw(st.integers(0, 5)) == 0:
        specs = f"({specs})"
    text += specs
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.sampled_from([" @ https://h/p-1.whl", "@ x", ","]))
    if draw(st.integers(0, 2)):
        text += draw(st.sampled_from([";", "; ", " ; ", ";\t"])) + draw(marker_texts())
    return text + draw(WS)


BLANKS = st.sampled_from(["", "", " ", "\t"])
NEAT_VERSIONS = st.one_of(
    st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}", fullmatch=True),
    st.from_regex(r"[0-2](\.[0-2]){0,2}(a0|rc1|\.post0|\.dev1|\.\*|\+x)?", fullmatch=True),
)


@st.composite
def neat_requirement_texts(draw: st.DrawFn) -> str:
    """Requirements mostly of the kind the plain reader takes."""
    text = draw(BLANKS) + draw(
        st.from_regex(r"[A-Za-z]([A-Za-z0-9._-]{0,4}[A-Za-z0-9])?", fullmatch=True)
    )
    if draw(st.integers(0, 3)) == 0:
        names = draw(st.lists(st.sampled_from(["a", "B_c", "b-c", "x.Y"]), min_size=1, max_size=3))
        text += draw(BLANKS) + f"[{draw(BLANKS).join(names)}]"
    specs = ""
    for i in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~="]))
        specs += ("," if i else "") + draw(BLANKS) + op + draw(BLANKS) + draw(NEAT_VERSIONS)
    text += draw(BLANKS) + (f"({specs})" if specs and draw(st.integers(0, 3)) == 0 else specs)
    if draw(st.booleans()):
        text += draw(st.sampled_from([";", "; ", " ; "])) + draw(marker_texts(neat=True))
    return text + draw(BLANKS)


REQUIREMENTS = st.one_of(requirement_texts(), neat_requirement_texts())
ENVIRONMENTS = st.fixed_dictionaries(
    {
        "python_version": st.sampled_from(["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]),
        "python_full_version": st.sampled_from(
            ["3.8.10", "3.11.7", "3.11.0", "3.13.0+", "3.14.0rc1", "3.10"]
        ),
        "sys_platform": st.sampled_from(["linux", "win32", "darwin"]),
        "os_name": st.sampled_from(["posix", "nt"]),
        "platform_system": st.sampled_from(["Linux", "Windows", "Darwin"]),
        "platform_machine": st.sampled_from(["x86_64", "arm64"]),
        "implementation_name": st.sampled_from(["cpython", "pypy"]),
        "platform_python_implementation": st.sampled_from(["CPython", "PyPy"]),
        "platform_release": st.sampled_from(["6.1.0", "5.10"]),
        "implementation_version": st.sampled_from(["3.11.7"]),
        "platform_version": st.sampled_from(["#1 SMP"]),
    }
)
EXTRAS_ASKED = st.sampled_from(["", "x", "X", "test-y", "Test.Y", "other"])


def _same(ours: Requirement, theirs: PackagingRequirement, text: str) -> None:
    assert ours.name == theirs.name, text
    assert set(ours.extras) == theirs.extras, text
    assert ours.specifier == theirs.specifier, text
    assert str(ours.specifier) == str(theirs.specifier), text
    assert ours.url == theirs.url, text
    assert str(ours) == str(theirs), text
    assert (ours.marker is None) == (theirs.marker is None), text
    assert str(ours.marker) == str(theirs.marker), text


def _evaluations(marker: Marker | PackagingMarker, environment: dict[str, str]) -> object:
    try:
        return marker.evaluate(environment)
    except Exception as exc:  # the same refusal from both: its type and text
        return (type(exc), str(exc))


@FUZZ
@given(REQUIREMENTS, st.lists(ENVIRONMENTS, min_size=1, max_size=4), EXTRAS_ASKED)
def test_a_plain_requirement_is_what_packaging_reads(
    text: str, environments: list[dict[str, str]], extra: str
) -> None:
    plain = read_plain(text)
    if plain is None:
        return
    try:
        theirs = PackagingRequirement(text)
    except PackagingInvalid as exc:
        raise AssertionError(f"{text!r}: plain, but packaging refuses it: {exc}") from exc
    _same(plain, theirs, text)
    assert plain == Requirement.of(theirs) and hash(plain) == hash(Requirement.of(theirs))
    if plain.marker is None or theirs.marker is None:
        return
    for environment in environments:
        for env in ({**environment, "extra": extra}, environment):
            assert _evaluations(plain.marker, env) == _evaluations(theirs.marker, env), (
                text,
                env,
            )
        # A target that lacks a value: packaging's answer (its error) either way.
        partial = {k: v for k, v in environment.items() if k != "python_full_version"}
        assert _evaluations(plain.marker, partial) == _evaluations(theirs.marker, partial)


@FUZZ
@given(REQUIREMENTS)
def test_parse_pep508_answers_as_packaging(text: str) -> None:
    """Plain or not: the same requirement, or both refuse it with packaging's message."""
    try:
        theirs = PackagingRequirement(text)
    except PackagingInvalid as exc:
        with pytest.raises(InvalidRequirement) as refused:
            parse_pep508(text)
        assert str(refused.value) == str(exc)
        return
    _same(parse_pep508(text), theirs, text)


@FUZZ
@given(
    marker_texts() | marker_texts(neat=True),
    st.lists(ENVIRONMENTS, min_size=1, max_size=4),
    EXTRAS_ASKED,
)
def test_a_plain_marker_holds_where_packagings_holds(
    text: str, environments: list[dict[str, str]], extra: str
) -> None:
    plain = Marker.plain(text)
    if plain is None:
        return
    theirs = PackagingMarker(text)  # packaging reads whatever the plain reader reads
    assert str(plain) == str(theirs), text
    for environment in environments:
        env = {**environment, "extra": extra}
        assert _evaluations(plain, env) == _evaluations(theirs, env), (text, env)


def test_plain_covers_the_common_forms() -> None:
    """Pins of any PEP 440 version, extras, parenthesised specifiers and markers (what
    METADATA files write) are read without packaging's parser."""
    for text in [
        "python-dateutil==2.9.0.post0",
        "a.b_c==1.0, !=1.5,<2",
        "pandas[pyarrow]; extra == 'parquet'",
        "botocore (<2.0a.0,>=1.37.4)",
        "mdurl~=0.1",
        "httpcore==1.*",
        "exceptiongroup>=1.0.0rc8; python_version < '3.11'",
        "brotli>=1.2.0; (platform_python_implementation == 'CPython') and extra == 'brotli'",
    ]:
        assert read_plain(text) is not None, text
    for text in [
        "a @ https://example.invalid/a-1.0-py3-none-any.whl",
        "a===1.0",
        "a; python_version >= '3.*'",
        "a; python_version ~= '3.1'",
        "a; sys_platform == 'v1'",
        "a; platform_release >= '5'",
        "a; 'x' in extra",
        "a==1,",
        "",
    ]:
        assert read_plain(text) is None, text


def test_every_pin_of_the_benchmark_is_plain() -> None:
    """The 46 pins a warm install of the benchmark reads (python-dateutil's .post0 too)."""
    pins = Path(__file__).parent.parent / "benchmarks" / "requirements.txt"
    lines = [line for line in pins.read_text().splitlines() if line and line[0] != "#"]
    assert len(lines) > 40
    assert [line for line in lines if read_plain(line) is None] == []


def test_a_packaging_requirement_keeps_its_reading() -> None:
    theirs = PackagingRequirement('A[X] @ https://h/a-1.whl ; os_name == "nt"')
    ours = Requirement.of(theirs)
    _same(ours, theirs, str(theirs))
    assert ours.marker is not None and ours.marker.evaluate({"os_name": "nt"}) is True
    with pytest.raises(InvalidRequirement, match="Expected"):
        parse_pep508("a @")
