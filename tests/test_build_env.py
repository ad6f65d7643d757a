"""Build environments: made without the stdlib's ``venv`` run, filled by a nested install.

Both are shortcuts of the build path, so each is compared with what it replaces:
the venv ``python -m venv`` makes (the interpreter's own view of it, on every
Python found here), and the options a child ``cachedb install`` would have parsed
from its command line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_target_pythons import find_python, venv_of

import cachedb.cli as cli
from cachedb.build.env import create_env
from cachedb.install.building import NestedInstall
from cachedb.install.options import InstallOptions

# What an interpreter in a venv knows about where it is and what it imports from.
PROBE = (
    "import json, site, sys, sysconfig; print(json.dumps({'prefix': sys.prefix, "
    "'base_prefix': sys.base_prefix, 'exec_prefix': sys.exec_prefix, 'path': sys.path, "
    "'paths': sysconfig.get_paths(), 'site': site.getsitepackages(), "
    "'user_site': site.ENABLE_USER_SITE, 'version': sys.version}))"
)


def seen_from(python: Path, prefix: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(python), "-s", "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    data: dict[str, Any] = json.loads(out.replace(str(prefix), "<venv>"))
    return data


@pytest.mark.parametrize("minor", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_a_build_environment_is_the_venv_the_stdlib_makes(minor: str, tmp_path: Path) -> None:
    target = venv_of(find_python(minor), tmp_path / "target")
    ours = create_env(tmp_path / "ours", str(target))
    subprocess.run([str(target), "-m", "venv", "--without-pip", str(tmp_path / "std")], check=True)
    assert ours == tmp_path / "ours" / "bin" / "python"
    assert not (tmp_path / "ours" / "bin" / "activate").exists()  # made here, not by the stdlib
    assert seen_from(ours, tmp_path / "ours") == seen_from(
        tmp_path / "std" / "bin" / "python", tmp_path / "std"
    )


def test_a_build_environment_never_sees_system_site_packages(tmp_path: Path) -> None:
    base = find_python("3.11")
    target = tmp_path / "target"
    subprocess.run(
        [str(base), "-m", "venv", "--without-pip", "--system-site-packages", str(target)],
        check=True,
    )
    ours = create_env(tmp_path / "ours", str(target / "bin" / "python"))
    assert "include-system-site-packages = false" in (tmp_path / "ours" / "pyvenv.cfg").read_text()
    seen = seen_from(ours, tmp_path / "ours")
    assert seen["site"] == ["<venv>/lib/python3.11/site-packages"]
    assert not [p for p in seen["path"] if p.endswith("site-packages") and "<venv>" not in p]


def test_a_venv_with_copied_interpreters_is_left_to_the_stdlib(tmp_path: Path) -> None:
    base = find_python("3.11")
    target = tmp_path / "target"
    subprocess.run([str(base), "-m", "venv", "--without-pip", "--copies", str(target)], check=True)
    ours = create_env(tmp_path / "ours", str(target / "bin" / "python"))
    assert (tmp_path / "ours" / "bin" / "activate").exists()  # the stdlib made it
    assert seen_from(ours, tmp_path / "ours")["site"] == ["<venv>/lib/python3.11/site-packages"]


def child_command(
    env_dir: Path,
    cache_dir: Path,
    opts: InstallOptions,
    index_urls: list[str],
    find_links: list[str],
    offline: bool,
    requirements: list[str],
) -> list[str]:
    """The ``cachedb install`` command line build requirements were installed with before."""
    cmd = ["install", "--quiet", "--venv", str(env_dir), "--cache-dir", str(cache_dir)]
    if opts.db_url is not None:
        cmd += ["--db-url", opts.db_url]
    if index_urls:
        cmd += ["--index-url", index_urls[0]]
        for url in index_urls[1:]:
            cmd += ["--extra-index-url", url]
        cmd += ["--index-strategy", opts.index_strategy]
    else:
        cmd.append("--no-index")
    for location in find_links:
        cmd += ["--find-links", location]
    if offline:
        cmd.append("--offline")
    return [*cmd, *opts.network_args(), "--", *requirements]


@pytest.mark.parametrize("offline", [True, False])
@pytest.mark.parametrize("index_urls", [[], ["http://127.0.0.1:9/a/", "http://127.0.0.1:9/b/"]])
def test_the_nested_install_is_the_one_the_child_command_made(
    offline: bool, index_urls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cachedb.toml").write_text('link-mode = "copy"\nmax-download-size = "5MB"\n')
    monkeypatch.setenv("CACHEDB_HTTP_TIMEOUT", "7")
    monkeypatch.setenv("CACHEDB_NO_WAIT", "1")
    monkeypatch.delenv("CACHEDB_OFFLINE", raising=False)  # the child's environment had none
    parent = InstallOptions().replace(
        db_url="sqlite:///" + str(tmp_path / "db.sqlite3"),
        index_strategy="unsafe-best-match",
        cert=str(tmp_path / "ca.pem"),
        keyring_provider="subprocess",
        offline=offline,
        upgrade=True,  # the installing command's own choices do not reach its build environments
        link_mode="hardlink",
        no_binary=[":all:"],
    )
    (tmp_path / "ca.pem").write_text("")
    env_dir, cache_dir, links = tmp_path / "env", tmp_path / "cache", [str(tmp_path / "wheels")]
    reqs = ["flit_core>=3.4,<4", "wheel"]
    parsed: list[InstallOptions] = []
    monkeypatch.setattr(
        "cachedb.install.pipeline.run_install", lambda opts, _reporter: parsed.append(opts) or 0
    )
    argv = child_command(env_dir, cache_dir, parent, index_urls, links, offline, reqs)
    assert cli.main(argv) == 0
    monkeypatch.setenv("CACHEDB_OFFLINE", "1")  # offline or not is the argument's alone
    nested = NestedInstall(cache_dir, parent, index_urls, links)
    assert nested.offline is offline
    assert nested.options(env_dir, reqs, offline=offline) == parsed[0]
