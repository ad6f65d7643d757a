"""Fresh virtual environments copied from one the stdlib ``venv`` made, per base interpreter.

``python -m venv`` costs a spawn of the base interpreter (some 40 ms) for a tree of a
few directories, links and text files in which only the venv's path and prompt
vary. So the stdlib makes the tree once, at a path and with a prompt chosen to be
found again, and every later venv of that interpreter is that tree with those two
strings replaced. A path or prompt that the stdlib would quote or escape in its
scripts cannot be replaced as plain text: such venvs are made by the stdlib each
time (``usable``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from cachedb.errors import UsageError
from cachedb.target.venv import run_stdlib_venv

# Bump when what a template holds changes meaning, so older templates are made again.
TEMPLATE_FORMAT = 1
# Strings no real venv path or prompt contains, found again in the made tree.
_SENTINEL_DIR = "cachedb-venv-template-dir-6b1f0d"
_SENTINEL_PROMPT = "cachedb-venv-template-prompt-6b1f0d"
# Characters every activate script and pyvenv.cfg writes as they are (no quoting).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.,+@%=:/-]+")
_PLAIN_PROMPT = re.compile(r"[A-Za-z0-9_.,+@%=:-]+")


def usable(path: Path, prompt: str | None) -> bool:
    """Whether a venv at ``path`` with ``prompt`` can be copied from a template."""
    text = str(path)
    return (
        os.name == "posix"
        and _PLAIN_PATH.fullmatch(text) is not None
        and _SENTINEL_DIR not in text
        and (prompt is None or (_PLAIN_PROMPT.fullmatch(prompt) is not None))
        and _SENTINEL_PROMPT not in (prompt or "")
    )


def _stamp(base: str) -> dict[str, Any] | None:
    """What the made tree depends on: the base executable, resolved, and its own pyvenv.cfg."""
    try:
        with open(base, "rb") as fh:
            if fh.read(2) == b"#!":
                # A wrapper script (a pyenv shim): what it runs can change without it.
                return None
        given = os.stat(base, follow_symlinks=False)
        resolved_path = os.path.realpath(base)
        resolved = os.stat(resolved_path)
    except OSError:
        return None
    cfg = os.path.join(os.path.dirname(os.path.dirname(resolved_path)), "pyvenv.cfg")
    own_cfg = os.path.join(os.path.dirname(os.path.dirname(base)), "pyvenv.cfg")
    cfgs: list[int | None] = []
    for candidate in (cfg, own_cfg):
        try:
            cfgs.append(os.stat(candidate).st_mtime_ns)
        except OSError:
            cfgs.append(None)
    return {
        "format": TEMPLATE_FORMAT,
        "base": base,
        "given": [given.st_mtime_ns, given.st_size],
        "resolved": [resolved_path, resolved.st_mtime_ns, resolved.st_size],
        "pyvenv_cfg": cfgs,
    }


def _template_dir(templates: Path, base: str, prompted: bool) -> Path:
    import hashlib

    digest = hashlib.sha256(base.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return templates / f"venv-tree-{digest}-{'prompt' if prompted else 'plain'}"


def _load(directory: Path, stamp: dict[str, Any]) -> dict[str, Any] | None:
    try:
        record = json.loads((directory / "template.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("stamp") != stamp:
        return None
    if not isinstance(record.get("origin"), str) or not (directory / _SENTINEL_DIR).is_dir():
        return None
    return record


def _make(
    directory: Path, base: str, prompted: bool, stamp: dict[str, Any]
) -> dict[str, Any] | None:
    """Have the stdlib make the template and put it in place; the template now in place."""
    work = directory.with_name(f".{directory.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    work.mkdir(parents=True)
    try:
        origin = work / _SENTINEL_DIR
        run_stdlib_venv(base, origin, prompt=_SENTINEL_PROMPT if prompted else None)
        record = {"stamp": stamp, "origin": str(origin), "entries": _entries(origin)}
        (work / "template.json").write_text(json.dumps(record, sort_keys=True), "utf-8")
        if _load(directory, stamp) is None and directory.exists():
            # A stale template (its interpreter changed): moved aside, then removed.
            old = directory.with_name(f".{directory.name}.{os.getpid()}.old")
            with contextlib.suppress(OSError):
                os.rename(directory, old)
            shutil.rmtree(old, ignore_errors=True)
        # Failing: another process put its own (equal) template there first.
        with contextlib.suppress(OSError):
            os.rename(work, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # Whichever template is in place now, with the origin it was made at.
    return _load(directory, stamp)


def copy_template(templates: Path, base: str, path: Path, prompt: str | None) -> bool:
    """Fill the empty or missing directory ``path`` as ``base -m venv`` would; False if no
    template can serve (then nothing was written)."""
    stamp = _stamp(base)
    if stamp is None or not usable(path, prompt):
        return False
    directory = _template_dir(templates, base, prompt is not None)
    record = _load(directory, stamp)
    if record is None:
        try:
            record = _make(directory, base, prompt is not None, stamp)
        except (OSError, UsageError):
            return False  # the stdlib, run on the venv itself, will say what is wrong
        if record is None:
            return False
    origin: str = record["origin"]
    replacements = [(origin, str(path)), (_SENTINEL_DIR, path.name)]
    if prompt is not None:
        replacements.append((_SENTINEL_PROMPT, prompt))
    existed = path.exists()
    try:
        _copy_tree(directory / _SENTINEL_DIR, path, replacements)
        complete = _entries(path) == record.get("entries")
    except OSError:
        # The template went away under us (a process replacing a stale one), or the
        # target cannot be written: undo, and let the stdlib make the venv (or say why not).
        complete = False
    if not complete:
        _undo(path, existed)
        if _entries(directory / _SENTINEL_DIR) != record.get("entries"):
            shutil.rmtree(directory, ignore_errors=True)  # damaged: made again next time
        return False
    return True


def _entries(root: Path) -> list[str]:
    """Every file, link and directory under ``root``, relative to it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        found += [os.path.normpath(os.path.join(rel, n)) for n in [*dirnames, *filenames]]
    return sorted(found)


def _undo(path: Path, existed: bool) -> None:
    if not existed:
        shutil.rmtree(path, ignore_errors=True)
        return
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _raise(error: OSError) -> None:
    raise error


def _replace(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def _copy_tree(source: Path, target: Path, replacements: list[tuple[str, str]]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # Every error counts: a template missing a part must not make a venv missing it.
    for dirpath, dirnames, filenames in os.walk(source, onerror=_raise):
        rel = os.path.relpath(dirpath, source)
        out_dir = target if rel == "." else target / rel
        for name in [*dirnames, *filenames]:
            src = os.path.join(dirpath, name)
            dst = out_dir / name
            if os.path.islink(src):
                os.symlink(_replace(os.readlink(src), replacements), dst)
            elif os.path.isdir(src):
                dst.mkdir()
            else:
                data = Path(src).read_bytes()
                # Not UTF-8: a copied executable, in which nothing names the venv.
                with contextlib.suppress(UnicodeDecodeError):
                    data = _replace(data.decode("utf-8"), replacements).encode("utf-8")
                dst.write_bytes(data)
                # As the stdlib does for its scripts: the template's mode, not the umask's.
                os.chmod(dst, os.stat(src).st_mode & 0o7777)
