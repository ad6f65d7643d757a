"""Install one archive directory into an environment's scheme.

Files are linked from the archive with the chosen link mode; only what must
differ from the cache is written fresh: rewritten ``#!python`` scripts,
entry-point launchers, and the dist-info files an installer owns (RECORD,
INSTALLER, REQUESTED, direct_url.json). Digests for linked files come from the
archive's RECORD, which was verified when the archive was unpacked.

A previous version of the same distribution is the caller's to uninstall
first: this module only adds files, and replaces the ones it installs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .._fdio import write_all
from .._names import canonical_name
from ..errors import InstallError, UsageError
from ..wheel.entry_points import SCHEME_KEYS, check_data_file, parse_entry_points
from ..wheel.records import format_record, record_hash
from .archive import Archive, check_folders, read_archive
from .modes import LINK_MODES
from .place import Journal
from .plain import GENERATED, link_each, link_plain, plain_rows
from .scripts import generate_launcher, rewrite_shebang

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class InstalledDist(NamedTuple):
    name: str  # canonical
    version: str
    dist_info: Path  # installed .dist-info directory
    paths: tuple[str, ...]  # every installed file (absolute), RECORD included

    @property
    def files(self) -> tuple[Path, ...]:
        # Built on demand: ten thousand Path objects cost a warm install ~25 ms.
        return tuple(Path(p) for p in self.paths)


class _Fresh(NamedTuple):
    dst: str
    data: bytes
    executable: bool


def _scheme_dirs(scheme: Mapping[str, str]) -> dict[str, str]:
    dirs: dict[str, str] = {}
    for key in SCHEME_KEYS:
        value = scheme.get(key)
        if value is None:
            continue
        if not os.path.isabs(value):
            raise InstallError(f"scheme path {key}={value!r} is not absolute")
        dirs[key] = os.path.normpath(value)
    for key in ("purelib", "platlib", "scripts", "data"):
        if key not in dirs:
            raise InstallError(f"scheme has no {key!r} path")
    return dirs


def _headers_dir(scheme_headers: str, archive: Archive) -> str:
    # pip installs headers to <include>/<project name>; accept a scheme that
    # already names the project (as pip's own scheme does) without doubling it.
    if canonical_name(os.path.basename(scheme_headers)) == archive.name:
        return scheme_headers
    return os.path.join(scheme_headers, archive.project_name())


def _read_head(path: str, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


class _Plan:
    def __init__(self, label: str) -> None:
        self.label = label
        # destination -> (source in the archive, its RECORD row in the environment);
        # tuples, not objects: a large install plans ten thousand of them.
        self.linked: dict[str, tuple[str, tuple[str, str, str]]] = {}
        self.fresh: dict[str, _Fresh] = {}

    def link(self, dst: str, src: str, row: tuple[str, str, str]) -> None:
        if dst in self.linked:
            raise InstallError(f"{self.label} installs {dst} twice")
        self.linked[dst] = (src, row)

    def add(self, item: _Fresh, *, replace: bool = False) -> None:
        if item.dst in self.fresh or item.dst in self.linked:
            if not replace:
                raise InstallError(f"{self.label} installs {item.dst} twice")
            self.linked.pop(item.dst, None)
        self.fresh[item.dst] = item

    def destinations(self) -> list[str]:
        return [*self.linked, *self.fresh]


def _plan(
    archive: Archive,
    dirs: Mapping[str, str],
    lib_dir: str,
    python_executable: str,
    python_version: tuple[int, int],
) -> _Plan:
    label = f"{archive.name} {archive.version}"
    plan = _Plan(label)
    root = str(archive.root) + os.sep
    lib_prefix = lib_dir.rstrip(os.sep) + os.sep
    data_prefix = archive.data_dir + "/"
    dist_info_prefix = archive.dist_info + "/"
    headers: str | None = None
    link = plan.link
    for row in archive.files:
        path = row[0]
        if not path.startswith((data_prefix, dist_info_prefix)):
            # Most files: from the archive root into the library directory, where
            # their RECORD row is the archive's own.
            link(lib_prefix + path, root + path, row)
            continue
        src = root + path
        if path.startswith(dist_info_prefix):
            if path[len(dist_info_prefix) :] not in GENERATED:
                link(lib_prefix + path, src, row)
            continue
        key, _, rest = path[len(data_prefix) :].partition("/")
        if key not in SCHEME_KEYS or not rest:
            raise InstallError(f"{label} has a file in an unknown scheme: {path}")
        if key == "headers":
            if "headers" not in dirs:
                raise InstallError(f"{label} installs headers, but the scheme has none")
            headers = headers or _headers_dir(dirs["headers"], archive)
            base = headers
        else:
            base = dirs[key]
        dst = os.path.join(base, rest)
        check_data_file(key, rest, label)
        if key == "scripts" and _read_head(src, 8) == b"#!python":
            with open(src, "rb") as fh:
                rewritten = rewrite_shebang(fh.read(), python_executable)
            assert rewritten is not None
            plan.add(_Fresh(dst, rewritten, executable=True))
            continue
        link(dst, src, (_record_path(dst, lib_dir, lib_prefix), row[1], row[2]))
    _add_launchers(plan, archive, dirs, python_executable, python_version)
    return plan


def _add_launchers(
    plan: _Plan,
    archive: Archive,
    dirs: Mapping[str, str],
    python_executable: str,
    python_version: tuple[int, int],
) -> None:
    entry_points = archive.read_dist_info_file("entry_points.txt")
    if entry_points:
        text = entry_points.decode("utf-8", "replace")
        for script in parse_entry_points(text, plan.label):
            name, data = generate_launcher(script, python_executable, python_version)
            # Like pip, the entry point wins over a same-named file from .data/scripts.
            plan.add(_Fresh(os.path.join(dirs["scripts"], name), data, True), replace=True)


def _write_fresh(data: bytes, executable: bool) -> Callable[[str], None]:
    mode = 0o755 if executable else 0o644

    def create(path: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            write_all(fd, data)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)

    return create


def parent_dirs(paths: Iterable[str]) -> set[str]:
    """``{os.path.dirname(p) for p in paths}``, for ten thousand paths at a time.

    Cutting at the last separator gives dirname's answer wherever it leaves a
    non-empty head that does not end in a separator; where it does not (or where
    there are two separators), dirname itself answers.
    """
    if os.altsep is not None:
        return {os.path.dirname(p) for p in paths}
    sep = os.sep
    heads = {p.rpartition(sep)[0] for p in paths}
    if all(head and head[-1] != sep for head in heads):
        return heads
    return {os.path.dirname(p) for p in paths}


def _record_path(path: str, lib_dir: str, lib_prefix: str) -> str:
    rel = path[len(lib_prefix) :] if path.startswith(lib_prefix) else os.path.relpath(path, lib_dir)
    return rel.replace(os.sep, "/")


def install_archive(
    archive_dir: Path | Archive,
    *,
    scheme: Mapping[str, str],
    python_executable: str,
    link_mode: str,
    python_version: tuple[int, int] = (3, 9),
    requested: bool = True,
    direct_url: Mapping[str, object] | None = None,
    installer: str = "cachedb",
) -> InstalledDist:
    """Install the unpacked wheel at ``archive_dir`` (or already read) into ``scheme``.

    Nothing is written before the whole install is validated, and a failure
    part-way removes what this call created (and restores what it replaced).
    Files of another installed version are not removed: uninstall it first.
    ``python_version`` is the target's (major, minor): launchers are written for it.
    """
    if link_mode not in LINK_MODES:
        raise UsageError(f"unknown link mode {link_mode!r}; choose one of {', '.join(LINK_MODES)}")
    if isinstance(archive_dir, Archive):
        archive = archive_dir
    else:
        archive = read_archive(Path(archive_dir).absolute())
    dirs = _scheme_dirs(scheme)
    lib_dir = dirs["purelib" if archive.root_is_purelib else "platlib"]
    lib_prefix = lib_dir.rstrip(os.sep) + os.sep
    # A launcher could only meet a linked file with the scripts inside the library.
    inside = (dirs["scripts"] + os.sep).startswith(lib_prefix)
    plain = None if inside else plain_rows(archive)
    if plain is None:
        check_folders(str(archive.root), parent_dirs(row[0] for row in archive.files))
        plan = _plan(archive, dirs, lib_dir, python_executable, python_version)
    else:
        plan = _Plan(f"{archive.name} {archive.version}")
        _add_launchers(plan, archive, dirs, python_executable, python_version)
    label = plan.label

    dist_info_dir = os.path.join(lib_dir, archive.dist_info)
    generated: dict[str, bytes] = {"INSTALLER": f"{installer}\n".encode()}
    if requested:
        generated["REQUESTED"] = b""
    if direct_url is not None:
        generated["direct_url.json"] = json.dumps(direct_url, sort_keys=True).encode()
    for filename, data in generated.items():
        plan.add(_Fresh(os.path.join(dist_info_dir, filename), data, executable=False))
    record_file = os.path.join(dist_info_dir, "RECORD")

    fresh = plan.fresh.values()
    if plain is None:
        destinations = plan.destinations()
    else:
        destinations = [*map(lib_prefix.__add__, plain.paths), *plan.fresh]
    journal = Journal()
    try:
        made = parent_dirs(destinations)
        if plain is not None:
            # The archive's folders are the library's: checked from the set made anyway.
            cut = len(lib_prefix)
            check_folders(str(archive.root), [d[cut:] for d in made if d.startswith(lib_prefix)])
        journal.make_dirs({dist_info_dir, *made})
        if plain is None:
            link_each(journal, ((dst, src) for dst, (src, _) in plan.linked.items()), link_mode)
        elif link_mode == "hardlink" and os.link in os.supports_dir_fd:
            link_plain(journal, str(archive.root), lib_dir, plain.paths)
        else:
            root = str(archive.root) + os.sep
            linked = destinations[: len(plain.paths)]
            link_each(journal, zip(linked, [root + p for p in plain.paths], strict=True), link_mode)
        for item in fresh:
            journal.place(item.dst, _write_fresh(item.data, item.executable))

        rows = [row for _, row in plan.linked.values()]
        rows += [
            (_record_path(i.dst, lib_dir, lib_prefix), record_hash(i.data), str(len(i.data)))
            for i in fresh
        ]
        rows.append((_record_path(record_file, lib_dir, lib_prefix), "", ""))
        record = format_record(rows)
        if plain is not None:
            # The archive's own rows come first, as the row-by-row path lists them.
            record = plain.rows.encode() + record
        # RECORD goes last: a dist-info with a RECORD is a complete install.
        journal.place(record_file, _write_fresh(record, executable=False))
    except OSError as exc:
        journal.rollback()
        where = f": {exc.filename}" if exc.filename else ""
        raise InstallError(f"cannot install {label}: {exc.strerror or exc}{where}") from exc
    except BaseException:
        journal.rollback()
        raise
    journal.commit()
    return InstalledDist(
        name=archive.name,
        version=archive.version,
        dist_info=Path(dist_info_dir),
        paths=(*destinations, record_file),
    )
