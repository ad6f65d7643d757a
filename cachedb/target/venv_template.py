"""Fresh virtual environments copied from one the stdlib ``venv`` made, per base interpreter.

``python -m venv`` costs a spawn of the base interpreter (some 40 ms) for a tree of a
few directories, links and text files in which only the venv's path and prompt
vary. So the stdlib makes the tree once, at a path and with a prompt chosen to be
found again, and every later venv of that interpreter is that tree with those two
strings replaced. A path or prompt that the stdlib would quote or escape in its
scripts cannot be replaced as plain text: such venvs are made by the stdlib each
time (``usable``).

This module is most of what a warm ``cachedb venv`` runs, so it sticks to ``os``:
no ``pathlib``, ``shutil`` only to undo, and one ``open`` per file read or written.
"""

from __future__ import annotations

import contextlib
import os
import re

from cachedb._digest import sha256_hex
from cachedb._fdio import read_nofollow, write_all
from cachedb.errors import UsageError
from cachedb.target.venv import run_stdlib_venv

# Bump when what a template holds changes meaning, so older templates are made again.
TEMPLATE_FORMAT = 2
# Strings no real venv path or prompt contains, found again in the made tree.
_SENTINEL_DIR = "cachedb-venv-template-dir-6b1f0d"
_SENTINEL_PROMPT = "cachedb-venv-template-prompt-6b1f0d"
# Characters every activate script and pyvenv.cfg writes as they are (no quoting).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.,+@%=:/-]+")
_PLAIN_PROMPT = re.compile(r"[A-Za-z0-9_.,+@%=:-]+")
# What the template was made from and what it holds: fields separated by NUL (which no
# path holds), read without the json module. Format 1 was a template.json.
_RECORD = "template.rec"
_MAGIC = f"cachedb venv template {TEMPLATE_FORMAT}"
_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)

StrPath = str | os.PathLike[str]


def usable(path: StrPath, prompt: str | None) -> bool:
    """Whether a venv at ``path`` with ``prompt`` can be copied from a template."""
    text = os.fspath(path)
    return (
        os.name == "posix"
        and _PLAIN_PATH.fullmatch(text) is not None
        and _SENTINEL_DIR not in text
        and (prompt is None or (_PLAIN_PROMPT.fullmatch(prompt) is not None))
        and _SENTINEL_PROMPT not in (prompt or "")
    )


# A template's record: what it was made from (the stamp), where the stdlib made it (the
# origin, as the stdlib wrote that path into the files) and every entry it holds.
_Record = tuple[list[str], str, list[str]]


def _encode(stamp: list[str], origin: str, entries: list[str]) -> bytes:
    fields = [_MAGIC, str(len(stamp)), *stamp, origin, *entries]
    return "\0".join(fields).encode("utf-8", "surrogateescape")


def _decode(data: bytes) -> _Record | None:
    fields = data.decode("utf-8", "surrogateescape").split("\0")
    if fields[0] != _MAGIC or len(fields) < 3 or not fields[1].isdigit():
        return None
    end = 2 + int(fields[1])
    if len(fields) <= end:
        return None
    return fields[2:end], fields[end], fields[end + 1 :]


def _stamp(base: str) -> list[str] | None:
    """What the made tree depends on: the base executable, resolved, and its own pyvenv.cfg."""
    try:
        fd = os.open(base, _READ)
        try:
            if os.read(fd, 2) == b"#!":
                # A wrapper script (a pyenv shim): what it runs can change without it.
                return None
        finally:
            os.close(fd)
        given = os.stat(base, follow_symlinks=False)
        resolved_path = os.path.realpath(base)
        resolved = os.stat(resolved_path)
    except OSError:
        return None
    cfg = os.path.join(os.path.dirname(os.path.dirname(resolved_path)), "pyvenv.cfg")
    own_cfg = os.path.join(os.path.dirname(os.path.dirname(base)), "pyvenv.cfg")
    cfgs: list[str] = []
    for candidate in (cfg, own_cfg):
        try:
            cfgs.append(str(os.stat(candidate).st_mtime_ns))
        except OSError:
            cfgs.append("-")
    return [
        base,
        str(given.st_mtime_ns),
        str(given.st_size),
        resolved_path,
        str(resolved.st_mtime_ns),
        str(resolved.st_size),
        *cfgs,
    ]


# A template's directory name, and the names a maker killed midway leaves behind (its
# work tree, or a stale template it moved aside): gc/templates.py finds them by these.
TEMPLATE_NAME = re.compile(r"venv-tree-[0-9a-f]{32}-(?:plain|prompt)")
LEFTOVER_NAME = re.compile(
    r"\.venv-tree-[0-9a-f]{32}-(?:plain|prompt)\.[0-9]+(?:\.[0-9a-f]{8}\.tmp|\.old)"
)


def _template_dir(templates: str, base: str, prompted: bool) -> str:
    digest = sha256_hex(base.encode("utf-8", "surrogateescape"))[:32]
    return os.path.join(templates, f"venv-tree-{digest}-{'prompt' if prompted else 'plain'}")


def template_base(directory: str) -> str | None:
    """The base interpreter the template in ``directory`` was made from; None if it holds
    no record of this format (its record is never read through a link)."""
    try:
        record = _decode(read_nofollow(os.path.join(directory, _RECORD)))
    except OSError:
        return None
    return record[0][0] if record is not None and record[0] else None


def _load(directory: str, stamp: list[str]) -> _Record | None:
    # Planted as a link, the template (or its tree) would have venvs copied from outside.
    if os.path.islink(directory) or os.path.islink(os.path.join(directory, _SENTINEL_DIR)):
        return None
    try:
        record = _decode(read_nofollow(os.path.join(directory, _RECORD)))
    except OSError:
        return None
    if record is None or record[0] != stamp:
        return None
    origin = record[1]
    # Not as the stdlib wrote it into the files (an older cachedb kept a ``..``): the
    # origin would not be found in them again, so the template is made anew.
    if os.path.abspath(origin) != origin:
        return None
    if not os.path.isdir(os.path.join(directory, _SENTINEL_DIR)):
        return None
    return record


def _make(directory: str, base: str, prompted: bool, stamp: list[str]) -> _Record | None:
    """Have the stdlib make the template and put it in place; the template now in place."""
    import shutil

    name = os.path.basename(directory)
    work = os.path.join(
        os.path.dirname(directory), f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    )
    os.makedirs(work)
    try:
        origin = os.path.join(work, _SENTINEL_DIR)
        run_stdlib_venv(base, origin, prompt=_SENTINEL_PROMPT if prompted else None)
        with open(os.path.join(work, _RECORD), "wb") as fh:
            fh.write(_encode(stamp, origin, _entries(origin)))
        if _load(directory, stamp) is None and os.path.exists(directory):
            # A stale template (its interpreter changed): moved aside, then removed.
            old = os.path.join(os.path.dirname(directory), f".{name}.{os.getpid()}.old")
            with contextlib.suppress(OSError):
                os.rename(directory, old)
                if os.path.islink(old):
                    os.unlink(old)  # the link itself, never where it leads
            shutil.rmtree(old, ignore_errors=True)
        # Failing: another process put its own (equal) template there first.
        with contextlib.suppress(OSError):
            os.rename(work, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # Whichever template is in place now, with the origin it was made at.
    return _load(directory, stamp)


def copy_template(templates: StrPath, base: str, path: StrPath, prompt: str | None) -> bool:
    """Fill the empty or missing directory ``path`` as ``base -m venv`` would; False if no
    template can serve (then nothing was written)."""
    # As the stdlib names the venv (``abspath``: ``..`` taken out lexically).
    target = os.path.abspath(path)
    templates = os.fspath(templates)
    stamp = _stamp(base)
    # The stdlib would make the template at the abspath of where it is asked to, which is
    # another place than the cache's when a link comes before a ``..``: such caches are
    # served by the stdlib.
    if stamp is None or not usable(target, prompt) or os.path.abspath(templates) != templates:
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
    _, origin, entries = record
    replacements = [(origin, target), (_SENTINEL_DIR, os.path.basename(target))]
    if prompt is not None:
        replacements.append((_SENTINEL_PROMPT, prompt))
    existed = os.path.exists(target)
    source = os.path.join(directory, _SENTINEL_DIR)
    try:
        # What was copied is what the template holds now: the same as when it was made,
        # unless it was damaged since.
        complete = _copy_tree(source, target, replacements) == entries
    except OSError:
        # The template went away under us (a process replacing a stale one), or the
        # target cannot be written: undo, and let the stdlib make the venv (or say why not).
        complete = False
    if not complete:
        import shutil

        _undo(target, existed)
        if _entries(source) != entries:
            shutil.rmtree(directory, ignore_errors=True)  # damaged: made again next time
        return False
    return True


def _entries(root: str) -> list[str]:
    """Every file, link and directory under ``root``, relative to it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        found += [os.path.normpath(os.path.join(rel, n)) for n in [*dirnames, *filenames]]
    return sorted(found)


def _undo(path: str, existed: bool) -> None:
    import shutil

    if not existed:
        shutil.rmtree(path, ignore_errors=True)
        return
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def _replace(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def _read_fd(fd: int, size: int) -> bytes:
    """All of ``fd``'s file (``size`` bytes as it was stat'ed; more if it grew)."""
    chunks = [os.read(fd, size + 1)]
    while chunks[-1]:
        chunks.append(os.read(fd, 1 << 16))
    return b"".join(chunks)


def _copy_tree(source: str, target: str, replacements: list[tuple[str, str]]) -> list[str]:
    """Copy ``source`` into ``target`` (made if missing); every entry copied, relative to
    ``source`` and sorted, as ``_entries`` lists them."""
    os.makedirs(target, exist_ok=True)
    copied: list[str] = []
    # Every error counts: a template missing a part must not make a venv missing it.
    pending = [("", source, target)]
    while pending:
        rel, src_dir, dst_dir = pending.pop()
        with os.scandir(src_dir) as entries:
            listed = list(entries)
        for entry in listed:
            name = entry.name
            copied.append(os.path.join(rel, name) if rel else name)
            dst = os.path.join(dst_dir, name)
            if entry.is_symlink():
                os.symlink(_replace(os.readlink(entry.path), replacements), dst)
            elif entry.is_dir():
                os.mkdir(dst)
                pending.append((copied[-1], entry.path, dst))
            else:
                _copy_file(entry.path, dst, replacements)
    return sorted(copied)


def _copy_file(src: str, dst: str, replacements: list[tuple[str, str]]) -> None:
    fd = os.open(src, _READ | getattr(os, "O_NOFOLLOW", 0))  # a link is copied as a link
    try:
        info = os.fstat(fd)
        data = _read_fd(fd, info.st_size)
    finally:
        os.close(fd)
    # Not UTF-8: a copied executable, in which nothing names the venv.
    with contextlib.suppress(UnicodeDecodeError):
        data = _replace(data.decode("utf-8"), replacements).encode("utf-8")
    out = os.open(dst, _WRITE, 0o666)
    try:
        write_all(out, data)
        # As the stdlib does for its scripts: the template's mode, not the umask's.
        os.fchmod(out, info.st_mode & 0o7777)
    finally:
        os.close(out)
