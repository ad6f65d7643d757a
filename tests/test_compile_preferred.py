"""The compile shortcut for kept pins (lock/_preferred.py) against the full resolver.

Whenever the shortcut answers, its resolution must be the one ``resolve()`` gives
with the same lock finder, and a compile through it must write the same lock file
byte for byte as one through the resolver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indexserver import IndexServer
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from wheelbuilder import make_wheel

from cachedb._pep508 import Requirement, parse_pep508
from cachedb.cli import main
from cachedb.errors import ResolutionImpossible
from cachedb.lock import _preferred
from cachedb.lock._finder import LockFinder
from cachedb.resolve import CandidateInfo, Resolution, resolve

MARKERS = {
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.4",
    "python_version": "3.11",
    "sys_platform": "linux",
}
NAMES = ["a", "b", "c", "d", "e"]
VERSIONS = ["1.0", "1.1", "2.0", "2.1b1"]
SPECIFIERS = ["", ">=1.1", "<2", "==1.0", "!=1.1", ">=2.1b1", "~=1.0", "==2.*"]
MARKER_TEXTS = ["", "; extra == 'x'", "; python_version < '3'", "; sys_platform == 'linux'"]


class Universe:
    """An in-memory index behind the real ``LockFinder``: {name: {version: requires}}."""

    def __init__(
        self,
        projects: Mapping[str, Mapping[str, list[str]]],
        yanked: Iterable[tuple[str, str]],
        requires_python: Mapping[tuple[str, str], str],
    ) -> None:
        self.projects = projects
        self.yanked = set(yanked)
        self.requires_python = requires_python

    def __repr__(self) -> str:
        return f"Universe({self.projects!r}, {sorted(self.yanked)!r}, {self.requires_python!r})"

    def candidates(self, name: str, specifier: SpecifierSet) -> list[CandidateInfo]:
        out = []
        for version in self.projects.get(name, {}):
            rp = self.requires_python.get((name, version))
            out.append(
                CandidateInfo(
                    name,
                    Version(version),
                    SpecifierSet(rp) if rp else None,
                    (name, version) in self.yanked,
                    f"{name}-{version}",
                )
            )
        return out

    def dependencies(
        self, candidate: CandidateInfo, extras: frozenset[str] | None = None
    ) -> list[Requirement]:
        return [parse_pep508(r) for r in self.projects[candidate.name][str(candidate.version)]]


def _finder(universe: Universe, preferred: Mapping[str, Version]) -> LockFinder:
    return LockFinder(universe, preferred=preferred, overrides={})  # type: ignore[arg-type]


def _pins(resolution: Resolution) -> list[tuple[object, ...]]:
    """Everything a resolution holds, in its order (the candidate's source too)."""
    return [(*pin, pin.candidate.source) for pin in resolution.pins.values()]


@st.composite
def requirement(draw: st.DrawFn, names: list[str]) -> str:
    name = draw(st.sampled_from(names))
    extras = draw(st.sampled_from(["", "[x]"]))
    return name + extras + draw(st.sampled_from(SPECIFIERS)) + draw(st.sampled_from(MARKER_TEXTS))


@st.composite
def case(draw: st.DrawFn) -> tuple[Universe, list[str], list[str], bool, str | None]:
    names = NAMES[: draw(st.integers(2, len(NAMES)))]
    projects: dict[str, dict[str, list[str]]] = {}
    for name in names:
        versions = draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True))
        projects[name] = {
            v: draw(st.lists(requirement([n for n in names if n != name]), max_size=3))
            for v in versions
        }
    every = [(n, v) for n in projects for v in projects[n]]
    yanked = draw(st.lists(st.sampled_from(every), max_size=2))
    python = draw(st.lists(st.sampled_from(every), max_size=2))
    universe = Universe(projects, yanked, {key: ">=3.12" for key in python})
    top = draw(st.lists(requirement(names), min_size=1, max_size=3))
    constraints = draw(st.lists(requirement(names).map(lambda r: r.split(";")[0]), max_size=1))
    constraints = [c.replace("[x]", "") for c in constraints]
    pre = draw(st.booleans())
    mode = draw(st.sampled_from([None, "disallow", "allow", "if-necessary", "explicit"]))
    return universe, top, constraints, pre, mode


def _resolve(
    universe: Universe,
    top: list[str],
    constraints: list[str],
    preferred: Mapping[str, Version],
    pre: bool,
    mode: str | None,
) -> Resolution | None:
    try:
        return resolve(
            [parse_pep508(r) for r in top],
            _finder(universe, preferred),
            markers=MARKERS,
            constraints=[parse_pep508(c) for c in constraints],
            pre=pre,
            prerelease=mode,
        )
    except ResolutionImpossible:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case(), st.data())
def test_the_shortcut_answers_as_the_resolver_does(
    drawn: tuple[Universe, list[str], list[str], bool, str | None], data: st.DataObject
) -> None:
    universe, top, constraints, pre, mode = drawn
    # Kept pins: the resolver's own answer (the common case: nothing changed), then some
    # of them dropped or moved to another version, and some names never resolved.
    try:
        first = _resolve(universe, top, constraints, {}, pre, mode)
    except RecursionError:
        # resolvelib's result graph walk recurses without end on some backtracked
        # cycles (a defect of the full resolver, not of the shortcut): no kept pins then.
        first = None
    preferred = {n: p.version for n, p in first.pins.items()} if first is not None else {}
    for name in data.draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True)):
        versions = list(universe.projects.get(name, {}))
        choice = data.draw(st.sampled_from([None, *versions]))
        if choice is None:
            preferred.pop(name, None)
        else:
            preferred[name] = Version(choice)

    fast = _preferred.resolve_preferred(
        [parse_pep508(r) for r in top],
        _finder(universe, preferred),
        markers=MARKERS,
        constraints=[parse_pep508(c) for c in constraints],
        preferred=preferred,
        pre=pre,
        prerelease=mode,
    )
    if fast is None:
        return
    slow = _resolve(universe, top, constraints, preferred, pre, mode)
    assert slow is not None, "the shortcut answered where the resolver finds no answer"
    assert _pins(fast) == _pins(slow)


def test_the_shortcut_answers_when_the_kept_pins_fit() -> None:
    """Not a shortcut that never answers: extras, markers and ranges, all pins kept."""
    universe = Universe(
        {
            "a": {"1.0": ["b[x]>=1", "c; python_version < '3'"], "2.0": ["b[x]>=1"]},
            "b": {"1.0": ["d; extra == 'x'"], "1.1": ["d; extra == 'x'"]},
            "c": {"1.0": []},
            "d": {"1.0": ["a"], "2.0": []},
        },
        yanked=[("d", "2.0")],
        requires_python={},
    )
    preferred = {"a": Version("1.0"), "b": Version("1.0"), "d": Version("1.0")}
    fast = _preferred.resolve_preferred(
        [parse_pep508("a")],
        _finder(universe, preferred),
        markers=MARKERS,
        constraints=[],
        preferred=preferred,
        pre=False,
        prerelease=None,
    )
    assert fast is not None
    slow = _resolve(universe, ["a"], [], preferred, False, None)
    assert slow is not None and _pins(fast) == _pins(slow)
    assert {n: str(p.version) for n, p in fast.pins.items()} == {"b": "1.0", "d": "1.0", "a": "1.0"}
    assert fast.pins["b"].extras == frozenset({"x"})


# -- the command, through a real index ----------------------------------------------


@pytest.fixture
def index(tmp_path: Path) -> Iterable[IndexServer]:
    server = IndexServer()
    wheels = tmp_path / "wheels"
    server.add(make_wheel(wheels, "app", "1.0", requires=["lib>=1", "tool[cli]", "extra-dep"]))
    server.add(make_wheel(wheels, "app", "2.0", requires=["lib>=2", "tool[cli]"]))
    for version in ("1.0", "2.0", "3.0"):
        server.add(make_wheel(wheels, "lib", version))
    server.add(make_wheel(wheels, "lib", "3.1"), yanked="broken")
    server.add(
        make_wheel(
            wheels,
            "tool",
            "1.0",
            extras=["cli"],
            requires=["helper; extra == 'cli'", "nowhere; python_version < '3'"],
        )
    )
    server.add(make_wheel(wheels, "helper", "1.0"))
    server.add(
        make_wheel(wheels, "helper", "2.0", requires_python=">=3.12"), requires_python=">=3.12"
    )
    server.add(make_wheel(wheels, "extra-dep", "1.0"))
    yield server
    server.close()


@pytest.mark.parametrize(
    ("inputs", "kept", "constraints", "fits"),
    [
        ("app\n", "", "", True),  # the first compile writes the pins the next ones keep
        ("app\n", "app==1.0\nlib==1.0\ntool==1.0\nhelper==1.0\nextra-dep==1.0\n", "", True),
        ("app\nlib<3\n", "app==2.0\nlib==2.0\ntool==1.0\nhelper==1.0\n", "lib!=1.0\n", True),
        # Kept pins that no longer fit (lib==1.0 against app 2.0's lib>=2; a yanked one;
        # a name with no kept pin):
        ("app\n", "app==2.0\nlib==1.0\ntool==1.0\nhelper==1.0\n", "", False),
        ("app\nlib\n", "app==2.0\nlib==3.1\ntool==1.0\nhelper==1.0\n", "", False),
        ("app\n", "app==2.0\nlib==3.0\ntool==1.0\n", "", False),
    ],
    ids=["first", "kept", "constrained", "outgrown", "yanked", "unpinned"],
)
def test_a_compile_through_the_shortcut_writes_the_resolvers_lock_file(
    tmp_path: Path,
    index: IndexServer,
    monkeypatch: pytest.MonkeyPatch,
    inputs: str,
    kept: str,
    constraints: str,
    fits: bool,
) -> None:
    (tmp_path / "requirements.in").write_text(inputs)
    (tmp_path / "constraints.txt").write_text(constraints)
    cache = tmp_path / "cache"
    args = ["compile", "-q", "requirements.in", "-c", "constraints.txt", "-i", index.url]
    args += ["--cache-dir", str(cache), "--generate-hashes"]
    monkeypatch.chdir(tmp_path)
    answers: list[Resolution | None] = []
    shortcut = _preferred.resolve_preferred

    def recorded(*args: object, **kwargs: object) -> Resolution | None:
        answers.append(shortcut(*args, **kwargs))  # type: ignore[arg-type]
        return answers[-1]

    outputs = []
    for use in (True, False):
        out = tmp_path / f"out-{use}.txt"
        if kept:
            out.write_text(kept)
        else:  # the first compile's own output, as a user's second compile finds it
            assert main([*args, "-o", str(out)]) == 0
        monkeypatch.setattr(_preferred, "resolve_preferred", recorded if use else _refuse)
        for memo in cache.glob("interpreters-v0/*/compile-*.json"):
            memo.unlink()  # never the remembered answer: each run compiles
        assert main([*args, "-o", str(out)]) == 0
        outputs.append(out.read_text().replace(out.name, "OUT"))
    assert outputs[0] == outputs[1]
    assert (answers[-1] is not None) == fits


def _refuse(*args: object, **kwargs: object) -> None:
    """The shortcut switched off: every compile goes through the resolver."""
    return None
