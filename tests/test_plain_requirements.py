"""The plain requirement reader (requirements/_plain.py) and canonical_name (_names.py)
read what packaging reads, on random input.

Wherever the plain reader answers, packaging must parse the same text to the same
canonical name, no URL, no extras, a marker that holds exactly for the extra the
plain reader found, and specifiers that admit exactly the versions the plain
comparisons admit; where it answers None, packaging reads the text instead, so only
its answers are compared. Plain release versions must order as packaging orders them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cachedb._names import canonical_name
from cachedb.requirements._plain import contains, names_a_file, parse_plain, plain_release

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
MARKERS = st.one_of(
    st.builds(
        lambda w1, w2, q, name: f";{w1}extra{w2}=={w2}{q}{name}{q}",
        WS,
        WS,
        st.sampled_from(['"', "'", ""]),
        NAMES,
    ),
    st.just(""),
    st.just(""),
    st.sampled_from(
        [
            "",
            "; python_version >= '3'",
            "; extra == 'a' and python_version < '3'",
            "; 'a' == extra",
            "; extra != 'a'",
            ";extra=='a'",
            "; extra == 'a.b'",
        ]
    ),
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
@given(requirement_texts(), st.lists(PLAIN_VERSIONS, min_size=1, max_size=8))
def test_a_plain_requirement_is_what_packaging_reads(text: str, versions: list[str]) -> None:
    plain = parse_plain(text)
    if plain is None:
        return
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise AssertionError(f"{text!r}: plain {plain}, packaging refuses it: {exc}") from exc
    assert plain.name == canonicalize_name(req.name), text
    assert req.url is None and req.extras == set(), text
    if req.name.lower().endswith((".whl", ".tar.gz", ".zip")):  # a path to parse_requirement
        assert names_a_file(plain.name), text
    if plain.extra is None:
        assert req.marker is None, text
    else:
        assert req.marker is not None, text
        env = {"python_version": "3.11", "extra": ""}
        assert not req.marker.evaluate(env), text  # the base dependencies: never
        assert req.marker.evaluate({**env, "extra": plain.extra.upper()}), text
        assert not req.marker.evaluate({**env, "extra": plain.extra + "x"}), text
    for version in versions:
        release = plain_release(version)
        assert release is not None, version
        expected = req.specifier.contains(Version(version), prereleases=True)
        assert contains(plain.specs, release) == expected, (text, version)


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
    """Each of these is a requirement the plain reader does not answer for."""
    for text in [
        "a[x]",
        "a==1.*",
        "a==1.0a1",
        "a==1.0+local",
        "a~=1.0",
        "a===1.0",
        "a>=1; python_version >= '3'",
        "a @ https://example.invalid/a-1.0-py3-none-any.whl",
        "a (>=1)",
        "a==1!2",
        "./a",
        "",
    ]:
        assert parse_plain(text) is None, text
    assert parse_plain("a.b_c==1.0, !=1.5,<2") is not None
    with_extra = parse_plain("a>=1; extra == 'X.y'")
    assert with_extra is not None and with_extra.extra == "X.y"


def test_versions_outside_the_plain_set_are_none() -> None:
    for text in ["1.0a1", "1.0.post1", "1.0.dev0", "1.0+x", "v1.0", "1!1.0", " 1.0", "1.", ""]:
        assert plain_release(text) is None, text
