"""The nothing-to-do check's reading (``_pep508.read_plain`` with ``releases_only``,
``Marker.holds``, ``_plain_values``) and canonical_name (_names.py) read what
packaging reads, on random input.

Wherever the plain reader answers, packaging must parse the same text to the same
canonical name, extras, no URL, a marker that holds exactly where the plain one
holds, and specifiers that admit exactly the versions the plain comparisons admit;
where it answers None, packaging reads the text instead, so only its answers are
compared. Plain release versions must order as packaging orders them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cachedb._markers import Marker as PlainMarker
from cachedb._names import canonical_name
from cachedb._pep508 import InvalidRequirement as PlainInvalid
from cachedb._pep508 import Requirement as PlainOrNot
from cachedb._pep508 import parse_pep508, read_plain
from cachedb._plain_values import contains, is_name, plain_release
from cachedb.install.metadata import for_other_extras, requires_dist
from cachedb.requirements._project import names_a_file

FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Mostly well-formed pieces (so that most texts are plain), some of anything.
WS = st.sampled_from(["", "", "", " ", " ", "\t", "  ", "\n", "\u00a0"])
NAMES = st.one_of(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,4}[A-Za-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z][a-z_]{0,3}", fullmatch=True),
    st.text(alphabet="aZz09._-[]", min_size=0, max_size=7),
)
OPERATORS = st.sampled_from(["==", "!=", "<=", ">=", "<", ">"] * 3 + ["~=", "===", "=", "<>", ""])
VERSIONS = st.one_of(
    st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}", fullmatch=True),
    st.from_regex(r"[0-2](\.[0-2]){0,2}", fullmatch=True),
    st.from_regex(r"[0-2](\.[0-2]){0,2}", fullmatch=True),
    st.text(alphabet="0129.*abrcpostdev+v!", min_size=0, max_size=8),
)
VARIABLES = st.sampled_from(
    ["python_version", "python_full_version", "sys_platform", "os_name", "platform_system"]
    + ["platform_machine", "implementation_name", "platform_python_implementation", "extra"]
    + ["platform_release", "python_versionx"]
)
MARKER_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "==", "!=", "~=", "in", "==="])
MARKER_VALUES = st.one_of(
    st.sampled_from(["3.8", "3.9", "3.10", "3.11", "3.12", "3.11.7", "3", "4", "3.*", "3.9rc1"]),
    st.sampled_from(["linux", "win32", "darwin", "posix", "nt", "Linux", "Windows", "x86_64"]),
    st.sampled_from(["cpython", "CPython", "PyPy", "v1", "a", "A.b", "", "x y"]),
)


@st.composite
def markers(draw: st.DrawFn) -> str:
    clauses = []
    for _ in range(draw(st.integers(1, 3))):
        q = draw(st.sampled_from(['"', "'"]))
        clause = (
            f"{draw(VARIABLES)}{draw(WS)}{draw(MARKER_OPS)}{draw(WS)}{q}{draw(MARKER_VALUES)}{q}"
        )
        clauses.append(f"({clause})" if draw(st.integers(0, 9)) == 0 else clause)
    text = clauses[0]
    for clause in clauses[1:]:
        text += draw(st.sampled_from([" and ", " or ", " and ", " or ", "and ", " or\t"])) + clause
    return draw(st.sampled_from([";", "; ", " ; ", ";\t"])) + text


@st.composite
def plain_markers(draw: st.DrawFn) -> str:
    """Markers mostly of the kind the plain reader takes."""
    clauses = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            variable = draw(st.sampled_from(["python_version", "python_full_version"]))
            op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            value = draw(st.sampled_from(["3", "3.8", "3.9", "3.10", "3.11", "3.11.7", "3.13.0"]))
        elif kind == 1:
            variable = draw(st.sampled_from(["sys_platform", "os_name", "platform_system"]))
            op = draw(st.sampled_from(["==", "!="]))
            value = draw(st.sampled_from(["linux", "win32", "darwin", "nt", "posix", "Windows"]))
        else:
            variable, op, value = "extra", "==", draw(st.sampled_from(["x", "Test.Y"]))
        q = draw(st.sampled_from(['"', "'"]))
        clauses.append(f"{variable}{draw(WS)}{op}{draw(WS)}{q}{value}{q}")
    text = clauses[0]
    for clause in clauses[1:]:
        text += draw(st.sampled_from([" and ", " or "])) + clause
    return "; " + text


MARKERS = st.one_of(st.just(""), st.just(""), markers(), plain_markers(), plain_markers())
ENVIRONMENTS = st.fixed_dictionaries(
    {
        "python_version": st.sampled_from(["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]),
        "python_full_version": st.sampled_from(
            ["3.8.10", "3.11.7", "3.11.0", "3.13.0+", "3.14.0rc1"]
        ),
        "sys_platform": st.sampled_from(["linux", "win32", "darwin"]),
        "os_name": st.sampled_from(["posix", "nt"]),
        "platform_system": st.sampled_from(["Linux", "Windows", "Darwin"]),
        "platform_machine": st.sampled_from(["x86_64", "arm64"]),
        "implementation_name": st.sampled_from(["cpython", "pypy"]),
        "platform_python_implementation": st.sampled_from(["CPython", "PyPy"]),
        "platform_release": st.sampled_from(["6.1.0", "5.10"]),
    }
)


@st.composite
def requirement_texts(draw: st.DrawFn) -> str:
    text = draw(WS) + draw(NAMES) + draw(WS)
    for i in range(draw(st.integers(0, 3))):
        text += ("," if i else "") + draw(WS) + draw(OPERATORS) + draw(WS) + draw(VERSIONS)
        text += draw(WS)
    return text + draw(MARKERS) + draw(WS)


PLAIN_VERSIONS = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,2}){0,4}", fullmatch=True)


@FUZZ
@given(
    requirement_texts(),
    st.lists(PLAIN_VERSIONS, min_size=1, max_size=8),
    st.lists(ENVIRONMENTS, min_size=1, max_size=4),
)
def test_a_plain_requirement_is_what_packaging_reads(
    text: str, versions: list[str], environments: list[dict[str, str]]
) -> None:
    plain = read_plain(text, releases_only=True)
    if plain is None:
        return
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise AssertionError(f"{text!r}: plain, but packaging refuses it: {exc}") from exc
    assert canonical_name(plain.name) == canonicalize_name(req.name), text
    assert req.url is None and set(plain.extras) == req.extras, text
    # A path to parse_requirement:
    assert names_a_file(plain.name) == req.name.lower().endswith((".whl", ".tar.gz", ".zip"))
    assert plain.releases is not None and plain == read_plain(text), text
    assert (plain.marker is None) == (req.marker is None), text
    for environment in environments:
        if plain.marker is not None and req.marker is not None:
            mine = plain.marker.holds(environment)
            if mine is not None:  # None: a target value it does not read (3.13.0+)
                assert mine == req.marker.evaluate({**environment, "extra": ""}), (
                    text,
                    environment,
                )
    for version in versions:
        release = plain_release(version)
        assert release is not None, version
        expected = req.specifier.contains(Version(version), prereleases=True)
        assert contains(plain.releases, release) == expected, (text, version)


@FUZZ
@given(st.one_of(plain_markers(), markers()), st.lists(ENVIRONMENTS, min_size=1, max_size=6))
def test_a_plain_marker_holds_where_packagings_holds(
    text: str, environments: list[dict[str, str]]
) -> None:
    marker_text = text.partition(";")[2]
    plain = PlainMarker.plain(marker_text)
    if plain is None:
        return
    marker = Marker(marker_text)  # packaging reads whatever the plain reader reads
    for environment in environments:
        mine = plain.holds(environment)
        assert mine in (None, marker.evaluate({**environment, "extra": ""})), (text, environment)
        if plain_release(environment["python_full_version"]) is not None:
            assert mine is not None, (text, environment)  # every value given is plain


@FUZZ
@given(VERSIONS, VERSIONS)
def test_plain_releases_order_as_packaging_orders_versions(one: str, other: str) -> None:
    a, b = plain_release(one), plain_release(other)
    for text, release in ((one, a), (other, b)):
        if release is not None:
            version = Version(text)
            assert not (version.is_prerelease or version.is_postrelease or version.local), text
            assert version.epoch == 0, text
    if a is None or b is None:
        return
    assert (a == b) == (Version(one) == Version(other)), (one, other)
    assert (a < b) == (Version(one) < Version(other)), (one, other)


@FUZZ
@given(st.text(max_size=12) | st.text(alphabet="aA._-Zİß", max_size=12))
def test_canonical_name_is_packagings(name: str) -> None:
    assert canonical_name(name) == canonicalize_name(name)


def test_what_packaging_must_read_is_left_to_it() -> None:
    """Each of these is a requirement the plain reader (releases only) does not answer for."""
    for text in [
        "a==1.*",
        "a==1.0a1",
        "a==1.0+local",
        "a~=1.0",
        "a===1.0",
        "a>=1; python_version >= '3.*'",
        "a; python_version ~= '3.1'",
        "a; sys_platform == 'v1'",
        "a; platform_release >= '5'",
        "a @ https://example.invalid/a-1.0-py3-none-any.whl",
        "a==1!2",
        "./a",
        "",
    ]:
        assert read_plain(text, releases_only=True) is None, text
    for text in ["a.b_c==1.0, !=1.5,<2", "a[x]", "a (>=1)", "a; (python_version >= '3')"]:
        assert read_plain(text, releases_only=True) is not None, text
    assert read_plain("a; extra != 'x'", releases_only=True) is not None
    both = read_plain(
        "a>=1; extra == 'X.y' or python_version < '3.9' and os_name == 'nt'", releases_only=True
    )
    assert both is not None and both.marker is not None
    env = {"python_version": "3.8", "os_name": "nt"}
    assert both.marker.holds(env) is True
    assert both.marker.holds({**env, "os_name": "posix"}) is False
    assert both.marker.holds({"os_name": "nt"}) is None  # a value the target lacks


def test_versions_outside_the_plain_set_are_none() -> None:
    for text in ["1.0a1", "1.0.post1", "1.0.dev0", "1.0+x", "v1.0", "1!1.0", " 1.0", "1.", ""]:
        assert plain_release(text) is None, text


# -- leaving out the Requires-Dist lines of extras nobody asked for (install/metadata.py) --

EXTRA_NAMES = st.sampled_from(
    ["x", "X", "test", "Test.Y", "test_y", "test--y", "docs", "b-c", "B_C"]
)


@st.composite
def extra_clauses(draw: st.DrawFn) -> str:
    q = draw(st.sampled_from(['"', "'"]))
    blank = st.sampled_from(["", " ", " ", "\t"]) if draw(st.integers(0, 3)) else WS
    kind = draw(st.integers(0, 11))
    if kind < 6:
        clause = f"extra{draw(blank)}=={draw(blank)}{q}{draw(EXTRA_NAMES)}{q}"
    elif kind == 6:
        clause = f"{q}{draw(EXTRA_NAMES)}{q} == extra"
    elif kind == 7:
        op = draw(st.sampled_from(["!=", "in", "===", "<"]))
        clause = f"extra {op} {q}{draw(EXTRA_NAMES)}{q}"
    elif kind < 10:
        variable = draw(st.sampled_from(["python_version", "sys_platform", "os_name"]))
        op = draw(st.sampled_from(["==", "!=", "<", ">="]))
        value = draw(st.sampled_from(["3.8", "3.11", "3.13", "linux", "win32", "nt"]))
        clause = f"{variable}{draw(blank)}{op}{draw(blank)}{q}{value}{q}"
    else:
        clause = draw(plain_markers()).removeprefix("; ")
    return f"({clause})" if draw(st.integers(0, 11)) == 0 else clause


@st.composite
def neat_extra_lines(draw: st.DrawFn) -> str:
    """Lines of the form most METADATA files have: the plain readers take most of them."""
    head = draw(NAMES.filter(is_name))
    if draw(st.booleans()):
        head += draw(st.sampled_from(["==", ">=", "<", "!=", "~=", " >= "])) + draw(VERSIONS)
    groups = []
    for _ in range(draw(st.integers(1, 2))):
        clauses = []
        for _ in range(draw(st.integers(1, 3))):
            if draw(st.integers(0, 3)):
                clauses.append(f"extra == {draw(EXTRA_NAMES)!r}")
            else:
                value = draw(st.sampled_from(["3.8", "3.11", "3.13"]))
                clauses.append(f'python_version {draw(st.sampled_from(["<", ">="]))} "{value}"')
        groups.append(" and ".join(clauses))
    return f"{head}{draw(st.sampled_from([';', '; ', ' ; ']))}{' or '.join(groups)}"


@st.composite
def extra_lines(draw: st.DrawFn) -> str:
    """Requires-Dist lines, most of them gated by extras, some not plain at all."""
    if draw(st.booleans()):
        return draw(neat_extra_lines())
    if draw(st.integers(0, 2)) == 0:  # anything
        head = draw(WS) + draw(NAMES) + draw(st.sampled_from(["", "[a]", "[a,b] ", " [x]"]))
        for i in range(draw(st.integers(0, 2))):
            head += ("," if i else "") + draw(WS) + draw(OPERATORS) + draw(WS) + draw(VERSIONS)
    else:  # mostly what the plain reader takes
        head = draw(st.sampled_from(["", " "])) + draw(NAMES.filter(is_name))
        for i in range(draw(st.integers(0, 2))):
            op = draw(st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~="]))
            head += ("," if i else "") + draw(st.sampled_from(["", " "])) + op + draw(VERSIONS)
    if draw(st.integers(0, 9)) == 0:
        head += draw(st.sampled_from([" @ https://h/p-1.whl", " @ https://h/a;b.whl ", "@ x"]))
    clauses = [draw(extra_clauses()) for _ in range(draw(st.integers(1, 3)))]
    marker = clauses[0]
    for clause in clauses[1:]:
        marker += draw(st.sampled_from([" and ", " or ", " and ", "and "])) + clause
    if draw(st.integers(0, 11)) == 0:
        marker = f"({marker})"
    end = draw(st.sampled_from(["", "", " ", "\t"])) if draw(st.booleans()) else draw(WS)
    return head + draw(st.sampled_from([";", "; ", " ; ", ";\t", " "])) + marker + end


@FUZZ
@given(
    extra_lines(),
    st.frozensets(EXTRA_NAMES.map(canonicalize_name), max_size=3),
    st.lists(ENVIRONMENTS, min_size=1, max_size=4),
)
def test_a_line_left_out_holds_for_no_extra_asked(
    line: str, asked: frozenset[str], environments: list[dict[str, str]]
) -> None:
    """Whatever ``for_other_extras`` leaves out, its marker holds (as packaging reads
    it) neither for the base dependencies nor for any extra asked, on any target: the
    resolver would have dropped it anyway."""
    try:
        ours = parse_pep508(line)
    except PlainInvalid:
        return  # packaging's refusal: requires_dist reports it, left out or not
    if not for_other_extras(ours, asked):
        return
    req = Requirement(line)
    assert req.marker is not None, line
    for environment in environments:
        for extra in ["", *asked]:
            assert not req.marker.evaluate({**environment, "extra": extra}), (line, extra)


def test_only_the_lines_of_extras_not_asked_are_left_out() -> None:
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            "Name: p",
            "Version: 1.0",
            "Requires-Dist: idna>=2.8",
            "Requires-Dist: pytest>=7; extra == 'test'",
            'Requires-Dist: Sphinx ; extra == "Docs_Extra" and python_version >= "3.8"',
            'Requires-Dist: coverage[toml]>=5 ; extra == "test"',
            'Requires-Dist: trio ; python_version < "3.8" or extra == "trio"',
            "",
        ]
    ).encode()
    everything = [str(r) for r in requires_dist(metadata, "p")]
    assert len(everything) == 5
    kept = [str(r) for r in requires_dist(metadata, "p", frozenset())]
    assert kept == [everything[0], everything[4]]
    kept = [str(r) for r in requires_dist(metadata, "p", frozenset({"docs-extra"}))]
    assert kept == [everything[0], everything[2], everything[4]]
    assert requires_dist(metadata, "p", frozenset({"test", "docs-extra"})) == [
        PlainOrNot.of(Requirement(t)) for t in everything
    ]
