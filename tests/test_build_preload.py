"""Loading the builder early: a cold run that will build loads the build's modules while the
target interpreter answers, and no other run does.

What is loaded early must be what a build loads anyway (only earlier), and the guess must
never load them for a run that builds nothing: a wheel-only install pays nothing for it.
"""

from __future__ import annotations

from pathlib import Path

from buildtools import backend_wheel, make_sdist, write_project
from installtools import make_venv, modules_loaded, run_in
from wheelbuilder import make_wheel

from cachedb.install.building import likely_builds
from cachedb.install.options import InstallOptions
from cachedb.install.request import collect_request

# Runs the CLI in a fresh interpreter, then prints which modules it loaded.
_LOADED_BY_CLI = """\
import json, sys
from cachedb.cli import main
code = main(sys.argv[1:])
print("\\n" + json.dumps(sorted(sys.modules)))
sys.exit(code)
"""
# The modules ``load_builder`` adds to those its module needs itself.
_LOADED_EARLY = """\
import json, sys
import cachedb.install.building as building
before = set(sys.modules)
building.load_builder()
print(json.dumps(sorted(set(sys.modules) - before)))
"""
BUILDING = {"build", "pyproject_hooks", "cachedb.build.builder", "cachedb.build.pep517"}


def _likely(tmp_path: Path, *requirements: str, find_links: Path | None = None) -> bool:
    opts = InstallOptions(
        requirements=list(requirements),
        no_index=True,
        find_links=[str(find_links)] if find_links else [],
        cache_dir=tmp_path / "cache",
    )
    request = collect_request(opts)
    return likely_builds(request, request.sources.local_directories())


def test_a_run_is_expected_to_build_when_it_names_a_source_or_finds_only_its_sdist(
    tmp_path: Path,
) -> None:
    links = tmp_path / "links"
    project = write_project(tmp_path / "src", "sdonly", "1.0", backend="flit_core")
    make_sdist(project, links, "sdonly", "1.0")
    make_wheel(links, "wheeled", "1.0")

    assert _likely(tmp_path, "sdonly==1.0", find_links=links)
    assert _likely(tmp_path, "SDOnly>=1", find_links=links)  # compared by canonical name
    assert not _likely(tmp_path, "wheeled==1.0", find_links=links)
    assert not _likely(tmp_path, "other==1.0", find_links=links)
    assert not _likely(tmp_path, "sd==1.0", find_links=links)  # another project's prefix
    # A source named directly is built; a wheel named directly is not.
    assert _likely(tmp_path, f"sdonly @ {project.as_uri()}")
    wheel = next(links.glob("wheeled-*.whl"))
    assert not _likely(tmp_path, f"wheeled @ {wheel.as_uri()}")


def test_what_is_loaded_early_is_what_a_build_loads(tmp_path: Path) -> None:
    """Every module loaded early is one a build loads itself: an install that builds with
    its interpreter's answer cached (so nothing is loaded early) loads each of them."""
    links = tmp_path / "links"
    backend_wheel("flit_core", links)
    project = write_project(tmp_path / "src", "sdonly", "1.0", backend="flit_core")
    make_sdist(project, links, "sdonly", "1.0")
    cache = tmp_path / "cache"
    flags = ["--cache-dir", cache, "--no-index", "--find-links", links, "sdonly==1.0"]
    venv = make_venv(tmp_path / "v1")
    first = modules_loaded(_LOADED_BY_CLI, "install", "-q", "--python", venv, *flags)
    assert run_in(tmp_path / "v1", "import sdonly").returncode == 0
    assert first >= BUILDING

    # The same interpreter again: its answer is cached, nothing waits, nothing loads early.
    rebuilt = modules_loaded(
        _LOADED_BY_CLI, "install", "-q", "--python", venv, "--reinstall", *flags,
        "--refresh-package", "sdonly",
    )  # fmt: skip
    assert rebuilt >= BUILDING  # it built again
    early = modules_loaded(_LOADED_EARLY)
    assert early >= BUILDING
    assert early - rebuilt == set()


def test_a_cold_install_of_wheels_loads_nothing_of_the_builder(tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_wheel(links, "wheeled", "1.0")
    project = write_project(tmp_path / "src", "sdonly", "1.0", backend="flit_core")
    make_sdist(project, links, "sdonly", "1.0")  # offered, but not asked for
    venv = make_venv(tmp_path / "v")
    loaded = modules_loaded(
        _LOADED_BY_CLI, "install", "-q", "--python", venv, "--cache-dir", tmp_path / "cache",
        "--no-index", "--find-links", links, "wheeled==1.0",
    )  # fmt: skip
    assert run_in(tmp_path / "v", "import wheeled").returncode == 0
    assert loaded & BUILDING == set()
