"""Resolver behaviour against an in-memory finder (no network, no resolvelib internals)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cachedb._pep508 import Requirement, parse_pep508
from cachedb.errors import NetworkError, ResolutionImpossible
from cachedb.install.metadata import for_other_extras
from cachedb.resolve import (
    CandidateInfo,
    Resolution,
    exact_pin,
    resolve,
    resolve_pinned,
)

MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.4",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.11.4",
    "python_version": "3.11",
    "sys_platform": "linux",
}


class MemoryFinder:
    """Projects as {name: {version: deps}}; records every call it receives."""

    def __init__(
        self,
        projects: dict[str, dict[str, list[str]]],
        *,
        yanked: Iterable[tuple[str, str]] = (),
        requires_python: dict[tuple[str, str], str] | None = None,
        installed: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.projects = projects
        self.yanked = set(yanked)
        self.requires_python = requires_python or {}
        self.installed = set(installed)
        self.calls: list[tuple[str, str]] = []
        self.dep_calls: list[tuple[str, str]] = []

    def candidates(self, name: str, specifier: SpecifierSet) -> list[CandidateInfo]:
        self.calls.append((name, str(specifier)))
        out = []
        for version in self.projects.get(name, {}):
            rp = self.requires_python.get((name, version))
            info = CandidateInfo(
                name=name,
                version=Version(version),
                requires_python=SpecifierSet(rp) if rp else None,
                yanked=(name, version) in self.yanked,
                source=f"{name}-{version}",
            )
            out.append(info)
            if (name, version) in self.installed:
                out.append(
                    CandidateInfo(
                        name=name,
                        version=Version(version),
                        requires_python=info.requires_python,
                        yanked=False,
                        source=f"installed:{name}-{version}",
                        installed=True,
                    )
                )
        return out

    def dependencies(
        self, candidate: CandidateInfo, extras: frozenset[str] | None = None
    ) -> list[Requirement]:
        self.dep_calls.append((candidate.name, str(candidate.version)))
        deps = [parse_pep508(r) for r in self.projects[candidate.name][str(candidate.version)]]
        if extras is not None:  # as cachedb's finder leaves them out
            deps = [dep for dep in deps if not for_other_extras(dep, extras)]
        return deps


def reqs(*texts: str) -> list[Requirement]:
    return [parse_pep508(t) for t in texts]


def versions(result: Resolution) -> dict[str, str]:
    return {name: str(pin.version) for name, pin in result.pins.items()}


def run(
    finder: MemoryFinder,
    *texts: str,
    constraints: list[Requirement] | None = None,
    upgrade: bool = False,
    no_deps: bool = False,
    pre: bool = False,
) -> dict[str, str]:
    result = resolve(
        reqs(*texts),
        finder,
        markers=MARKERS,
        constraints=constraints or (),
        upgrade=upgrade,
        no_deps=no_deps,
        pre=pre,
    )
    return versions(result)


def test_simple_chain_in_dependency_order() -> None:
    finder = MemoryFinder(
        {
            "app": {"1.0": ["lib>=1"]},
            "lib": {"1.0": ["base"], "2.0": ["base<2"]},
            "base": {"1.0": [], "2.0": []},
        }
    )
    result = resolve(reqs("app"), finder, markers=MARKERS)
    assert list(result.pins) == ["base", "lib", "app"]
    assert versions(result) == {"base": "1.0", "lib": "2.0", "app": "1.0"}
    assert result.pins["app"].requested and not result.pins["lib"].requested
    assert result.pins["lib"].candidate.source == "lib-2.0"


def test_extras_pull_extra_dependencies_only_when_requested() -> None:
    finder = MemoryFinder(
        {
            "pkg": {"1.0": ["core", 'fast; extra == "speed"']},
            "core": {"1.0": []},
            "fast": {"1.0": []},
        }
    )
    assert set(run(finder, "pkg")) == {"pkg", "core"}
    result = resolve(reqs("pkg[Speed]"), finder, markers=MARKERS)
    assert set(result.pins) == {"pkg", "core", "fast"}
    assert result.pins["pkg"].extras == {"speed"}


def test_extras_from_a_dependency_and_duplicates_merge() -> None:
    finder = MemoryFinder(
        {
            "app": {"1.0": ["pkg[a]"]},
            "pkg": {"1.0": ['x; extra == "a"', 'y; extra == "b"'], "2.0": []},
            "x": {"1.0": []},
            "y": {"1.0": []},
        }
    )
    result = resolve(reqs("app", "pkg[b]<2", "pkg>=1"), finder, markers=MARKERS)
    assert versions(result) == {"app": "1.0", "pkg": "1.0", "x": "1.0", "y": "1.0"}
    assert result.pins["pkg"].extras == {"a", "b"}


def test_markers_false_are_skipped() -> None:
    finder = MemoryFinder(
        {
            "app": {"1.0": ['winonly; sys_platform == "win32"', 'new; python_version >= "3.10"']},
            "winonly": {"1.0": []},
            "new": {"1.0": []},
            "old": {"1.0": []},
        }
    )
    got = run(finder, "app", 'old; python_version < "3.8"')
    assert got == {"app": "1.0", "new": "1.0"}
    assert "winonly" not in {name for name, _ in finder.calls}


def test_requires_python_filters_candidates_and_is_explained() -> None:
    finder = MemoryFinder(
        {"lib": {"1.0": [], "2.0": []}}, requires_python={("lib", "2.0"): ">=3.12"}
    )
    assert run(finder, "lib") == {"lib": "1.0"}
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "lib>=2")
    first, *rest = err.value.message.splitlines()
    assert first == "No matching distribution found for lib>=2 (available versions: 1.0)"
    assert any("2.0 (Requires-Python >=3.12)" in line and "3.11.4" in line for line in rest)


def test_yanked_skipped_unless_pinned_exactly() -> None:
    finder = MemoryFinder({"lib": {"1.0": [], "2.0": []}}, yanked=[("lib", "2.0")])
    assert run(finder, "lib") == {"lib": "1.0"}
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "lib>=1.5")
    assert "yanked" in err.value.message
    assert run(finder, "lib==2.0") == {"lib": "2.0"}
    assert run(finder, "lib===2.0") == {"lib": "2.0"}


def test_prerelease_rules() -> None:
    finder = MemoryFinder({"lib": {"1.0": [], "2.0b1": []}, "only": {"1.0a1": []}})
    assert run(finder, "lib") == {"lib": "1.0"}
    assert run(finder, "lib", pre=True) == {"lib": "2.0b1"}
    assert run(finder, "lib>=2.0b1") == {"lib": "2.0b1"}
    # No final release at all: the pre-release is acceptable.
    assert run(finder, "only") == {"only": "1.0a1"}
    assert run(finder, "lib>=1.5") == {"lib": "2.0b1"}


def test_backtracking_picks_older_version() -> None:
    finder = MemoryFinder(
        {
            "app": {"1.0": ["lib<2"], "2.0": ["lib>=3"]},
            "lib": {"1.0": [], "2.0": []},
        }
    )
    assert run(finder, "app", "lib") == {"app": "1.0", "lib": "1.0"}


def test_constraints_restrict_but_never_add() -> None:
    finder = MemoryFinder({"lib": {"1.0": [], "2.0": []}, "other": {"1.0": []}})
    constraints = reqs("lib<2", "other==1.0")
    assert run(finder, "lib", constraints=constraints) == {"lib": "1.0"}
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "lib>=2", constraints=constraints)
    lines = err.value.message.splitlines()
    assert lines[0].startswith("Cannot install lib>=2 ")
    assert "  the user requested (constraint) lib<2" in lines


def test_installed_preferred_unless_upgrade() -> None:
    finder = MemoryFinder({"lib": {"1.0": [], "2.0": []}}, installed=[("lib", "1.0")])
    result = resolve(reqs("lib"), finder, markers=MARKERS)
    assert result.pins["lib"].candidate.installed
    assert result.pins["lib"].version == Version("1.0")
    assert run(finder, "lib", upgrade=True) == {"lib": "2.0"}
    assert run(finder, "lib>=2") == {"lib": "2.0"}


def test_no_deps_only_top_level() -> None:
    finder = MemoryFinder({"app": {"1.0": ["lib"]}, "lib": {"1.0": []}})
    assert run(finder, "app[x]", no_deps=True) == {"app": "1.0"}
    assert finder.dep_calls == []


def test_conflict_explanation() -> None:
    finder = MemoryFinder({"app": {"1.0": ["lib<2"]}, "lib": {"1.0": [], "2.0": []}})
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "app==1.0", "lib>=2")
    lines = err.value.message.splitlines()
    assert lines[0] == (
        "Cannot install app==1.0 and lib>=2 because these package versions have "
        "conflicting dependencies."
    )
    assert "  app 1.0 depends on lib<2" in lines
    assert "  the user requested lib>=2" in lines


def test_missing_project_messages() -> None:
    finder = MemoryFinder({"foo": {"1.0": [], "2.0": []}, "app": {"1.0": ["ghost>1"]}})
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "foo>=3")
    assert str(err.value) == (
        "No matching distribution found for foo>=3 (available versions: 1.0, 2.0)"
    )
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "nothere")
    assert err.value.message == "No matching distribution found for nothere (no versions found)"
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "app")
    assert err.value.message.splitlines() == [
        "No matching distribution found for ghost>1 (no versions found)",
        "  app 1.0 depends on ghost>1",
    ]


def test_finder_errors_propagate_unchanged() -> None:
    class Broken(MemoryFinder):
        def dependencies(
            self, candidate: CandidateInfo, extras: frozenset[str] | None = None
        ) -> list[Requirement]:
            raise NetworkError("index unreachable")

    with pytest.raises(NetworkError, match="index unreachable"):
        run(Broken({"app": {"1.0": []}}), "app")


PINNED: dict[str, dict[str, list[str]]] = {
    "app": {"1.0": ["lib==2.0", 'extra-dep==1.0; extra == "x"', "shared>=1"]},
    "lib": {"1.0": [], "2.0": ["shared==1.5"]},
    "shared": {"1.0": [], "1.5": [], "2.0": []},
    "extra-dep": {"1.0": []},
}


def test_resolve_pinned_fully_pinned_closure() -> None:
    finder = MemoryFinder(PINNED, installed=[("lib", "2.0")])
    result = resolve_pinned(reqs("app[x]==1.0"), finder, markers=MARKERS)
    assert result is not None
    assert versions(result) == {"shared": "1.5", "lib": "2.0", "extra-dep": "1.0", "app": "1.0"}
    assert list(result.pins)[-1] == "app"
    assert result.pins["app"].extras == {"x"} and result.pins["app"].requested
    assert result.pins["lib"].candidate.installed
    assert finder.calls and all(spec.startswith("==") for _, spec in finder.calls)
    # The full resolver agrees.
    assert run(MemoryFinder(PINNED), "app[x]==1.0") == versions(result)


def test_resolve_pinned_uses_constraint_pins() -> None:
    finder = MemoryFinder(PINNED)
    result = resolve_pinned(
        reqs("app"), finder, markers=MARKERS, constraints=reqs("app==1.0", "unused==9")
    )
    assert result is not None and "unused" not in result.pins
    assert all(spec.startswith("==") for _, spec in finder.calls)


def test_resolve_pinned_gives_up_on_unpinned_ranges() -> None:
    projects: dict[str, dict[str, list[str]]] = {"app": {"1.0": ["lib>=1"]}, "lib": {"1.0": []}}
    finder = MemoryFinder(projects)
    assert resolve_pinned(reqs("app==1.0"), finder, markers=MARKERS) is None
    assert all(spec.startswith("==") for _, spec in finder.calls)
    # A pin that misses the range also defers to the full resolver.
    assert resolve_pinned(reqs("app==1.0", "lib==0.5"), finder, markers=MARKERS) is None
    assert resolve_pinned(reqs("app==1.0", "lib==1.0"), finder, markers=MARKERS) is not None
    assert resolve_pinned(reqs("app==1.0"), finder, markers=MARKERS, no_deps=True) is not None


def test_exact_pin() -> None:
    assert exact_pin(SpecifierSet("==1.2")) == Version("1.2")
    assert exact_pin(SpecifierSet("===1.2")) == Version("1.2")
    assert exact_pin(SpecifierSet("==1.2,<2")) == Version("1.2")
    assert exact_pin(SpecifierSet("==1.*")) is None
    assert exact_pin(SpecifierSet(">=1")) is None
    assert exact_pin(SpecifierSet("==1.2,>2")) is None


def test_import_does_not_load_resolvelib() -> None:
    code = "import sys, cachedb.resolve; print('resolvelib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_yanked_pin_through_extras() -> None:
    finder = MemoryFinder(
        {"pkg": {"1.0": [], "2.0": ['x; extra == "e"']}, "x": {"1.0": []}},
        yanked=[("pkg", "2.0")],
    )
    assert run(finder, "pkg[e]==2.0") == {"x": "1.0", "pkg": "2.0"}
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "pkg[e]==2.0", "pkg<2")
    assert err.value.message.startswith("No matching distribution found for pkg[e]<2,==2.0")


def test_a_conflict_names_the_chain_that_led_to_it() -> None:
    # d<1 cannot be met; it is needed because app needs b, b needs c<2, and c 1.0 needs d<1.
    finder = MemoryFinder(
        {
            "app": {"1.0": ["b"]},
            "b": {"1.0": ["c<2"]},
            "c": {"1.0": ["d<1"], "2.0": []},
            "d": {"1.0": [], "2.0": []},
        }
    )
    with pytest.raises(ResolutionImpossible) as err:
        run(finder, "app")
    lines = err.value.message.splitlines()
    assert lines[0] == "No matching distribution found for d<1 (available versions: 1.0, 2.0)"
    assert lines[1:4] == [
        "  app 1.0 depends on b",
        "  b 1.0 depends on c<2",
        "  c 1.0 depends on d<1",
    ]


def test_candidate_equality_leaves_out_where_it_comes_from() -> None:
    # The resolver keeps candidates in sets and dicts: two finders' answers for the same
    # version are one candidate whatever file or index position they carry.
    spec = SpecifierSet(">=3.8")
    a = CandidateInfo("a", Version("1.0"), spec, False, "file-a", preference=0)
    b = CandidateInfo("a", Version("1.0"), SpecifierSet(">=3.8"), False, "file-b", preference=3)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != a.replace(installed=True)
    assert a != a.replace(yanked=True)
    assert a != a.replace(version=Version("1.1"))
    assert a.replace(installed=True).installed and a.replace(installed=True).source == "file-a"
    assert a != ("a", Version("1.0"), spec, False, False)
    with pytest.raises(AttributeError):
        a.installed = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.replace(colour="red")
    assert repr(a).startswith("CandidateInfo(name='a', version=<Version('1.0')>")


def test_resolve_pinned_reads_an_extra_asked_late_as_the_full_resolver_does() -> None:
    # lib is reached first without extras (its feat- and other- lines left unread), then
    # as lib[feat] through mid: the pinned resolver must read lib again for feat.
    projects: dict[str, dict[str, list[str]]] = {
        "app": {"1.0": ["lib==1.0", "mid==1.0"]},
        "mid": {"1.0": ["lib[Feat]==1.0"]},
        "lib": {
            "1.0": ['x==1.0; extra == "feat"', "y==1.0 ; extra == 'other'", "z==1.0"],
        },
        "x": {"1.0": []},
        "y": {"1.0": []},
        "z": {"1.0": []},
    }
    finder = MemoryFinder(projects)
    result = resolve_pinned(reqs("app==1.0"), finder, markers=MARKERS)
    assert result is not None
    assert versions(result) == {n: "1.0" for n in ("app", "mid", "lib", "x", "z")}
    assert result.pins["lib"].extras == {"feat"}
    assert finder.dep_calls.count(("lib", "1.0")) == 2  # read again for the late extra
    assert run(MemoryFinder(projects), "app==1.0") == versions(result)
