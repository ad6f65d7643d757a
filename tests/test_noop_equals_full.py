"""The nothing-to-do answer (install/noop.py) equals the full pipeline's, on random worlds.

A seeded draw makes a universe of wheels (versions and pre-releases, dependencies
with ranges, exclusions, markers for and against the target, extras), installs a
random part of it with ``--no-deps`` into real venvs (so an environment may lack
a dependency, hold a version some requirement excludes, or hold a pre-release),
then asks random requests (names, extras, specifiers, markers, constraints,
``--no-deps``). Whenever the shortcut answers "nothing to do, N distributions",
the full pipeline (resolver, finder and cache; run as a dry run, which reads the
same environment) must resolve N distributions and change nothing. The draw must
also produce enough of those answers for the comparison to mean something, and
each option the shortcut cannot prove must switch it off.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from installtools import cachedb, make_venv, tree
from wheelbuilder import make_wheel

from cachedb import _memo
from cachedb.errors import CachedbError
from cachedb.install.noop import nothing_to_do, plainly_nothing_to_do, remembered
from cachedb.install.options import InstallOptions
from cachedb.install.pipeline import run_install
from cachedb.install.report import Reporter
from cachedb.install.request import collect_request

PROJECTS = ["alpha", "beta", "gamma-x", "delta", "eps"]
VERSIONS = ["1.0", "1.5", "2.0b1", "2.0"]
MARKERS = ["python_version >= '3'", "python_version < '3'", "sys_platform == 'nope'"]
OPS = ["==", ">=", "<", "<=", ">", "!=", "~="]


def _spec(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return ""
    if roll < 0.4:
        return f"=={rng.choice(['1', '2'])}.*"
    return f"{rng.choice(OPS)}{rng.choice([*VERSIONS, '1.2', '3.0'])}"


def _requirement(rng: random.Random, names: list[str], *, dep: bool = False) -> str:
    name = rng.choice(names)
    if rng.random() < 0.2:
        name = name.upper().replace("-", "_")  # another spelling of the same project
    extras = "[x]" if rng.random() < 0.25 else ""
    text = f"{name}{extras}{_spec(rng)}"
    marker = None
    if rng.random() < 0.2:
        marker = rng.choice(MARKERS)
    if dep and rng.random() < 0.25:
        marker = "extra == 'x'" if marker is None else f"extra == 'x' and {marker}"
    return text if marker is None else f"{text}; {marker}"


def _universe(rng: random.Random, wheels: Path) -> None:
    for i, name in enumerate(PROJECTS):
        later = PROJECTS[i + 1 :]  # no cycles: a resolver may answer those either way
        for version in VERSIONS:
            requires = [
                _requirement(rng, later, dep=True) for _ in range(rng.randint(0, 2)) if later
            ]
            make_wheel(wheels, name, version, requires=requires, extras=["x"])


def _environment(
    rng: random.Random,
    root: Path,
    wheels: Path,
    cache: Path,
    *,
    consistent: bool,
    versions: list[str] = VERSIONS,
) -> Path:
    """A venv holding a random part of the universe: resolved together (``consistent``),
    or each project at a random version whatever the others require."""
    venv = root / f"venv-{rng.randrange(10**6)}"
    make_venv(venv)
    if consistent:
        chosen = [n for n in PROJECTS if rng.random() < 0.6] or PROJECTS[:1]
    else:
        chosen = ["--no-deps", *(f"{n}=={rng.choice(versions)}" for n in PROJECTS)]
    done = cachedb(
        "install", "-q", "--python", venv, "--cache-dir", cache,
        "--no-index", "--find-links", wheels, *chosen,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return venv


def _options(
    venv: Path, cache: Path, wheels: Path, reqs: list[str], **more: object
) -> InstallOptions:
    opts = InstallOptions(
        requirements=reqs,
        python=str(venv / "bin" / "python"),
        cache_dir=cache,
        no_index=True,
        find_links=[str(wheels)],
    )
    return opts.replace(**more)


def _full(opts: InstallOptions) -> str | None:
    """What the full pipeline says of ``opts`` as a dry run (None: it failed)."""
    out = io.StringIO()
    try:
        run_install(opts.replace(dry_run=True), Reporter(0, stream=out))
    except CachedbError:
        return None
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nothing_to_do_is_what_the_full_pipeline_resolves(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Memos are written at once (not only for files older than the racy window), so that
    # each answer is also checked as remembered.
    monkeypatch.setattr(_memo, "SETTLED", 0)
    rng = random.Random(seed)
    wheels, cache = tmp_path / "wheels", tmp_path / "cache"
    _universe(rng, wheels)
    answered = 0
    for consistent in (True, False, True):
        venv = _environment(rng, tmp_path, wheels, cache, consistent=consistent)
        before = tree(venv)
        for _ in range(30):
            reqs = [_requirement(rng, PROJECTS) for _ in range(rng.randint(1, 2))]
            more: dict[str, object] = {"no_deps": rng.random() < 0.15}
            if rng.random() < 0.3:
                constraints = tmp_path / f"c-{rng.randrange(10**6)}.txt"
                constraints.write_text(f"{_requirement(rng, PROJECTS)}\n")
                more["constraint_files"] = [str(constraints)]
            opts = _options(venv, cache, wheels, reqs, **more)
            try:
                fast = nothing_to_do(opts, collect_request(opts))
            except CachedbError:
                continue  # a request the pipeline refuses before either path runs
            full = _full(opts)
            what = f"{reqs} {more}: fast {fast}, full {full!r}"
            assert remembered(opts) == fast, what
            if fast is not None:
                answered += 1
                assert full is not None, what
                plural = "s" if fast != 1 else ""
                assert f"Resolved {fast} package{plural} in" in full, what
                assert "Would make no changes" in full, what
        assert tree(venv) == before  # neither path changed the environment
    assert answered >= 10  # the draw exercised the shortcut, not only its refusals


def _installed_world(tmp_path: Path) -> tuple[Path, Path, Path]:
    from installtools import installed_world

    return installed_world(tmp_path)


SWITCHES: list[dict[str, object]] = [
    {"upgrade": True},
    {"reinstall": True},
    {"reinstall_packages": ["lib"]},
    {"dry_run": True},
    {"report": "-"},
    {"compile_bytecode": True},
    {"exact": True},
    {"offline": True},
    {"refresh": True},
    {"refresh_packages": ["lib"]},
    {"require_hashes": True},
    {"venv": "missing-venv", "python": None},
]


@pytest.mark.parametrize("switch", SWITCHES, ids=lambda s: ",".join(s))
def test_what_the_shortcut_cannot_prove_switches_it_off(
    tmp_path: Path, switch: dict[str, object]
) -> None:
    venv, cache, wheels = _installed_world(tmp_path)
    plain = _options(venv, cache, wheels, ["app"])
    assert nothing_to_do(plain, collect_request(plain)) == 2
    if switch.get("venv"):
        switch = {**switch, "venv": str(tmp_path / "missing-venv")}
    opts = plain.replace(**switch)
    assert nothing_to_do(opts, collect_request(opts)) is None


@pytest.mark.parametrize(
    "line",
    [
        "app @ file://{wheels}/app-1.0-py3-none-any.whl",
        "app==1.0 --hash=sha256:" + "0" * 64,
        "-e ./app",
    ],
)
def test_direct_references_hashes_and_editables_switch_it_off(tmp_path: Path, line: str) -> None:
    venv, cache, wheels = _installed_world(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "pyproject.toml").write_text("[project]\nname='app'\nversion='1.0'\n")
    reqs = tmp_path / "reqs.txt"
    reqs.write_text(line.format(wheels=wheels) + "\n")
    opts = _options(venv, cache, wheels, [], requirement_files=[str(reqs)])
    assert nothing_to_do(opts, collect_request(opts)) is None


def test_a_missing_dependency_or_an_excluded_version_is_not_nothing(tmp_path: Path) -> None:
    venv, cache, wheels = _installed_world(tmp_path)
    for reqs in (["app", "lib>1"], ["app", "other"], ["lib<1"]):
        opts = _options(venv, cache, wheels, reqs)
        assert nothing_to_do(opts, collect_request(opts)) is None, reqs
    for constraint in ("lib<1", "app!=1.0"):
        (tmp_path / "c.txt").write_text(constraint + "\n")
        opts = _options(venv, cache, wheels, ["app"], constraint_files=[str(tmp_path / "c.txt")])
        assert nothing_to_do(opts, collect_request(opts)) is None, constraint


def test_the_cli_says_what_the_full_pipeline_says_and_changes_nothing(tmp_path: Path) -> None:
    venv, cache, wheels = _installed_world(tmp_path)
    before = tree(venv)
    flags = ["--python", venv, "--cache-dir", cache, "--no-index", "--find-links", wheels]
    fast = cachedb("install", *flags, "app")
    full = cachedb("install", *flags, "app", "--dry-run")
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert fast.stderr.splitlines()[0].startswith("Resolved 2 packages in ")
    assert full.stderr.splitlines()[0].startswith("Resolved 2 packages in ")
    assert fast.stderr.splitlines()[1].startswith("Audited 2 packages in ")
    assert tree(venv) == before


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 5])
def test_a_remembered_answer_never_outlives_a_change(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After each change to the environment (a version installed over another, a
    distribution removed), every remembered request answers as it does now."""
    monkeypatch.setattr(_memo, "SETTLED", 0)
    rng = random.Random(seed)
    wheels, cache = tmp_path / "wheels", tmp_path / "cache"
    _universe(rng, wheels)
    venv = _environment(rng, tmp_path, wheels, cache, consistent=True)
    asked: list[InstallOptions] = []
    for _ in range(40):
        reqs = [_requirement(rng, PROJECTS) for _ in range(rng.randint(1, 2))]
        opts = _options(venv, cache, wheels, reqs, no_deps=rng.random() < 0.15)
        try:
            nothing_to_do(opts, collect_request(opts))
        except CachedbError:
            continue
        asked.append(opts)
    remembered_before = sum(remembered(o) is not None for o in asked)
    assert remembered_before >= 3
    flags = ["--python", venv, "--cache-dir", cache, "--no-index", "--find-links", wheels]
    for _ in range(4):
        name = rng.choice(PROJECTS)
        if rng.random() < 0.3:
            change = cachedb("uninstall", "--python", venv, "--cache-dir", cache, name)
        else:
            change = cachedb(
                "install", "-q", "--no-deps", *flags, f"{name}=={rng.choice(VERSIONS)}"
            )
        assert change.returncode == 0, change.stderr
        for opts in asked:
            now = nothing_to_do(opts, collect_request(opts))
            assert remembered(opts) in (None, now), opts.requirements


def _remember_now(monkeypatch: pytest.MonkeyPatch, opts: InstallOptions) -> None:
    monkeypatch.setattr(_memo, "SETTLED", 0)
    assert nothing_to_do(opts, collect_request(opts)) == 2
    assert remembered(opts) == 2


def test_a_changed_requirement_file_or_metadata_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv, cache, wheels = _installed_world(tmp_path)
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("app\n")
    opts = _options(venv, cache, wheels, [], requirement_files=[str(reqs)])
    _remember_now(monkeypatch, opts)
    reqs.write_text("app>1\n")  # the same size: its text, not its status, decides
    assert remembered(opts) is None
    reqs.write_text("app\n")
    assert remembered(opts) == 2
    metadata = next(venv.glob("lib/*/site-packages/lib-1.0.dist-info/METADATA"))
    metadata.write_bytes(metadata.read_bytes())  # rewritten in place, same text
    assert remembered(opts) is None


def test_files_holding_options_and_fresh_environments_are_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv, cache, wheels = _installed_world(tmp_path)
    # Just installed: younger than the racy window, so nothing is remembered yet.
    plain = _options(venv, cache, wheels, ["app"])
    assert nothing_to_do(plain, collect_request(plain)) == 2
    assert remembered(plain) is None
    inner = tmp_path / "inner.txt"
    inner.write_text("app\n")
    outer = tmp_path / "outer.txt"
    outer.write_text(f"-r {inner}\n")
    opts = _options(venv, cache, wheels, [], requirement_files=[str(outer)])
    monkeypatch.setattr(_memo, "SETTLED", 0)
    assert nothing_to_do(opts, collect_request(opts)) == 2
    assert remembered(opts) is None  # -r: another file's text would decide


@pytest.mark.parametrize("separator", ["\x0b", "\x1c", "\x85", "\u2028"])
def test_an_option_after_any_line_break_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, separator: str
) -> None:
    """The file parser splits lines at every break str.splitlines knows (a vertical tab,
    a file separator, ...): an ``-r`` there includes another file whose text the memo
    does not keep."""
    venv, cache, wheels = _installed_world(tmp_path)
    inner = tmp_path / "inner.txt"
    inner.write_text("app\n")
    outer = tmp_path / "outer.txt"
    outer.write_text(f"lib{separator}-r {inner}\n", encoding="utf-8")
    opts = _options(venv, cache, wheels, [], requirement_files=[str(outer)])
    monkeypatch.setattr(_memo, "SETTLED", 0)
    assert nothing_to_do(opts, collect_request(opts)) == 2
    assert remembered(opts) is None


PLAIN_VERSIONS = ["1.0", "1.5", "2", "2.0.1"]
PLAIN_OPS = ["==", "!=", "<", "<=", ">", ">="]


def _plain_requirement(rng: random.Random, names: list[str], *, dep: bool = False) -> str:
    """Mostly what read_plain(releases_only=True) reads, now and then what only packaging reads."""
    name = rng.choice(names)
    if rng.random() < 0.2:
        name = name.upper().replace("-", ".")
    specs = [
        f"{rng.choice(PLAIN_OPS)}{rng.choice([*PLAIN_VERSIONS, '1', '2.0', '1.5.0'])}"
        for _ in range(rng.choice([0, 1, 1, 2]))
    ]
    text = name + " " * rng.randint(0, 1) + ", ".join(specs)
    roll = rng.random()
    if roll < 0.1:
        text += "[x]" if not specs else "; python_version >= '3'"
    elif roll < 0.2:
        text = f"{name}~=1.0"
    elif dep and roll < 0.6:
        text += rng.choice(
            [
                "; extra == 'x'",
                "; python_version >= '3'",
                "; python_version < '3.8' or extra == 'x'",
                "; sys_platform == 'linux' and python_full_version >= '3.8.1'",
                "; os_name != 'posix'",
                "; platform_release >= '1'",  # only packaging reads this one
            ]
        )
    return text


def _plain_request_options(
    rng: random.Random, tmp_path: Path, venv: Path, cache: Path, wheels: Path
) -> InstallOptions:
    reqs = [_plain_requirement(rng, PROJECTS) for _ in range(rng.randint(1, 3))]
    more: dict[str, object] = {"no_deps": rng.random() < 0.15}
    if rng.random() < 0.5:
        lines = ["# pinned", "", *(f"{r}  # why" if rng.random() < 0.3 else r for r in reqs)]
        if len(lines) > 3 and rng.random() < 0.3:
            lines[-1] = "\\\n".join(lines[-1].partition(",")[::2])  # a continuation
        path = tmp_path / f"r-{rng.randrange(10**6)}.txt"
        bom = "\ufeff" if rng.random() < 0.2 else ""
        path.write_text(bom + "\n".join(lines) + "\n", encoding="utf-8")
        more["requirement_files"] = [str(path)]
        reqs = []
    return _options(venv, cache, wheels, reqs, **more)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [8, 9, 10])
def test_the_plain_reading_answers_as_packagings(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """plainly_nothing_to_do (no packaging) answers as nothing_to_do and the full
    pipeline do, or leaves the request to them (None), on random plain worlds."""
    monkeypatch.setattr(_memo, "SETTLED", 0)
    rng = random.Random(seed)
    wheels, cache = tmp_path / "wheels", tmp_path / "cache"
    for i, name in enumerate(PROJECTS):
        later = PROJECTS[i + 1 :]
        for version in PLAIN_VERSIONS:
            requires = [
                _plain_requirement(rng, later, dep=True) for _ in range(rng.randint(0, 2)) if later
            ]
            make_wheel(wheels, name, version, requires=requires, extras=["x"])
    answered = refused = 0
    for consistent in (True, False, True):
        venv = _environment(
            rng, tmp_path, wheels, cache, consistent=consistent, versions=PLAIN_VERSIONS
        )
        before = tree(venv)
        for _ in range(30):
            opts = _plain_request_options(rng, tmp_path, venv, cache, wheels)
            plain = plainly_nothing_to_do(opts)
            try:
                fast = nothing_to_do(opts, collect_request(opts))
            except CachedbError as exc:
                assert plain is None, f"{opts}: plain {plain}, pipeline refuses: {exc}"
                continue
            what = repr(opts.requirements or Path(opts.requirement_files[0]).read_text())
            if plain is None:
                refused += fast is not None
                continue
            answered += 1
            assert plain == fast, f"{what}: plain {plain}, packaging {fast}"
            full = _full(opts)
            assert full is not None and f"Resolved {plain} package" in full, what
            assert "Would make no changes" in full, what
        assert tree(venv) == before
    assert answered >= 5  # the draw exercised the plain reading
    assert refused >= 1  # and what only packaging reads was left to it


def test_a_requirements_pipe_is_read_once_by_the_install(tmp_path: Path) -> None:
    """``-r <(echo app)``: the shortcuts never read a pipe (what they read, the install
    would not find again), so the request is the pipe's text, as with uv or pip."""
    venv, cache, wheels = _installed_world(tmp_path)
    read, write = os.pipe()
    try:
        os.write(write, b"app\n")
        os.close(write)
        opts = _options(venv, cache, wheels, [], requirement_files=[f"/dev/fd/{read}"])
        out = io.StringIO()
        assert run_install(opts, Reporter(0, stream=out)) == 0
        assert out.getvalue().startswith("Resolved 2 packages in ")
    finally:
        os.close(read)
