"""A resolution whose finished state holds a cycle cut off from the requirements.

resolvelib's own result building recurses without end there (resolve/_result.py);
cachedb's walk answers, and wherever resolvelib's ends the two keep the same
projects and the same edges.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from resolvelib import BaseReporter
from resolvelib.resolvers import Resolution as Resolving
from resolvelib.resolvers import ResolutionError
from resolvelib.resolvers.resolution import _build_result
from test_compile_preferred import MARKERS, Universe, _finder, _resolve, case

from cachedb._pep508 import parse_pep508
from cachedb.resolve._provider import Provider, Req
from cachedb.resolve._result import build_result
from cachedb.resolve._select import merge

# Found by test_compile_preferred's search: after backtracking, c and e need each other
# and nothing needed either any more; resolvelib raised RecursionError.
CYCLE = Universe(
    {
        "a": {"1.1": ["c==2.*"]},
        "b": {"2.0": []},
        "c": {
            "2.1b1": ["e[x]==1.0; sys_platform=='linux'", "e<2", "e[x]<2; sys_platform=='linux'"],
            "1.1": ["a~=1.0"],
        },
        "d": {
            "1.1": [],
            "1.0": ["e; sys_platform=='linux'", "e<2", "e~=1.0; extra=='x'"],
            "2.1b1": ["e>=2.1b1; python_version<'3'"],
        },
        "e": {
            "2.1b1": ["c[x]==2.*; extra=='x'"],
            "1.0": ["c[x]!=1.1; extra=='x'"],
            "1.1": ["d<2; extra=='x'", "c[x]>=1.1", "a>=1.1; extra=='x'"],
        },
    },
    [],
    {("d", "1.1"): ">=3.12"},
)


def test_a_cycle_cut_off_from_the_requirements_is_left_out_of_the_answer() -> None:
    top = ["b>=1.1; sys_platform=='linux'", "d[x]==1.0; sys_platform=='linux'"]
    resolution = _resolve(CYCLE, top, ["e<2"], {}, False, "allow")
    assert resolution is not None
    assert {name: str(pin.version) for name, pin in resolution.pins.items()} == {
        "b": "2.0",
        "d": "1.0",
        "e": "1.0",
    }
    assert resolution.pins["d"].extras == {"x"} and resolution.pins["e"].extras == set()


def _shape(result: object) -> tuple[object, ...]:
    graph = result.graph  # type: ignore[attr-defined]
    edges = sorted((str(a), str(b)) for a in graph for b in graph.iter_children(a))
    return sorted(result.mapping), sorted(map(str, graph)), edges  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_the_result_is_resolvelibs_wherever_resolvelib_answers(
    example: tuple[Universe, list[str], list[str], bool, str | None],
) -> None:
    universe, top, constraints, pre, mode = example
    provider = Provider(
        _finder(universe, {}),
        MARKERS,
        merge([parse_pep508(c) for c in constraints], MARKERS),
        upgrade=False,
        no_deps=False,
        pre=pre,
        prerelease=mode,
    )
    wanted = merge([parse_pep508(r) for r in top], MARKERS)
    try:
        state = Resolving(provider, BaseReporter()).resolve(
            [Req(w) for w in wanted.values()], max_rounds=2000
        )
    except ResolutionError:
        return
    try:
        theirs = _build_result(state)
    except RecursionError:
        return  # what this module's walk is for
    assert _shape(build_result(state)) == _shape(theirs)
