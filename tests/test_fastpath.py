"""The fast path (cli._fast) reads every command line exactly as typer does, or leaves it to typer.

Each case runs ``cachedb.cli.main`` twice in this process with the command's body
(``cli._actions``) replaced by a recorder: once with the fast path switched off
(typer parses), once with typer switched off (the fast path parses, or refuses).
Where typer reaches the body, the fast path must reach it too with the same
keyword arguments and give the same exit code; where typer refuses the command
line, the fast path must refuse it as well (so typer answers, with its message).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import cachedb.cli as cli
from cachedb.cli import _actions, _fast, _spec, _specgen

FAST = list(_spec.COMMANDS)


class _TyperCalled(Exception):
    pass


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CACHEDB_") or name in ("SSL_CERT_FILE", "_CACHEDB_COMPLETE"):
            monkeypatch.delenv(name)


def _run_both(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> tuple[tuple[int, dict[str, Any] | None], tuple[int, dict[str, Any] | None] | None]:
    """(exit code, body kwargs) by typer, and by the fast path (None where it refused)."""
    calls: list[dict[str, Any]] = []

    def recorder(**kwargs: Any) -> int:
        calls.append(kwargs)
        return 7

    for name in FAST:
        monkeypatch.setattr(_actions, name, recorder)
    real_run, real_load = _fast.run, cli.load_app
    with monkeypatch.context() as m:
        m.setattr(_fast, "run", lambda *a: None)
        code = cli.main(list(argv))
    by_typer = (code, calls.pop() if calls else None)

    def no_typer(*args: object) -> object:
        raise _TyperCalled

    with monkeypatch.context() as m:
        m.setattr(_fast, "run", real_run)
        m.setattr(cli, "load_app", no_typer)
        try:
            code = cli.main(list(argv))
        except _TyperCalled:
            return by_typer, None
    del real_load
    return by_typer, (code, calls.pop() if calls else None)


def _assert_same(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> bool:
    """Compare the two on ``argv``; True when the fast path answered."""
    by_typer, by_fast = _run_both(monkeypatch, argv)
    if by_typer[1] is None:  # typer refused (usage error): the fast path must not answer
        assert by_fast is None, (argv, by_typer, by_fast)
        return False
    assert by_fast is not None, f"the fast path refused {argv} that typer reads"
    assert by_fast == by_typer, argv
    return True


def _fragments(command: str) -> Iterator[list[str]]:
    """Pieces of command lines that exercise each option of ``command`` in each spelling."""
    for name, opts, _, action, kind, _, off in _spec.COMMANDS[command]:
        value = "/tmp" if kind == "path" else f"v-{name}"
        for opt in off:
            yield [opt]
            yield [opts[0], opt]  # the last one wins
        for opt in opts:
            if action == "store":
                yield [opt, value]
                yield [f"{opt}={value}"] if opt.startswith("--") else [f"{opt}{value}"]
                yield [opt, "-looks-like-an-option"]
                yield [opt, ""]
            elif action == "append":
                yield [opt, "a", opt, "b c"]
                yield [opt, "--"]
            elif action == "flag":
                yield [opt]
            elif action == "count":
                yield [opt]
                yield [opt, opt]
                if not opt.startswith("--"):
                    yield [opt + opt[1:] * 2]
        if action in ("args", "arg"):
            yield ["pos-1"]
            yield ["-"]


def _errors(command: str) -> Iterator[list[str]]:
    yield ["--no-such-option"]
    yield ["-Z"]
    yield ["--help"]
    for name, opts, _, action, _, _, _ in _spec.COMMANDS[command]:
        if action in ("store", "append"):
            yield [opts[0]]  # no value at the end
        if action == "flag":
            yield [f"{opts[0]}=yes"]  # a flag takes no value
        del name


@pytest.mark.parametrize("command", FAST)
def test_every_option_in_every_spelling_parses_as_typer_parses(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)  # no project configuration file
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    answered = 0
    cases = [[]] + list(_fragments(command))
    for fragment in cases:
        answered += _assert_same(monkeypatch, [command, *fragment])
    for fragment in _errors(command):
        _assert_same(monkeypatch, [command, *fragment])
    # Mixed: options among positionals, after ``--``, several at once, in random order.
    rng = random.Random(f"{command}-22")
    pieces = list(_fragments(command))
    for _ in range(150):
        line: list[str] = []
        for piece in rng.sample(pieces, rng.randint(1, 6)):
            line += piece
        if rng.random() < 0.2:
            line += ["--", *rng.choice(pieces)]
        answered += _assert_same(monkeypatch, [command, *line])
    assert answered > len(cases)  # the fast path answers what it should, not only refuses


def _envvar_params(command: str) -> list[Sequence[Any]]:
    return [p for p in _spec.COMMANDS[command] if p[2]]


@pytest.mark.parametrize("command", FAST)
def test_environment_variables_read_as_typer_reads_them(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name, opts, envvars, action, kind, _, _ in _envvar_params(command):
        texts = {
            "flag": ["1", "true", " Yes ", "0", "off", "", "maybe"],
            "append": ["one", "one two  three", "   ", ""],
        }.get(action, ["value", "", " spaced "])
        if kind == "path":
            texts = [str(tmp_path), str(tmp_path / "missing"), ""]
        for var in envvars:
            for text in texts:
                with monkeypatch.context() as m:
                    m.setenv(var, text)
                    _assert_same(monkeypatch, [command])
                    # The flag on the command line wins over the variable.
                    flag = [opts[0]] if action == "flag" else [opts[0], "given"]
                    _assert_same(monkeypatch, [command, *flag])
        del name
    # The app's own variables are checked on every command: a bad one is typer's error.
    for var, text in [("CACHEDB_NO_CONFIG", "maybe"), ("CACHEDB_NO_CONFIG", "1")]:
        with monkeypatch.context() as m:
            m.setenv(var, text)
            _assert_same(monkeypatch, [command])


@pytest.mark.parametrize("command", FAST)
def test_configuration_files_give_the_same_defaults(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "cachedb.toml"
    config.write_text(
        'index-url = "https://mirror.example/simple"\n'
        'extra-index-url = ["https://a.example/simple", "https://b.example/simple"]\n'
        'find-links = "./wheels"\n'
        "no-index = true\n"
        'link-mode = "copy"\n'
        'cache-dir = "./cache"\n'
        "native-tls = false\n"
        'keyring-provider = "subprocess"\n'
        "seed = true\n"
        "remote-push = false\n"
        'resolution = "lowest"\n'
        'exclude-newer = "2024-01-01"\n'
    )
    assert _assert_same(monkeypatch, [command])
    assert _assert_same(monkeypatch, [command, "--index-url", "https://flag.example/simple"])
    assert _assert_same(monkeypatch, ["--no-config", command, "-q"])
    with monkeypatch.context() as m:
        m.setenv("CACHEDB_LINK_MODE", "hardlink")
        m.setenv("CACHEDB_FIND_LINKS", "x y")
        assert _assert_same(monkeypatch, [command])


def test_compile_dates_as_typer_reads_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clean_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    for text in ["2024-03-01", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00+02:00"]:
        assert _assert_same(monkeypatch, ["compile", "--exclude-newer", text])
    assert not _assert_same(monkeypatch, ["compile", "--exclude-newer", "last tuesday"])


@pytest.mark.parametrize("columns", ["80", "132", "60", ""])
def test_help_and_version_print_what_typer_prints(
    columns: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("COLUMNS", columns)
    for argv in (["--help"], ["--version"], ["-V"]):
        with monkeypatch.context() as m:
            m.setattr(_fast, "run", lambda *a: None)
            typer_code = cli.main(list(argv))
        by_typer = capsys.readouterr()
        fast_code = _fast.run(argv, None)
        by_fast = capsys.readouterr()
        if fast_code is None:  # help for a narrow terminal is left to typer
            assert argv == ["--help"] and columns == "60"
            continue
        assert (fast_code, by_fast.out, by_fast.err) == (typer_code, by_typer.out, by_typer.err)


def test_the_written_spec_is_the_apps() -> None:
    """After changing a command's options or help: ``python -m cachedb.cli._specgen``."""
    spec = _specgen.build()
    written = {key: getattr(_spec, key) for key in spec}
    assert written == spec, "cachedb/cli/_spec.py is stale: run python -m cachedb.cli._specgen"


def test_changed_command_modules_turn_the_fast_path_off(tmp_path: Path) -> None:
    sources = dict(_spec.SOURCES)
    assert _fast._current(sources, _spec.NOT_PARSING)
    sources["_install.py"] ^= 1
    assert not _fast._current(sources, _spec.NOT_PARSING)
    # A module of cli/ the spec does not know (it may declare options) turns it off too.
    fewer = {k: v for k, v in _spec.SOURCES.items() if k != "_cache.py"}
    assert not _fast._current(fewer, _spec.NOT_PARSING)
