"""The plain wheel and sdist filename readers (cachedb/_filenames.py) read what
packaging.utils reads, on random filenames.

For every filename: both give the same name, Version, build tag and tags (packaging's
Tag objects as the strings the target's tag list holds), or both refuse it with the
same error type and text. The plain path must answer for the usual names, or the
warm path would still load packaging.utils.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
)
from packaging.utils import (
    parse_sdist_filename as packaging_sdist,
)
from packaging.utils import (
    parse_wheel_filename as packaging_wheel,
)

from cachedb import _filenames
from cachedb._filenames import (
    parse_sdist_filename,
    parse_wheel_filename,
    read_sdist_filename,
    read_wheel_filename,
)

FUZZ = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Mostly well-formed pieces, with the characters that make a piece not plain or invalid.
NAMES = st.one_of(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._]{0,5}[A-Za-z0-9])?", fullmatch=True),
    st.text(alphabet="aZ09._-_ é\n", min_size=0, max_size=7),
)
VERSIONS = st.one_of(
    st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}", fullmatch=True),
    st.from_regex(r"[0-9](\.[0-9])?(a|b|rc|\.post|\.dev)[0-9]", fullmatch=True),
    st.text(alphabet="0129.*abrcpostdev+v!_ ", min_size=0, max_size=8),
)
BUILDS = st.one_of(
    st.from_regex(r"[0-9]{1,3}[a-z_.]{0,3}", fullmatch=True),
    st.from_regex(r"[0-9][a-z_.+\n]{0,3}", fullmatch=True),
    st.text(alphabet="09a_.+\n é", min_size=0, max_size=5),
)
INTERPRETERS = st.one_of(
    st.sampled_from(["py3", "py2.py3", "cp311", "CP311", "pp310", "cp39.cp310", "py3.", "3py"]),
    st.text(alphabet="py3cP._+", min_size=0, max_size=6),
)
ABIS = st.one_of(
    st.sampled_from(["none", "abi3", "cp311", "cp311d", "NONE", "abi3.none", ".none"]),
    st.text(alphabet="abi3n._+", min_size=0, max_size=5),
)
PLATFORMS = st.one_of(
    st.sampled_from(
        ["any", "manylinux_2_17_x86_64.manylinux2014_x86_64", "linux_x86_64", "win_amd64"]
        + ["macosx_11_0_arm64", "Any", "any.", "musllinux_1_1_aarch64"]
    ),
    st.text(alphabet="anyx86_.+é", min_size=0, max_size=6),
)


@st.composite
def wheel_filenames(draw: st.DrawFn) -> str:
    parts = [draw(NAMES), draw(VERSIONS)]
    if draw(st.booleans()):
        parts.append(draw(BUILDS))
    parts += [draw(INTERPRETERS), draw(ABIS), draw(PLATFORMS)]
    if draw(st.integers(0, 9)) == 0:  # a part too many or too few
        parts.insert(draw(st.integers(0, len(parts))), draw(NAMES))
    if draw(st.integers(0, 9)) == 0:
        parts.pop(draw(st.integers(0, len(parts) - 1)))
    return "-".join(parts) + draw(st.sampled_from([".whl"] * 8 + [".WHL", ".zip", ""]))


def _packaging_wheel(filename: str) -> tuple[object, ...]:
    name, version, build, tags = packaging_wheel(filename)
    return (name, version, build, frozenset(str(tag) for tag in tags))


@FUZZ
@given(st.one_of(wheel_filenames(), st.text(max_size=30)))
@example("numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
@example("python_dateutil-2.9.0.post0-py2.py3-none-any.whl")
@example("Foo.Bar-1.0-12abc-PY3-NONE-ANY.whl")
@example("app-1.0-1\n-py3-none-any.whl")  # packaging's build tag is (\d+)(.*), no newline
def test_a_wheel_filename_reads_as_packaging_reads_it(filename: str) -> None:
    try:
        expected: tuple[object, ...] | str = _packaging_wheel(filename)
    except InvalidWheelFilename as exc:
        expected = str(exc)
    try:
        got: tuple[object, ...] | str = tuple(parse_wheel_filename(filename))
    except InvalidWheelFilename as exc:
        got = str(exc)
    assert got == expected
    read = read_wheel_filename(filename)
    assert (tuple(read) if read is not None else str(expected)) == expected
    plain = _filenames._plain_wheel(filename)
    assert plain is None or tuple(plain) == expected


def _packaging_sdist(filename: str) -> tuple[object, ...] | str:
    try:
        return packaging_sdist(filename)
    except InvalidSdistFilename as exc:
        return str(exc)


@FUZZ
@given(
    st.one_of(
        st.builds(
            lambda name, version, suffix: f"{name}-{version}{suffix}",
            NAMES,
            VERSIONS,
            st.sampled_from([".tar.gz"] * 4 + [".zip", ".tar.bz2", ".tgz", ""]),
        ),
        st.text(max_size=30),
    )
)
@example("python-dateutil-2.9.0.post0.tar.gz")
@example("-1.0.tar.gz")
def test_an_sdist_filename_reads_as_packaging_reads_it(filename: str) -> None:
    expected = _packaging_sdist(filename)
    try:
        got: tuple[object, ...] | str = parse_sdist_filename(filename)
    except InvalidSdistFilename as exc:
        got = str(exc)
    assert got == expected
    read = read_sdist_filename(filename)
    assert (read if read is not None else str(expected)) == expected
    plain = _filenames._plain_sdist(filename)
    assert plain is None or plain == expected


@pytest.mark.parametrize(
    "filename",
    [
        "numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "python_dateutil-2.9.0.post0-py2.py3-none-any.whl",
        "zope.interface-7.1.1-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
        "app-1.0-1build-py3-none-any.whl",
        "pip-24.0.tar.gz",
        "python-dateutil-2.9.0.post0.tar.gz",
    ],
)
def test_the_usual_filenames_are_read_without_packaging_utils(filename: str) -> None:
    """The plain path answers for them (the fuzz tests only show it answers right)."""
    if filename.endswith(".whl"):
        assert _filenames._plain_wheel(filename) is not None
    else:
        assert _filenames._plain_sdist(filename) is not None
