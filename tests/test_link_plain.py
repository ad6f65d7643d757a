"""The plain-wheel linker (cachedb.link.plain) installs exactly what the row-by-row path does.

Hypothesis draws wheels of every shape the linker meets (nested packages, a
.data directory, entry points, installer files and RECORD signatures shipped in
the wheel, quoted or CRLF RECORD rows, blank lines), unpacks each with the real
unpacker, and installs it twice into identical prefixes: once as linking does
(the plain path wherever it applies) and once with the plain path switched off.
The installed trees (paths, kinds, modes, contents, which files share the
archive's inode), RECORD, INSTALLER, REQUESTED, direct_url.json, launchers and
the returned InstalledDist must be the same, and so must a failure and what it
leaves behind.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wheelbuilder import make_wheel

from cachedb.errors import InstallError
from cachedb.link import install_archive, read_archive
from cachedb.link import plain as plain_module
from cachedb.link.place import _parent
from cachedb.store.unpack import unpack_wheel

PYTHON = "/opt/python/bin/python3"
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DI = "demo-1.0.dist-info"

_segment = st.sampled_from(["pkg", "sub", "deep", "x", "ns"])
_leaf = st.sampled_from(["__init__.py", "a.py", "b.txt", "data.json", "m.so"])
_path = st.builds(lambda dirs, leaf: "/".join([*dirs, leaf]), st.lists(_segment, max_size=3), _leaf)


@st.composite
def wheel_shapes(draw: st.DrawFn) -> dict[str, Any]:
    files = {p: f"content of {p}\n" for p in draw(st.sets(_path, min_size=1, max_size=12))}
    executable: list[str] = []
    if draw(st.booleans()):
        files["demo-1.0.data/scripts/tool"] = "#!python\nprint('tool')\n"
        files["demo-1.0.data/data/share/demo.txt"] = "shared\n"
        executable.append("demo-1.0.data/scripts/tool")
    for name in draw(st.sets(st.sampled_from(["INSTALLER", "REQUESTED", "direct_url.json"]))):
        files[f"{DI}/{name}"] = "from the wheel\n"
    if draw(st.booleans()):
        files[f"{DI}/RECORD.jws"] = "{}"
    if draw(st.booleans()):
        files[f"{DI}/licenses/LICENSE"] = "MIT\n"
    entry_points = None
    if draw(st.booleans()):
        entry_points = {"console_scripts": {"demo-cli": "pkg:main"}}
    quoted = draw(st.sampled_from(["none", "quote", "crlf", "blank"]))
    return {
        "files": files,
        "executable": executable,
        "entry_points": entry_points,
        "quoted": quoted,
        "requested": draw(st.booleans()),
        "direct_url": draw(st.sampled_from([None, {"url": "file:///w/demo-1.0.whl"}])),
        "mode": draw(st.sampled_from(["hardlink", "copy", "symlink"])),
        "blocked": draw(st.sampled_from([None, "file", "dir"])),
    }


def _archive(tmp: Path, shape: dict[str, Any]) -> Path:
    files: dict[str, str] = shape["files"]
    first = sorted(p for p in files if not p.startswith(("demo-1.0.", DI)))[0]
    data = files[first].encode()
    row = f"{first},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}"
    overrides = {}
    extra_rows: list[str] = []
    if shape["quoted"] == "quote":
        overrides[first] = '"' + row.replace(",", '","') + '"'
    elif shape["quoted"] == "crlf":
        overrides[first] = row + "\r"
    elif shape["quoted"] == "blank":
        extra_rows.append("")
    wheel = make_wheel(
        tmp / "wheels",
        "demo",
        "1.0",
        files=files,
        executable=shape["executable"],
        entry_points=shape["entry_points"],
        record_overrides=overrides,
        extra_record_rows=extra_rows,
    )
    return unpack_wheel(wheel, tmp / "stage").directory


def _b64(digest: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _scheme(prefix: Path) -> dict[str, str]:
    lib = prefix / "lib" / "python3.11" / "site-packages"
    return {
        "purelib": str(lib),
        "platlib": str(lib),
        "scripts": str(prefix / "bin"),
        "data": str(prefix),
        "headers": str(prefix / "include" / "site" / "python3.11"),
    }


def _state(prefix: Path, archive: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``prefix``: kind, mode, content, and whether it is an archive file."""
    inodes = {os.lstat(p).st_ino for p in archive.rglob("*") if p.is_file()}
    out: dict[str, tuple[object, ...]] = {}
    for path in sorted(prefix.rglob("*")):
        st_ = os.lstat(path)
        rel = str(path.relative_to(prefix))
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", st_.st_mode)
        else:
            out[rel] = ("file", st_.st_mode, path.read_bytes(), st_.st_ino in inodes)
    return out


def _install(prefix: Path, archive: Path, shape: dict[str, Any]) -> object:
    scheme = _scheme(prefix)
    lib = Path(scheme["purelib"])
    if shape["blocked"] is not None:
        # Something already where one of the wheel's files goes.
        first = sorted(p for p in shape["files"] if not p.startswith(("demo-1.0.", DI)))[0]
        where = lib / first
        where.parent.mkdir(parents=True, exist_ok=True)
        if shape["blocked"] == "file":
            where.write_text("old\n")
        else:
            (where / "inside").mkdir(parents=True)
    try:
        dist = install_archive(
            read_archive(archive),
            scheme=scheme,
            python_executable=PYTHON,
            link_mode=shape["mode"],
            python_version=(3, 11),
            requested=shape["requested"],
            direct_url=shape["direct_url"],
        )
    except InstallError as exc:
        # The journal's temporary names carry a random token.
        message = re.sub(r"\.cachedb-\d+-[0-9a-f]+-", ".cachedb-<token>-", str(exc))
        return ("error", message.replace(str(prefix), "<prefix>"))
    return (
        dist.name,
        dist.version,
        dist.dist_info.relative_to(prefix),
        [os.path.relpath(p, prefix) for p in dist.paths],
    )


@SETTINGS
@given(shape=wheel_shapes())
def test_plain_path_installs_what_the_row_by_row_path_installs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shape: dict[str, Any]
) -> None:
    tmp = tmp_path_factory.mktemp("plain")
    archive = _archive(tmp, shape)
    fast = _install(tmp / "fast", archive, shape)
    with monkeypatch.context() as m:
        m.setattr(plain_module, "plain_rows", lambda archive: None)
        import cachedb.link.install as install_module

        m.setattr(install_module, "plain_rows", lambda archive: None)
        slow = _install(tmp / "slow", archive, shape)
    assert fast == slow
    assert _state(tmp / "fast", archive) == _state(tmp / "slow", archive)


def test_plain_path_is_taken_for_a_plain_wheel(tmp_path: Path) -> None:
    shape = {"files": {"pkg/__init__.py": "x\n", f"{DI}/INSTALLER": "pip\n"}}
    archive = read_archive(
        _archive(tmp_path, {**shape, "executable": [], "entry_points": None, "quoted": "none"})
    )
    plain = plain_module.plain_rows(archive)
    assert plain is not None
    assert plain.paths == ["pkg/__init__.py", f"{DI}/METADATA", f"{DI}/WHEEL"]
    # The wheel's own INSTALLER and RECORD rows are the installer's to write.
    assert "INSTALLER" not in plain.rows and "RECORD" not in plain.rows


def test_rows_that_csv_reads_differently_take_the_row_by_row_path(tmp_path: Path) -> None:
    base = {"files": {"pkg/__init__.py": "x\n"}, "executable": [], "entry_points": None}
    for quoted in ("quote", "blank"):
        archive = read_archive(_archive(tmp_path / quoted, {**base, "quoted": quoted}))
        assert plain_module.plain_rows(archive) is None
    # RECORD is read with universal newlines (by both paths): CRLF rows are plain rows.
    crlf = read_archive(_archive(tmp_path / "crlf", {**base, "quoted": "crlf"}))
    plain = read_archive(_archive(tmp_path / "none", {**base, "quoted": "none"}))
    assert plain_module.plain_rows(crlf) == plain_module.plain_rows(plain) is not None


@given(st.text(alphabet="/a.", max_size=12))
def test_a_directory_s_parent_is_dirname_s_answer(path: str) -> None:
    assert _parent(path) == os.path.dirname(path)


@pytest.mark.parametrize("linked_first", [True, False])
def test_an_interrupt_while_linking_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked_first: bool
) -> None:
    files = {f"pkg/m{i}.py": f"X = {i}\n" for i in range(6)}
    shape = {"files": files, "executable": [], "entry_points": None, "quoted": "none"}
    archive = _archive(tmp_path, shape)
    calls = []
    real_link = os.link

    def link(*args: Any, **kwargs: Any) -> None:
        # Interrupted at the fourth file: after linking it (Python sees the signal once the
        # call returns) or before.
        calls.append(args)
        if len(calls) == 4 and not linked_first:
            raise KeyboardInterrupt
        real_link(*args, **kwargs)
        if len(calls) == 4:
            raise KeyboardInterrupt

    fake_os = type("FakeOs", (), {})()
    fake_os.__dict__.update({k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake_os.link = link  # type: ignore[attr-defined]
    monkeypatch.setattr(plain_module, "os", fake_os)
    prefix = tmp_path / "env"
    with pytest.raises(KeyboardInterrupt):
        install_archive(
            read_archive(archive),
            scheme=_scheme(prefix),
            python_executable=PYTHON,
            link_mode="hardlink",
        )
    assert len(calls) == 4
    assert [p for p in prefix.rglob("*") if not p.is_dir()] == []
