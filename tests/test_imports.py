"""What commands import: a warm install and the light commands load only what they use.

Every module costs start-up time on every run (a warm install spends about a
quarter of its time importing), so the ones a path never calls stay unloaded.
"""

from __future__ import annotations

import time
from importlib import import_module
from pathlib import Path
from typing import ForwardRef

import pytest
from indexserver import IndexServer
from installtools import cachedb, make_venv, modules_loaded, run_in
from wheelbuilder import make_wheel

import cachedb.cli as cli
import cachedb.requirements as inputs
from cachedb.cli import _COMMANDS, load_app

# Never needed when everything is cached, nor by help and ``dir``.
HEAVY = {"sqlalchemy", "alembic", "httpx", "httpcore", "rich", "resolvelib", "build"}
# Parts of cachedb (and what they load) that only other paths need.
WARM_UNUSED = {
    "_hashlib",  # OpenSSL: installed files' digests come from CPython's own sha256
    "cachedb.audit",
    "cachedb.build.builder",
    "cachedb.build.sources",
    "cachedb.cli._audit",
    "cachedb.cli._cache",
    "cachedb.cli._gc",
    "cachedb.db.engine",
    "cachedb.fetch",
    "cachedb.gc",
    "cachedb.index",
    "cachedb.install.fetching",  # downloads and unpacking (with heapq): nothing to fetch
    "cachedb.install.install_report",  # --report only
    "cachedb.requirements._editable",
    "cachedb.resolve._explain",
    "cachedb.resolve._provider",
    "cachedb.store.entries",
    "cachedb.store.unpack",
    "cachedb.wheel.inflate",
    "cachedb.wheel.metadata",
    "cachedb.wheel.zipdir",
    "concurrent.futures",  # thread pools: downloads and unpacking only
    "configparser",  # entry points: only an unusual entry_points.txt (wheel/entry_points.py)
    # PEP 508 parsing (and what it loads): only requirements that are not plain (_pep508.py)
    "dataclasses",
    "inspect",
    "packaging._parser",
    "packaging._tokenizer",
    "packaging.markers",
    "packaging.requirements",
    # packaging.utils imports packaging.tags (logging, platform, subprocess, sysconfig): the
    # warm path reads project names with cachedb._names and wheel and sdist filenames with
    # cachedb._filenames instead, and logs nothing (logging loads only to log).
    "packaging.utils",
    "packaging.tags",
    "logging",
    "heapq",  # the download queue (install/fetching.py)
    "shutil",  # (with bz2 and lzma) removing trees and copying files: failures and copies only
    "pickle",  # install/forked: only a failed linking process sends back a pickle
    "tempfile",
    "tomllib",
}

# Nothing to do (install/noop.py): no database, resolver, finder, linking or fetching.
NOOP_UNUSED = {
    "sqlite3",
    "cachedb.db.lite",
    "cachedb.store.cache",
    "cachedb.store.catalog",
    "cachedb.install.environment",
    "cachedb.install.fetching",
    "cachedb.install.finder",
    "cachedb.install.linking",
    "cachedb.install.materialize",
    "cachedb.install.prefetch",
    "cachedb.install.resolving",
    "cachedb.link.archive",
    "cachedb.link.install",
    "cachedb.link.modes",
    "cachedb.resolve._provider",
}

# Runs the CLI in a fresh interpreter, then prints which modules it loaded.
_PROBE = """\
import sys
from cachedb.cli import main
code = main(sys.argv[1:])
loaded = sorted(sys.modules)
import json
print("\\n" + json.dumps(loaded))
sys.exit(code)
"""


def _loaded_by(*args: str | Path, env: dict[str, str] | None = None) -> set[str]:
    return modules_loaded(_PROBE, *args, env=env)


def _hits(loaded: set[str], unwanted: set[str]) -> list[str]:
    """The loaded modules that are, or are inside, an unwanted one."""
    return sorted(m for m in loaded if any(m == u or m.startswith(u + ".") for u in unwanted))


def _typing_named_tuples(loaded: set[str]) -> list[str]:
    """The named tuple classes of the loaded cachedb modules that ``typing.NamedTuple``
    made: it compiles each field's annotation (a ForwardRef) when the class is defined,
    about 0.2M instructions a field; ``cachedb._record.NamedTuple`` compiles none."""
    found = []
    for name in sorted(m for m in loaded if m == "cachedb" or m.startswith("cachedb.")):
        for value in vars(import_module(name)).values():
            if isinstance(value, type) and issubclass(value, tuple) and value.__module__ == name:
                notes = value.__dict__.get("__annotations__", {})
                if any(isinstance(note, ForwardRef) for note in notes.values()):
                    found.append(f"{name}.{value.__qualname__}")
    return found


def test_a_warm_install_loads_only_what_it_uses(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(
        wheels,
        "app",
        "1.0",
        files={"app/__init__.py": "def main():\n    print('app')\n"},
        # The forms METADATA files write, all read without packaging's parser.
        requires=[
            "lib (>=1.0,<2)",
            "extra-dep[x]; extra == 'fancy'",
            "old>=1.0rc1; (sys_platform == 'win32') and python_version < '3.8'",
        ],
        extras=["fancy"],
        entry_points={"console_scripts": {"app": "app:main"}},
    )
    make_wheel(wheels, "lib", "1.0.post0")
    pins = tmp_path / "requirements.txt"
    pins.write_text("app==1.0\nlib==1.0.post0\n")
    flags = ["--cache-dir", tmp_path / "cache", "--no-index", "--find-links", wheels, "-r", pins]
    # Wheels built a while ago, as a find-links directory's are: a local file's sha256 is
    # remembered only once its status is older than the racy window (cachedb._memo.SETTLED).
    time.sleep(2.2)

    cold = cachedb("install", "--python", make_venv(tmp_path / "cold"), *flags)
    assert cold.returncode == 0, cold.stderr
    warm = make_venv(tmp_path / "warm")
    loaded = _loaded_by("install", "-q", "--python", warm, *flags)

    assert run_in(tmp_path / "warm", "import app, lib").returncode == 0
    assert _hits(loaded, HEAVY | WARM_UNUSED | {"typer"}) == []
    assert _typing_named_tuples(loaded) == []
    # Nothing to do: the same again into the environment that has it all.
    again = _loaded_by("install", "-q", "--python", warm, *flags)
    assert _hits(again, HEAVY | WARM_UNUSED | NOOP_UNUSED | {"typer"}) == []
    # A lock of the same pins, from the same cache: the resolver, but not typer.
    locked = _loaded_by("compile", "-q", *flags[:5], pins, "-o", tmp_path / "out.txt")
    assert _hits(locked, {"typer", "sqlalchemy", "alembic"}) == []


def test_a_warm_install_from_an_index_loads_only_what_it_uses(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """Pages fresh by their max-age, every pin cached: no request, no HTTP client, none
    of what only downloading or unpacking needs, no named tuple of typing's."""
    index_server.cache_control = "max-age=600"
    wheels = tmp_path / "wheels"
    index_server.add(make_wheel(wheels, "app", "1.0", requires=["lib==1.0"]))
    index_server.add(make_wheel(wheels, "lib", "1.0"))
    pins = tmp_path / "requirements.txt"
    pins.write_text("app==1.0\nlib==1.0\n")
    flags = ["--cache-dir", tmp_path / "cache", "--index-url", index_server.url, "-r", pins]
    assert cachedb("install", "--python", make_venv(tmp_path / "cold"), *flags).returncode == 0
    asked = len(index_server.requests)

    loaded = _loaded_by("install", "-q", "--python", make_venv(tmp_path / "warm"), *flags)

    assert len(index_server.requests) == asked
    assert run_in(tmp_path / "warm", "import app, lib").returncode == 0
    index_parts = {"cachedb.index", "cachedb.fetch"}
    assert _hits(loaded, HEAVY | (WARM_UNUSED - index_parts) | {"httpcore", "typer"}) == []
    assert _typing_named_tuples(loaded) == []


@pytest.mark.parametrize("args", [["--help"], ["install", "--help"], ["dir"]])
def test_help_and_dir_load_neither_packaging_nor_the_database(
    args: list[str], tmp_path: Path
) -> None:
    loaded = _loaded_by(*args, *(["--cache-dir", tmp_path] if args == ["dir"] else []))
    unwanted = HEAVY | {"packaging", "sqlite3", "cachedb.store", "cachedb.install.pipeline"}
    assert _hits(loaded, unwanted) == []


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["-V"]])
def test_help_and_version_load_neither_typer_nor_dataclasses(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 80 columns or more cachedb --help is the text typer printed when _spec.py was made.
    monkeypatch.setenv("COLUMNS", "100")
    loaded = _loaded_by(*args)
    unwanted = HEAVY | {"typer", "dataclasses", "inspect", "packaging", "sqlite3", "cachedb.store"}
    assert _hits(loaded, unwanted) == []


def test_the_app_lists_every_command_in_one_order_whatever_was_loaded_first() -> None:
    load_app(["list"])
    load_app(["dir"])
    app = load_app()
    # Groups of subcommands (`cachedb remote ...`) come after the commands.
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert names == list(_COMMANDS)


def test_every_command_module_is_in_the_command_table() -> None:
    modules = {p.stem for p in Path(cli.__file__).parent.glob("_*.py")}
    # The app, the hot commands' bodies and the fast path that reads their options.
    others = {"__init__", "_app", "_actions", "_fast", "_spec", "_specgen"}
    assert modules - others == set(_COMMANDS.values())


def test_requirements_names_load_on_first_use() -> None:
    for name in inputs.__all__:
        value = getattr(inputs, name)
        module = import_module(f"cachedb.requirements.{value.__module__.rsplit('.', 1)[-1]}")
        assert getattr(module, name) is value
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        inputs.nothing  # noqa: B018


def test_venv_and_the_inspecting_commands_load_no_heavy_library(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    venv = tmp_path / "v"
    unwanted = HEAVY | {"cachedb.index", "typer"}
    assert not _hits(_loaded_by("venv", venv, "--cache-dir", cache), unwanted)
    for command in (["freeze"], ["tree"], ["check"]):
        loaded = _loaded_by(*command, "--venv", venv, "--cache-dir", cache)
        assert not _hits(loaded, HEAVY | {"cachedb.index", "cachedb.resolve"}), command


# A warm ``cachedb venv`` (its template made, no --seed) copies the template with ``os``
# calls: no process, no interpreter query, no install options, no OpenSSL, no json.
VENV_UNUSED = {
    "_hashlib",
    "cachedb.install.options",
    "cachedb.install.pipeline",
    "cachedb.target.interpreter",
    "cachedb.target.query",
    "dataclasses",
    "hashlib",
    "inspect",
    "json",
    "packaging",
    "platformdirs",
    "shutil",
    "sqlite3",
    "subprocess",
    "threading",
    "typer",
}


@pytest.mark.parametrize("cache", ["given", "default"])
def test_a_warm_venv_loads_only_what_copying_its_template_needs(tmp_path: Path, cache: str) -> None:
    # The default cache is under HOME (platformdirs' answer, found without platformdirs).
    env = {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": ""}
    flags = ["--cache-dir", str(tmp_path / "cache")] if cache == "given" else []
    assert cachedb("venv", tmp_path / "first", *flags, env=env).returncode == 0

    loaded = _loaded_by("venv", "-q", tmp_path / "second", *flags, env=env)

    assert (tmp_path / "second" / "pyvenv.cfg").is_file()
    assert _hits(loaded, HEAVY | VENV_UNUSED) == []
    if cache == "default":
        assert any((tmp_path / "home" / ".cache" / "cachedb").iterdir())


def test_an_installed_pin_from_an_index_loads_no_http_client(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """Nothing to do, with an index (pages fresh by their max-age): no request, no httpx."""
    index_server.cache_control = "max-age=600"
    index_server.add(make_wheel(tmp_path / "wheels", "lib", "1.0"))
    venv = make_venv(tmp_path / "v")
    flags = ["--cache-dir", tmp_path / "cache", "--index-url", index_server.url]
    assert cachedb("install", "--python", venv, *flags, "lib==1.0").returncode == 0
    before = len(index_server.requests)

    loaded = _loaded_by("install", "-q", "--python", venv, *flags, "lib==1.0")

    assert len(index_server.requests) == before
    assert _hits(loaded, {"httpx", "httpcore", "ssl", "typer"} | NOOP_UNUSED) == []


# What a warm ``compile`` from an index never runs: reading a wheel's METADATA (the email
# parser), HTML pages (the index serves JSON), downloads (no wheel named by URL, every
# file hashed by the index), writing the page cache (tempfile).
COMPILE_UNUSED = {
    "_hashlib",  # OpenSSL: page-cache names and PEP 658 checks use CPython's sha256
    "bz2",
    "cachedb._threads",
    "cachedb.fetch._download",
    "cachedb.fetch._downloaded",
    "cachedb.fetch._limits",
    "cachedb.fetch._session",
    "cachedb.index._html",
    "cachedb.install.fetching",
    "cachedb.install.forked",
    "cachedb.install.prefetch",
    "cachedb.wheel.metadata",
    "email",
    "html",
    "httpx",
    "lzma",
    "pickle",
    "shutil",
    "tempfile",
    "typer",
}


def test_a_warm_compile_from_an_index_loads_only_what_it_uses(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """Pages fresh by their max-age, metadata cached: no request, and none of the modules
    only a cold compile (or an install) needs."""
    index_server.cache_control = "max-age=600"
    wheels = tmp_path / "wheels"
    index_server.add(make_wheel(wheels, "app", "1.0", requires=["lib>=1"]))
    index_server.add(make_wheel(wheels, "lib", "1.0"))
    source = tmp_path / "requirements.in"
    source.write_text("app\n")
    out = tmp_path / "requirements.txt"
    flags = ["--cache-dir", tmp_path / "cache", "--index-url", index_server.url, "-o", out]
    assert cachedb("compile", "-q", source, *flags).returncode == 0
    cold = out.read_text()
    before = len(index_server.requests)

    loaded = _loaded_by("compile", "-q", source, *flags)

    assert len(index_server.requests) == before
    assert out.read_text() == cold
    # The output's pins still fit: kept without the resolver (lock/_preferred.py). Its
    # requirements, Requires-Dist lines and filenames are plain: no packaging parser,
    # nor packaging.utils (packaging.tags, logging, subprocess, platform) behind it.
    parsers = {"packaging.requirements", "packaging.markers", "packaging.utils", "packaging.tags"}
    assert _hits(loaded, COMPILE_UNUSED | parsers | {"resolvelib", "logging"}) == []
    assert _typing_named_tuples(loaded) == []


def test_a_remembered_nothing_to_do_parses_nothing(tmp_path: Path) -> None:
    """The same nothing-to-do request again (install/noop_memo.py): no packaging parser."""
    import time

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "app", "1.0", requires=["lib>=1; python_version >= '3'"])
    make_wheel(wheels, "lib", "1.0")
    venv = make_venv(tmp_path / "v")
    flags = ["--cache-dir", tmp_path / "cache", "--no-index", "--find-links", wheels]
    assert cachedb("install", "--python", venv, *flags, "app").returncode == 0
    # What a memo rests on must be older than its racy window (2 s) to be remembered.
    time.sleep(2.5)
    assert cachedb("install", "--python", venv, *flags, "app").returncode == 0

    loaded = _loaded_by("install", "-q", "--python", venv, *flags, "app")

    unwanted = {
        "packaging.requirements",
        "packaging.markers",
        "packaging.specifiers",
        "packaging.tags",
        "cachedb.requirements._line",
        "cachedb.resolve",
        "cachedb.link",
        # InstallOptions is a plain class: dataclasses loads inspect, ast, dis, tokenize.
        "dataclasses",
        "inspect",
        # Nothing on this path imports typing at run time (cachedb/_record.py).
        "typing",
        "math",  # an extension module (install/options.py reads a timeout without it)
    }
    assert _hits(loaded, HEAVY | WARM_UNUSED | NOOP_UNUSED | unwanted | {"typer"}) == []


def test_a_plain_nothing_to_do_loads_no_packaging(tmp_path: Path) -> None:
    """Not remembered (the environment has just changed), but every requirement on the
    way is plain (_pep508.read_plain, releases only): no packaging, dataclasses or RECORD reader."""
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "app", "1.0", requires=["lib>=1,!=1.5", "other; extra == 'x'"])
    make_wheel(wheels, "lib", "1.0")
    venv = make_venv(tmp_path / "v")
    flags = ["--cache-dir", tmp_path / "cache", "--no-index", "--find-links", wheels]
    assert cachedb("install", "--python", venv, *flags, "app").returncode == 0
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("# what the app needs\napp==1.0  # pinned\n")

    loaded = _loaded_by("install", "-q", "--python", venv, *flags, "-r", reqs)

    unwanted = {
        "packaging.requirements",
        "packaging.markers",
        "packaging.specifiers",
        "packaging.utils",
        "packaging.version",
        "cachedb.requirements._line",
        "cachedb.requirements._file",
        "cachedb.resolve",
        "cachedb.link.records",
        "dataclasses",
        "shutil",
        "hashlib",
        "typing",
    }
    assert _hits(loaded, HEAVY | WARM_UNUSED | NOOP_UNUSED | unwanted | {"typer"}) == []


def test_a_remembered_compile_loads_no_resolver_nor_index_client(tmp_path: Path) -> None:
    """The same compile again, its pages fresh (lock/_memo.py): no packaging, resolver,
    index client or HTTP client."""
    import time

    server = IndexServer()
    server.cache_control = "max-age=600"
    try:
        wheels = tmp_path / "wheels"
        server.add(make_wheel(wheels, "app", "1.0", requires=["lib>=1"]))
        server.add(make_wheel(wheels, "lib", "1.0"))
        source = tmp_path / "requirements.in"
        source.write_text("app\n")
        args = ["compile", source, "-i", server.url, "--cache-dir", tmp_path / "cache"]
        args += ["-o", tmp_path / "out.txt"]
        assert cachedb(*args).returncode == 0
        # What a memo rests on must be older than its racy window (2 s) to be remembered.
        time.sleep(2.5)
        assert cachedb(*args).returncode == 0
        asked = len(server.requests)
        loaded = _loaded_by(*args)
        assert len(server.requests) == asked
    finally:
        server.close()
    unwanted = {
        "packaging.requirements",
        "packaging.specifiers",
        "packaging.tags",
        "packaging.version",
        "resolvelib",
        "httpx",
        "cachedb.resolve",
        "cachedb.index",
        "cachedb.lock._compile",
        "cachedb.requirements",
    }
    assert "cachedb.lock._memo" in loaded
    assert _hits(loaded, HEAVY | NOOP_UNUSED | unwanted | {"typer"}) == []
