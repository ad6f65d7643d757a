"""A warm answer equals the cold answer: what the cache may reuse for a request (issue 15).

A cached wheel serves a request only when the current sources still offer that
very file (same source, same file identity); these tests change the sources
between runs and compare the warm install with a cold one, and with pip or uv.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import VENV_BIN, cachedb, make_venv, pip, run_in
from wheelbuilder import make_wheel

UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
CP_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}-none-any"


def origin(venv: Path, module: str) -> str:
    """Which build of ``module`` the environment holds (its ``WHO`` marker)."""
    ran = run_in(venv, f"import {module}; print({module}.WHO)")
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def dists(venv: Path) -> set[str]:
    """``name==version`` of every distribution in ``venv``'s site-packages."""
    site = next((venv / "lib").glob("python*/site-packages"))
    out = set()
    for info in site.glob("*.dist-info"):
        name, version = info.name[: -len(".dist-info")].split("-", 1)
        out.add(f"{name.replace('_', '-')}=={version}")
    return out


def uv_install(venv: Path, cache: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [UV, "pip", "install", "--python", str(venv / VENV_BIN / "python"), "--cache-dir",
         str(cache), *map(str, args)],
        capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("UV_", "CACHEDB_"))},
    )  # fmt: skip


def installs(
    tmp_path: Path, *source: str | Path, pin: str = "demo==1.0"
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``install(venv, *flags)``: ``cachedb install`` of ``pin`` from ``source`` into
    ``tmp_path / venv``; every run shares the one cache, ``tmp_path / "cache"``."""

    def install(venv: str, *flags: str) -> subprocess.CompletedProcess[str]:
        cache = ["--cache-dir", tmp_path / "cache"]
        return cachedb("install", "--venv", tmp_path / venv, *flags, *cache, *source, pin)

    return install


def who(text: str) -> dict[str, str]:
    return {"demo/__init__.py": f"WHO = {text!r}\n"}


# -- case 1: the source is part of what a hit is ---------------------------------------------


def test_pinned_wheel_from_another_source_is_not_reused(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """Filled from find-links A, ``-i B demo==1.0`` installs B's build (and its dependency)."""
    a = tmp_path / "a"
    make_wheel(a, "demo", "1.0", files=who("A"))
    b = tmp_path / "b"
    index_server.add(make_wheel(b, "demo", "1.0", files=who("B"), requires=["dep==1.0"]))
    index_server.add(make_wheel(b, "dep", "1.0"))
    cache = tmp_path / "cache"

    first = cachedb("install", "--cache-dir", cache, "--venv", tmp_path / "v1",
                    "--no-index", "-f", a, "demo==1.0")  # fmt: skip
    assert first.returncode == 0, first.stderr
    warm = cachedb("install", "--cache-dir", cache, "--venv", tmp_path / "v2",
                   "-i", index_server.url, "demo==1.0")  # fmt: skip
    assert warm.returncode == 0, warm.stderr
    assert origin(tmp_path / "v2", "demo") == "B"
    assert dists(tmp_path / "v2") == {"demo==1.0", "dep==1.0"}

    cold = cachedb("install", "--cache-dir", tmp_path / "empty", "--venv", tmp_path / "v3",
                   "-i", index_server.url, "demo==1.0")  # fmt: skip
    assert cold.returncode == 0, cold.stderr
    assert dists(tmp_path / "v3") == dists(tmp_path / "v2")
    make_venv(tmp_path / "uv")
    by_uv = uv_install(tmp_path / "uv", tmp_path / "uv-cache", "-i", index_server.url, "demo==1.0")
    assert by_uv.returncode == 0, by_uv.stderr
    assert dists(tmp_path / "uv") == dists(tmp_path / "v2")


def test_the_same_file_from_the_same_source_is_a_hit(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """What stays offered is reused: the warm install downloads nothing."""
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "demo", "1.0", files=who("B")))
    install = installs(tmp_path, "-i", index_server.url)
    assert install("v1").returncode == 0
    index_server.requests.clear()
    warm = install("v2")
    assert warm.returncode == 0, warm.stderr
    assert origin(tmp_path / "v2", "demo") == "B"
    assert not [r for r in index_server.requests if r.startswith("/files/")]


# -- case 2: a better-tagged wheel added to the source wins -----------------------------------


def test_better_tagged_wheel_added_to_find_links_wins(tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_wheel(links, "demo", "2.0", files=who("pure"))
    install = installs(tmp_path, "--no-index", "-f", links, pin="demo==2.0")
    first = install("v1")
    assert first.returncode == 0, first.stderr
    assert origin(tmp_path / "v1", "demo") == "pure"

    make_wheel(links, "demo", "2.0", files=who("tagged"), tag=CP_TAG)
    warm = install("v2")
    assert warm.returncode == 0, warm.stderr
    assert origin(tmp_path / "v2", "demo") == "tagged"

    make_venv(tmp_path / "pip")
    by_pip = pip(tmp_path / "pip", "install", "--no-index", "-f", str(links), "demo==2.0")
    assert by_pip.returncode == 0, by_pip.stderr
    assert origin(tmp_path / "pip", "demo") == "tagged"


def test_better_tagged_wheel_added_to_an_index_wins(
    tmp_path: Path, index_server: IndexServer
) -> None:
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "demo", "2.0", files=who("pure")))
    install = installs(tmp_path, "-i", index_server.url, pin="demo==2.0")
    assert install("v1").returncode == 0
    index_server.add(make_wheel(w, "demo", "2.0", files=who("tagged"), tag=CP_TAG))
    warm = install("v2")
    assert warm.returncode == 0, warm.stderr
    assert origin(tmp_path / "v2", "demo") == "tagged"


# -- case 3: Requires-Python from METADATA, cached or not --------------------------------------


def test_requires_python_in_metadata_is_refused_like_pip(tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_wheel(links, "demo", "1.0", files=who("x"), requires_python=">=3.99")
    venv = tmp_path / "venv"
    make_venv(venv)
    out = cachedb("install", "--cache-dir", tmp_path / "cache", "--python", venv,
                  "--no-index", "-f", links, "demo==1.0")  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "requires a different Python" in out.stderr and ">=3.99" in out.stderr
    assert not dists(venv)

    by_pip = pip(venv, "install", "--no-index", "-f", str(links), "demo==1.0")
    assert by_pip.returncode != 0 and "requires a different Python" in by_pip.stderr
    by_uv = uv_install(venv, tmp_path / "uv-cache", "--no-index", "-f", links, "demo==1.0")
    assert by_uv.returncode != 0
    assert not dists(venv)


def test_requires_python_is_checked_with_no_deps(tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_wheel(links, "demo", "1.0", files=who("x"), requires_python=">=3.99")
    out = cachedb("install", "--cache-dir", tmp_path / "cache", "--venv", tmp_path / "venv",
                  "--no-deps", "--no-index", "-f", links, "demo==1.0")  # fmt: skip
    assert out.returncode == 1 and "requires a different Python" in out.stderr


def _other_python() -> str | None:
    """A Python newer than this one, from pyenv or PATH."""
    minor = sys.version_info.minor + 1
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("pyenv") else ""  # fmt: skip
    for candidate in sorted(Path(root, "versions").glob(f"3.{minor}.*")) if root else []:
        if (candidate / "bin" / "python3").exists():
            return str(candidate / "bin" / "python3")
    return shutil.which(f"python3.{minor}")


def test_cached_wheel_is_refused_for_a_python_its_metadata_excludes(tmp_path: Path) -> None:
    newer = _other_python()
    if newer is None:
        pytest.skip(f"no Python 3.{sys.version_info.minor + 1} on this machine")
    floor = f">=3.{sys.version_info.minor + 1}"
    links = tmp_path / "links"
    make_wheel(links, "demo", "1.0", files=who("x"), requires_python=floor)
    cache = tmp_path / "cache"
    subprocess.run([newer, "-m", "venv", "--without-pip", str(tmp_path / "new")], check=True)
    filled = cachedb("install", "--cache-dir", cache, "--venv", tmp_path / "new",
                     "--no-index", "-f", links, "demo==1.0")  # fmt: skip
    assert filled.returncode == 0, filled.stderr
    for flags in (["--no-index", "-f", links], ["--offline", "--no-index"]):
        venv = tmp_path / f"old{len(flags)}"
        make_venv(venv)
        out = cachedb("install", "--cache-dir", cache, "--python", venv, *flags, "demo==1.0")
        assert out.returncode == 1, out.stderr
        assert "requires a different Python" in out.stderr and floor in out.stderr
        assert not dists(venv)


def test_data_requires_python_of_the_index_applies_to_a_cached_wheel(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """The index now says the file needs a newer Python: the cached copy is refused too."""
    w = tmp_path / "w"
    wheel = make_wheel(w, "demo", "1.0", files=who("x"))
    index_server.add(wheel)
    install = installs(tmp_path, "-i", index_server.url)
    assert install("v1").returncode == 0
    index_server.add(wheel, requires_python=">=3.99")
    out = install("v2")
    assert out.returncode == 1, out.stderr
    assert not (tmp_path / "v2").exists() or not dists(tmp_path / "v2")


# -- case 6: --refresh sees a wheel rebuilt in place -------------------------------------------


def _rebuild_in_place(links: Path, text: str, like: Path) -> Path:
    """Rewrite ``like`` with new contents, same size and same mtime."""
    stat = like.stat()
    for salt in range(1000):  # compressed sizes vary with the text: find one that fits
        files = {"demo/__init__.py": f"WHO = {text!r}\n# {salt}\n"}
        wheel = make_wheel(links, "demo", "1.0", files=files)
        if wheel.stat().st_size == stat.st_size:
            break
    assert wheel == like and wheel.stat().st_size == stat.st_size
    os.utime(wheel, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return wheel


def test_refresh_replaces_a_wheel_rebuilt_in_place(tmp_path: Path) -> None:
    links = tmp_path / "links"
    wheel = make_wheel(links, "demo", "1.0", files=who("old"))
    install = installs(tmp_path, "--no-index", "-f", links)
    assert install("v1").returncode == 0
    _rebuild_in_place(links, "new", wheel)

    refreshed = install("v2", "--refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert origin(tmp_path / "v2", "demo") == "new"
    # What the refresh learnt stays: the next plain run answers the same.
    again = install("v3")
    assert again.returncode == 0, again.stderr
    assert origin(tmp_path / "v3", "demo") == "new"

    # uv answers the same with its own cache filled the same way.
    uv_cache = tmp_path / "uv-cache"
    wheel = make_wheel(links, "demo", "1.0", files=who("old"))
    for name in ("u1", "u2"):
        make_venv(tmp_path / name)
    assert uv_install(tmp_path / "u1", uv_cache, "--no-index", "-f", links,
                      "demo==1.0").returncode == 0  # fmt: skip
    _rebuild_in_place(links, "new", wheel)
    by_uv = uv_install(tmp_path / "u2", uv_cache, "--refresh", "--no-index", "-f", links,
                       "demo==1.0")  # fmt: skip
    assert by_uv.returncode == 0, by_uv.stderr
    assert origin(tmp_path / "u2", "demo") == "new"


def test_refresh_package_replaces_only_that_package(tmp_path: Path) -> None:
    links = tmp_path / "links"
    wheel = make_wheel(links, "demo", "1.0", files=who("old"))
    install = installs(tmp_path, "--no-index", "-f", links)
    assert install("v1").returncode == 0
    _rebuild_in_place(links, "new", wheel)
    out = install("v2", "--refresh-package", "demo")
    assert out.returncode == 0, out.stderr
    assert origin(tmp_path / "v2", "demo") == "new"


def test_a_wheel_rewritten_with_a_new_mtime_is_seen_without_refresh(tmp_path: Path) -> None:
    links = tmp_path / "links"
    wheel = make_wheel(links, "demo", "1.0", files=who("old"))
    install = installs(tmp_path, "--no-index", "-f", links)
    assert install("v1").returncode == 0
    make_wheel(links, "demo", "1.0", files=who("new"))
    stat = wheel.stat()
    os.utime(wheel, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    out = install("v2")
    assert out.returncode == 0, out.stderr
    assert origin(tmp_path / "v2", "demo") == "new"


# -- case 8: an exact pin on a yanked file warns with the reason -------------------------------


def test_exact_pin_on_a_yanked_file_warns_with_the_reason(
    tmp_path: Path, index_server: IndexServer
) -> None:
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "demo", "1.0", files=who("y")), yanked="broken build")
    cache = tmp_path / "cache"
    for venv in ("cold", "warm"):
        out = cachedb("install", "--cache-dir", cache, "--venv", tmp_path / venv,
                      "-i", index_server.url, "demo==1.0")  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "warning: demo==1.0 is yanked" in out.stderr, (venv, out.stderr)
        assert "Reason for being yanked: broken build" in out.stderr
        assert dists(tmp_path / venv) == {"demo==1.0"}

    make_venv(tmp_path / "pip")
    by_pip = pip(tmp_path / "pip", "install", "-i", index_server.url, "demo==1.0")
    assert by_pip.returncode == 0, by_pip.stderr
    assert "Reason for being yanked: broken build" in by_pip.stderr


# -- fresh pages answer without a request; --offline says the cache answered ------------------


def test_fresh_pages_answer_without_a_request_and_equal_the_revalidated_answer(
    tmp_path: Path, index_server: IndexServer
) -> None:
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "demo", "1.0", files=who("x"), requires=["dep>=1"]))
    index_server.add(make_wheel(w, "dep", "1.0"))
    index_server.add(make_wheel(w, "dep", "2.0"))
    index_server.cache_control = "max-age=600"
    install = installs(tmp_path, "-i", index_server.url)
    assert install("cold").returncode == 0

    index_server.requests.clear()
    fresh = install("fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert index_server.requests == []

    slow = install("slow", "--refresh")
    assert slow.returncode == 0, slow.stderr
    assert index_server.conditional_requests  # the slow path asked the index
    assert dists(tmp_path / "fresh") == dists(tmp_path / "slow") == dists(tmp_path / "cold")
    assert dists(tmp_path / "fresh") == {"demo==1.0", "dep==2.0"}


def test_stale_pages_are_revalidated_before_a_cached_wheel_is_reused(
    tmp_path: Path, index_server: IndexServer
) -> None:
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "demo", "1.0", files=who("x")))
    install = installs(tmp_path, "-i", index_server.url)
    assert install("v1").returncode == 0
    index_server.requests.clear()
    assert install("v2").returncode == 0
    assert index_server.conditional_requests == ["/simple/demo/"]
    assert index_server.requests == ["/simple/demo/"]


def test_offline_says_the_cache_was_the_only_source(
    tmp_path: Path, index_server: IndexServer
) -> None:
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "demo", "1.0", files=who("x")))
    install = installs(tmp_path, "-i", index_server.url)
    assert install("v1").returncode == 0
    index_server.requests.clear()
    out = install("v2", "--offline")
    assert out.returncode == 0, out.stderr
    assert "--offline" in out.stderr and "cache" in out.stderr
    assert index_server.requests == []
    assert dists(tmp_path / "v2") == {"demo==1.0"}


# -- the find-links shortcut equals the index client's answer ----------------------------------


def _change(links: Path, how: str) -> None:
    wheel = links / "demo-1.0-py3-none-any.whl"
    if how == "same":
        return
    if how == "better-tag":
        make_wheel(links, "demo", "1.0", files=who("tagged"), tag=CP_TAG)
    elif how == "rebuilt":
        stat = wheel.stat()
        make_wheel(links, "demo", "1.0", files=who("rebuilt"))
        os.utime(wheel, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    elif how == "removed":
        wheel.unlink()
        make_wheel(links, "demo", "0.9", files=who("older"))
    elif how == "incompatible-only":
        wheel.unlink()
        make_wheel(links, "demo", "1.0", files=who("other"), tag="py2-none-any")


@pytest.mark.parametrize("how", ["same", "better-tag", "rebuilt", "removed", "incompatible-only"])
def test_find_links_shortcut_answers_as_the_index_client_and_a_cold_cache(
    tmp_path: Path, how: str
) -> None:
    """A find-links directory given as a path is read without the index client; given as a
    file: URL, through it. Warm, both must install what an empty cache installs."""
    links = tmp_path / "links"
    make_wheel(links, "demo", "1.0", files=who("first"))
    runs = [[str(links)], [links.as_uri()], [str(links)]]
    for n, location in enumerate(runs):
        location[:] = ["--cache-dir", str(tmp_path / f"cache{n}"), "--no-index", "-f", location[0]]
    for n in (0, 1):  # the warm ones: filled before the change
        filled = cachedb("install", "--venv", tmp_path / f"fill{n}", *runs[n], "demo==1.0")
        assert filled.returncode == 0, filled.stderr
    _change(links, how)
    answers = []
    for n, args in enumerate(runs):
        out = cachedb("install", "--venv", tmp_path / f"v{n}", *args, "demo==1.0")
        got = origin(tmp_path / f"v{n}", "demo") if out.returncode == 0 else None
        answers.append((out.returncode, got))
    assert answers[0] == answers[1] == answers[2], answers


def test_a_find_links_wheel_rewritten_with_its_size_and_mtime_is_read_again(
    tmp_path: Path,
) -> None:
    """A wheel rewritten in place by another build of the same size, its mtime put back (as
    ``cp -p``, ``rsync -t`` or a build stamping a fixed time leave it), is another file: a
    warm install reads it again and installs what a cold install and pip install."""
    links = tmp_path / "links"
    wheel = make_wheel(links, "demo", "1.0", files=who("first"))
    other = make_wheel(tmp_path / "other", "demo", "1.0", files=who("other")).read_bytes()
    assert len(other) == wheel.stat().st_size and other != wheel.read_bytes()
    # Older than the racy window, as a wheel built a while ago is (a younger status is never
    # remembered: test_local_hashes_of_files_changed_during_the_run_are_not_remembered).
    time.sleep(2.2)
    source = ["--no-index", "-f", str(links)]
    install = installs(tmp_path, *source)
    filled = install("fill")
    assert filled.returncode == 0, filled.stderr
    assert origin(tmp_path / "fill", "demo") == "first"

    st = wheel.stat()
    with open(wheel, "r+b") as fh:  # the same inode, the same size
        fh.write(other)
    os.utime(wheel, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (wheel.stat().st_size, wheel.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)

    warm = install("warm")
    assert warm.returncode == 0, warm.stderr
    cold = cachedb("install", "--cache-dir", tmp_path / "empty", "--venv", tmp_path / "cold",
                   *source, "demo==1.0")  # fmt: skip
    assert cold.returncode == 0, cold.stderr
    make_venv(tmp_path / "pip")
    by_pip = pip(tmp_path / "pip", "install", "--no-cache-dir", *source, "demo==1.0")
    assert by_pip.returncode == 0, by_pip.stderr
    answers = [origin(tmp_path / venv, "demo") for venv in ("warm", "cold", "pip")]
    assert answers == ["other"] * 3


def test_extras_of_a_pinned_yanked_release_resolve_as_the_fast_path_does(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """``bb==1.0`` pins a yanked release; ``aa`` needs ``bb[x]``: the pin admits it for
    the extras too, in the resolver (``-U``) as in the pinned fast path, and in pip."""
    w = tmp_path / "w"
    index_server.add(make_wheel(w, "aa", "1.0", requires=["bb[x]"]))
    index_server.add(
        make_wheel(w, "bb", "1.0", extras=["x"], requires=["cc; extra == 'x'"]), yanked="bad"
    )
    index_server.add(make_wheel(w, "cc", "1.0"))
    answers = []
    for flags in ([], ["-U"]):
        venv = tmp_path / f"v{len(flags)}"
        out = cachedb("install", "--cache-dir", tmp_path / "cache", "--venv", venv,
                      "-i", index_server.url, *flags, "aa==1.0", "bb==1.0")  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "bb==1.0 is yanked" in out.stderr
        answers.append(dists(venv))
    make_venv(tmp_path / "pip")
    by_pip = pip(tmp_path / "pip", "install", "-i", index_server.url, "aa==1.0", "bb==1.0")
    assert by_pip.returncode == 0, by_pip.stderr
    assert answers[0] == answers[1] == dists(tmp_path / "pip") == {"aa==1.0", "bb==1.0", "cc==1.0"}


# -- the remembered sha256 of local files ------------------------------------------------------

# A status must be older than this when a run starts to be remembered (the tests' racy window;
# cachedb's own is 2 s): each test waits that long after changing a file it wants remembered.
WINDOW = 50_000_000


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The local files ``LocalHashes`` read whole, in order; a short racy window."""
    from cachedb import _cachekey, _memo

    monkeypatch.setattr(_memo, "SETTLED", WINDOW)
    seen: list[str] = []
    real = _cachekey.file_sha256

    def counted(path: str) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(_cachekey, "file_sha256", counted)
    return seen


def _settle() -> None:
    time.sleep(WINDOW / 1e9 + 0.02)


def test_local_hashes_are_remembered_by_status_and_kept_only_on_flush(
    tmp_path: Path, reads: list[str]
) -> None:
    from cachedb._cachekey import LocalHashes, file_sha256

    wheel = tmp_path / "links" / "demo-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"first")
    _settle()
    memo = tmp_path / "cache" / "local-files"
    first = LocalHashes(memo).sha256(str(wheel))
    assert first == file_sha256(str(wheel)) and not memo.exists()  # not flushed: not kept

    hashes = LocalHashes(memo)
    hashes.sha256(str(wheel))
    hashes.flush()
    reads.clear()
    assert LocalHashes(memo).sha256(str(wheel)) == first and reads == []  # remembered
    assert LocalHashes(memo).sha256(str(wheel), refresh=True) == first and len(reads) == 1

    st = wheel.stat()
    wheel.write_bytes(b"other")  # same size, same inode; the same mtime put back
    os.utime(wheel, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert LocalHashes(memo).sha256(str(wheel)) == file_sha256(str(wheel)) != first


def test_local_hashes_of_files_changed_during_the_run_are_not_remembered(
    tmp_path: Path, reads: list[str]
) -> None:
    """A status younger than the racy window when the run began could hide a change made
    within the same timestamp tick: such a file is hashed, but read again next time."""
    from cachedb._cachekey import LocalHashes

    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    memo = tmp_path / "cache" / "local-files"
    hashes = LocalHashes(memo)  # the run starts, then the file is written
    wheel.write_bytes(b"fresh")
    _settle()
    hashes.sha256(str(wheel))
    hashes.remember(str(wheel), "0" * 64)  # a copy read by this run: not kept either
    hashes.flush()
    assert len(reads) == 1
    later = LocalHashes(memo)  # settled before this run began: remembered from now on
    later.sha256(str(wheel))
    later.flush()
    LocalHashes(memo).sha256(str(wheel))
    assert len(reads) == 2


def _same_size_change(rng: random.Random, wheel: Path, spare: Path) -> str:
    """Change ``wheel`` in one of the ways that keep its size (or not), or leave it."""
    st = wheel.stat()
    data = bytes(rng.randrange(256) for _ in range(st.st_size))
    how = rng.choice(["none", "in-place", "renamed-over", "copied-with-mtime", "touched",
                      "chmod", "relinked", "resized"])  # fmt: skip
    if how == "in-place":
        with open(wheel, "r+b") as fh:
            fh.write(data)
    elif how == "renamed-over":
        spare.write_bytes(data)
        os.replace(spare, wheel)
    elif how == "copied-with-mtime":
        spare.write_bytes(data)
        os.utime(spare, ns=(st.st_atime_ns, st.st_mtime_ns))
        shutil.copy2(spare, wheel)
        spare.unlink()
    elif how == "touched":
        os.utime(wheel)
    elif how == "chmod":
        os.chmod(wheel, 0o600 if st.st_mode & 0o044 else 0o644)
    elif how == "relinked":
        spare.write_bytes(data)
        os.link(spare, wheel.with_suffix(".tmp"))
        os.replace(wheel.with_suffix(".tmp"), wheel)
        spare.unlink()
    elif how == "resized":
        wheel.write_bytes(data + b"x")
    if how in ("in-place", "renamed-over", "relinked", "resized"):
        os.utime(wheel, ns=(st.st_atime_ns, st.st_mtime_ns))  # the mtime put back
    return how


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_remembered_local_hash_is_the_hash_of_the_bytes(
    tmp_path: Path, reads: list[str], seed: int
) -> None:
    """Differential: run after run, whatever happened to the file in between, the memo's
    answer is the sha256 of the file's bytes now; and a file left alone is not read again."""
    from cachedb._cachekey import LocalHashes

    rng = random.Random(seed)
    wheel = tmp_path / "links" / "demo-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"0123456789abcdef")
    memo = tmp_path / "cache" / "local-files"
    changes = []
    for _ in range(14):
        _settle()
        reads.clear()
        hashes = LocalHashes(memo)
        got = hashes.sha256(str(wheel))
        assert got == hashlib.sha256(wheel.read_bytes()).hexdigest(), changes
        if changes and changes[-1] == "none":
            assert reads == [], changes  # unchanged and settled: answered from the memo
        hashes.flush()
        changes.append(_same_size_change(rng, wheel, tmp_path / "links" / "spare"))


def test_local_hashes_are_not_written_through_a_planted_link(
    tmp_path: Path, reads: list[str]
) -> None:
    from cachedb._cachekey import LocalHashes

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "local-files").symlink_to(outside)
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"x")
    _settle()
    hashes = LocalHashes(tmp_path / "cache" / "local-files")
    hashes.sha256(str(wheel))
    hashes.flush()
    assert list(outside.iterdir()) == []
    assert reads == [str(wheel)]
