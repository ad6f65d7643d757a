"""Find installed distributions and remove one by its RECORD."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .._names import canonical_name
from ..errors import InstallError


def _lib_dirs(scheme: Mapping[str, str]) -> list[str]:
    dirs: list[str] = []
    for key in ("purelib", "platlib"):
        value = scheme.get(key)
        if value and os.path.normpath(value) not in dirs:
            dirs.append(os.path.normpath(value))
    return dirs


def _name_version(dist_info: str) -> tuple[str, str] | None:
    name, sep, version = os.path.basename(dist_info)[: -len(".dist-info")].rpartition("-")
    if sep and name and version:
        return name, version
    # Not named "<name>-<version>.dist-info": fall back to its METADATA.
    try:
        from email.parser import HeaderParser

        with open(os.path.join(dist_info, "METADATA"), encoding="utf-8") as fh:
            meta = HeaderParser().parse(fh)
    except (OSError, UnicodeDecodeError):
        return None
    if meta.get("Name") and meta.get("Version"):
        return str(meta["Name"]), str(meta["Version"])
    return None


def installed_distributions(scheme: Mapping[str, str]) -> dict[str, tuple[str, Path]]:
    """Canonical name -> (version, dist-info directory) for every dist in purelib/platlib."""
    found: dict[str, tuple[str, Path]] = {}
    for lib in _lib_dirs(scheme):
        try:
            entries = list(os.scandir(lib))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise InstallError(f"cannot list {lib}: {exc.strerror}") from exc
        for entry in sorted(entries, key=lambda e: e.name):
            if not entry.name.endswith(".dist-info") or not entry.is_dir():
                continue
            if not os.path.exists(os.path.join(entry.path, "RECORD")):
                # RECORD is written last: without it, an install was interrupted
                # and the next one must redo it rather than take it as done.
                continue
            parsed = _name_version(entry.path)
            if parsed is not None:
                found.setdefault(canonical_name(parsed[0]), (parsed[1], Path(entry.path)))
    return found


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _compiled_files(py_files: list[str]) -> list[str]:
    """Bytecode that the environment's Python wrote next to installed modules."""
    by_dir: dict[str, set[str]] = {}
    for path in py_files:
        head, tail = os.path.split(path)
        by_dir.setdefault(head, set()).add(tail[:-3])
    compiled: list[str] = []
    for directory, modules in by_dir.items():
        cache = os.path.join(directory, "__pycache__")
        try:
            names = os.listdir(cache)
        except OSError:
            continue
        for name in names:
            # "<module>.<tag>[.opt-N].pyc"
            if name.endswith(".pyc") and name.split(".", 1)[0] in modules:
                compiled.append(os.path.join(cache, name))
    return compiled


def uninstall(name: str, scheme: Mapping[str, str], prefix: Path) -> list[Path]:
    """Remove the distribution ``name`` from ``scheme``; return the paths removed.

    Returns an empty list if it is not installed. Every RECORD path is checked
    before anything is removed: one that resolves outside ``prefix`` refuses the
    whole uninstall.
    """
    dist = installed_distributions(scheme).get(canonical_name(name))
    if dist is None:
        return []
    version, dist_info = dist
    label = f"{canonical_name(name)} {version}"
    lib_dir = str(dist_info.parent)
    real_prefix = os.path.realpath(prefix)
    from .records import read_record  # not on a nothing-to-do install's path

    rows = read_record(dist_info / "RECORD")

    files: list[str] = []
    for path, _, _ in rows:
        full = os.path.normpath(os.path.join(lib_dir, path))
        parent, base = os.path.split(full)
        # The parent is resolved (a symlinked directory could lead anywhere); the
        # file is not, because symlink-mode installs point into the cache by design.
        if base in ("", ".", "..") or not _inside(os.path.realpath(parent), real_prefix):
            raise InstallError(
                f"refusing to uninstall {label}: its RECORD lists {path!r}, outside {prefix}"
            )
        files.append(full)
    files += _compiled_files([f for f in files if f.endswith(".py")])

    removed: list[Path] = []
    for path in files:
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        except IsADirectoryError:
            raise InstallError(f"cannot uninstall {label}: {path} is a directory") from None
        except OSError as exc:
            raise InstallError(f"cannot uninstall {label}: {exc.strerror}: {path}") from exc
        removed.append(Path(path))
    if dist_info.is_dir():
        # Anything left in the dist-info was added after install; it is the dist's alone.
        import shutil

        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(dist_info)

    stops = {os.path.normpath(v) for v in scheme.values()} | {os.path.normpath(prefix)}
    removed += _prune_empty_dirs({os.path.dirname(p) for p in files}, stops, real_prefix)
    return removed


def _prune_empty_dirs(dirs: set[str], stops: set[str], real_prefix: str) -> list[Path]:
    candidates: set[str] = set()
    for directory in dirs:
        while directory not in stops and directory != os.path.dirname(directory):
            candidates.add(directory)
            directory = os.path.dirname(directory)
    removed: list[Path] = []
    for directory in sorted(candidates, key=len, reverse=True):
        real = os.path.realpath(directory)
        if real == real_prefix or not _inside(real, real_prefix):
            continue
        try:
            os.rmdir(directory)
        except OSError:
            continue
        removed.append(Path(directory))
    return removed
