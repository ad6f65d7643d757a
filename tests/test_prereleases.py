"""The one pre-release rule (cachedb/resolve/_prereleases.py, docs/prereleases.md).

The same inputs go through the pinned fast path, the resolver with and without
``-U``, and (end to end, from a local index) through cachedb and pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from subprocess import CompletedProcess
from typing import NamedTuple

import pytest
from indexserver import IndexServer
from installtools import VENV_BIN, cachedb, make_venv, pip
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from test_resolve import MARKERS, MemoryFinder
from wheelbuilder import make_wheel

from cachedb._pep508 import parse_pep508
from cachedb.errors import ResolutionImpossible
from cachedb.resolve import CandidateInfo, resolve, resolve_pinned
from cachedb.resolve._prereleases import names_prerelease, selectable_versions


class Case(NamedTuple):
    projects: dict[str, dict[str, list[str]]]
    request: tuple[str, ...]
    expected: dict[str, str] | None  # None: no resolution
    installed: tuple[str, ...] = ()  # requirements installed before the request
    pre: bool = False
    uv_expected: dict[str, str] | None = None  # where uv's default decides otherwise


B = {"1.0": [], "3.0rc1": []}
CASES = {
    # The case: the dependency's only fitting version is a pre-release.
    "dependency-only-pre-fits": Case(
        {"a": {"1.0": ["b>=2"]}, "b": B}, ("a==1.0",), {"a": "1.0", "b": "3.0rc1"}
    ),
    # A dependency's exact pin names the pre-release; the request's range does not. (With
    # packaging 25 the fast path installed this while the resolver found nothing for b>=2.)
    "pin-in-dependency-range-in-request": Case(
        {"a": {"1.0": ["b==3.0rc1"]}, "b": B}, ("a==1.0", "b>=2"), {"a": "1.0", "b": "3.0rc1"}
    ),
    "pin-in-dependency-final-in-range": Case(
        {"a": {"1.0": ["b==3.0rc1"]}, "b": {"1.0": [], "2.5": [], "3.0rc1": []}},
        ("a==1.0", "b>=2"),
        {"a": "1.0", "b": "3.0rc1"},
    ),
    "final-fits-so-no-pre": Case(
        {"a": {"1.0": ["b"]}, "b": B}, ("a==1.0",), {"a": "1.0", "b": "1.0"}
    ),
    # pip's reading of PEP 440; uv's default keeps to the final release here.
    "explicit-lower-bound": Case(
        {"b": B}, ("b>=1.0rc1",), {"b": "3.0rc1"}, uv_expected={"b": "1.0"}
    ),
    "not-equal-is-not-explicit": Case({"b": B}, ("b!=3.0rc1",), {"b": "1.0"}),
    "dev-release-if-necessary": Case(
        {"b": {"1.0": [], "2.0.dev1": []}}, ("b>1",), {"b": "2.0.dev1"}
    ),
    "pre-flag": Case({"b": B}, ("b",), {"b": "3.0rc1"}, pre=True),
    "compatible-release-excludes-its-own-pre": Case({"b": B}, ("b~=3.0",), None),
    # PEP 440: an installed pre-release is accepted; pip keeps it too.
    "installed-pre-is-kept": Case(
        {"a": {"1.0": ["b"]}, "b": B}, ("a==1.0",), {"a": "1.0", "b": "3.0rc1"}, ("b==3.0rc1",)
    ),
}


def _resolve(case: Case, how: str) -> dict[str, str] | None:
    installed = [(r.split("==")[0], r.split("==")[1]) for r in case.installed]
    finder = MemoryFinder(case.projects, installed=installed)
    reqs = [parse_pep508(r) for r in case.request]
    try:
        if how == "pinned":
            fast = resolve_pinned(reqs, finder, markers=MARKERS)
            if fast is None:
                return _resolve(case, "resolver")  # what the install pipeline falls back to
            result = fast
        else:
            result = resolve(reqs, finder, markers=MARKERS, upgrade=how == "upgrade", pre=case.pre)
    except ResolutionImpossible:
        return None
    return {name: str(pin.version) for name, pin in result.pins.items()}


@pytest.mark.parametrize("how", ["pinned", "resolver", "upgrade"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_and_resolver_follow_one_rule(name: str, how: str) -> None:
    case = CASES[name]
    if how == "pinned" and case.pre:
        pytest.skip("the pinned fast path is not taken with --pre")
    assert _resolve(case, how) == case.expected


def info(version: str, installed: bool = False) -> CandidateInfo:
    return CandidateInfo("b", Version(version), None, False, version, installed)


def test_the_rule_does_not_depend_on_packagings_prerelease_defaults() -> None:
    offered = [info("1.0"), info("3.0rc1"), info("4.0.dev2")]

    def chosen(*specs: str, pre: bool = False) -> list[str]:
        sets = [SpecifierSet(s) for s in specs]
        return [str(i.version) for i in selectable_versions(offered, sets, pre=pre)]

    # Rows where packaging 25.x and 26.x filters answer differently.
    assert chosen(">=2") == ["3.0rc1", "4.0.dev2"]
    assert chosen(">=2,<4") == ["3.0rc1"]
    assert chosen("!=1.0") == ["3.0rc1", "4.0.dev2"]
    assert chosen(">=1") == ["1.0"]
    assert chosen(">=1", ">=3.0rc1") == ["3.0rc1", "4.0.dev2"]
    assert chosen("<4", pre=True) == ["1.0", "3.0rc1"]
    # A specifier set told to refuse pre-releases cannot turn the rule off or on.
    forced = SpecifierSet(">=2", prereleases=False)
    assert [str(i.version) for i in selectable_versions(offered, [forced], pre=False)] == [
        "3.0rc1",
        "4.0.dev2",
    ]
    assert names_prerelease([SpecifierSet("==3.0rc1")])
    assert not names_prerelease([SpecifierSet("!=3.0rc1,==3.*,===weird")])


def test_installed_packaging_is_in_the_tested_range() -> None:
    import tomllib
    from importlib.metadata import version

    pyproject = Path(__file__).parent.parent / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    (declared,) = [parse_pep508(d) for d in deps if parse_pep508(d).name == "packaging"]
    assert declared.specifier.contains(version("packaging"))
    assert not declared.specifier.contains("25.0") and not declared.specifier.contains("27.0")


# --- end to end, against pip ----------------------------------------------------------


def ours_install(tmp_path: Path, venv: Path, index: str, *args: str) -> CompletedProcess[str]:
    python = venv / VENV_BIN / "python"
    return cachedb(
        "install", "--cache-dir", tmp_path / "cache", "--python", python, "-i", index, *args
    )


def pip_install(tmp_path: Path, venv: Path, index: str, *args: str) -> CompletedProcess[str]:
    """pip from this test environment, blind to the machine's pip configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    command = [sys.executable, "-m", "pip", "--python", str(venv / VENV_BIN / "python"),
               "install", "--disable-pip-version-check", "-i", index, *args]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def uv_install(tmp_path: Path, venv: Path, index: str, *args: str) -> CompletedProcess[str]:
    """uv from this test environment, blind to the machine's uv and pip configuration."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    args = tuple("--prerelease=allow" if a == "--pre" else a for a in args)
    python = str(venv / VENV_BIN / "python")
    command = [uv, "pip", "install", "--no-config", "--cache-dir", str(tmp_path / "uv-cache"),
               "--python", python, "--index-url", index, *args]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def installed_versions(venv: Path) -> dict[str, str]:
    listed = json.loads(pip(venv, "list", "--format", "json").stdout)
    return {p["name"]: p["version"] for p in listed if p["name"] != "pip"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cachedb_installs_what_pip_and_uv_install(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    wheels = tmp_path / "wheels"
    tools = {"cachedb": ours_install, "pip": pip_install, "uv": uv_install}
    outcome: dict[str, tuple[bool, dict[str, str]]] = {}
    with IndexServer() as server:
        for project, versions in case.projects.items():
            for version, deps in versions.items():
                server.add(make_wheel(wheels, project, version, requires=deps))
        flags = ["--pre"] if case.pre else []
        for tool, install in tools.items():
            venv = tmp_path / tool
            make_venv(venv)
            if case.installed:
                before = install(tmp_path, venv, server.url, *case.installed)
                assert before.returncode == 0, before.stderr
            out = install(tmp_path, venv, server.url, *flags, *case.request)
            outcome[tool] = (out.returncode == 0, installed_versions(venv))
    expected = (case.expected is not None, case.expected or installed_before(case))
    wanted = {tool: expected for tool in tools}
    if case.uv_expected is not None:
        wanted["uv"] = (True, case.uv_expected)
    assert outcome == wanted


def installed_before(case: Case) -> dict[str, str]:
    return dict(r.split("==") for r in case.installed)  # type: ignore[misc]
