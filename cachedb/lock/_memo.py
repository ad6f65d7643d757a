"""Remembering a compile's output, so that the same request on unchanged inputs is
answered without importing the resolver, ``packaging`` or the index client.

A warm compile's output is a function of: the options (all of ``CompileOptions``,
the command line written into the header among them, and ``CACHEDB_INDEX_URL``)
and the working directory; the bytes of the input files and of the existing output
file (its pins are preferences); the target interpreter (its path, stamp and the
answer the interpreter cache holds for it, which the full compile then uses); the
index pages it read from the page cache, each only while fresh by its ``max-age``
(the rule under which ``index/_pages`` reads it without a request); and metadata
files, immutable by their hash. A memo keeps a digest of the first two exactly; the
interpreter's three; and each page file's header line (URL, validators, fetch
time) and size, with the page's freshness. Any difference, or a page past its
lifetime, and the full compile runs.

Nothing is remembered when the answer rested on anything else or cannot be proven
unchanged: a request to the network (a page revalidated, metadata or a file
fetched), a metadata not from an index's file or the same cached wheel (an sdist
built, a direct reference), find-links or an index on disk, an upgrade, refresh,
offline or no-build run, input files holding options (``-r``, ``-c``...) or ``$``,
standard input, an input file changed within ``SETTLED`` of the run, a pylock, or
an interpreter the interpreter cache has no current answer for.
``tests/test_compile_memo.py`` compares remembered and full compiles.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._memo import NotRegular, plain_text, read_memo, read_regular, settled, status, write_memo

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..index import IndexClient
    from ..install.finder import CandidateFinder
    from ..install.report import Reporter
    from ..store.layout import Layout
    from ._options import CompileOptions
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple

FORMAT = 1
_PREFIX = "compile-"
_METADATA_FROM = frozenset({"Indexed", "Cached"})  # a wheel's own METADATA, by its hash


class Key(NamedTuple):
    """What a compile was asked, as read at its start."""

    digest: str
    inputs: dict[str, list[int] | None]  # each input file's status when read
    output: bytes | None  # the existing output file, the very bytes its pins are read from
    interpreter: list[Any]  # the target's path, stamp and the interpreter cache's answer
    started: int  # ns


def may_remember(opts: CompileOptions) -> bool:
    """Whether nothing in the options makes the answer rest on what a memo does not keep."""
    install = opts.install
    urls = [install.index_url or _index_url_variable() or "https:", *install.extra_index_urls]
    return not (
        install.upgrade
        or opts.upgrade_packages
        or install.refresh
        or install.refresh_packages
        or install.offline
        or install.no_build
        or install.no_binary
        or install.only_binary
        or install.remote
        or install.find_links
        or not all(url.lower().startswith(("http://", "https://")) for url in urls)
        or opts.format == "pylock.toml"
        or (opts.output is not None and _pylock_name(opts.output))
        or "-" in (*opts.sources, *opts.overrides, *install.constraint_files)
        or any(_pylock_name(source) for source in opts.sources)
    )


def _index_url_variable() -> str | None:
    """The index the sources fall back on when no option names one."""
    from ..install.options import INDEX_URL_ENV

    return os.environ.get(INDEX_URL_ENV)


def _pylock_name(path: str) -> bool:
    name = os.path.basename(path)
    return name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml"))


def key(opts: CompileOptions) -> Key | None:
    """The request as a digest, with the statuses the full compile must leave unchanged;
    None if an input file cannot be remembered."""
    from .. import __version__
    from .._digest import sha256_hex

    started = time.time_ns()
    texts: dict[str, str | None] = {}
    statuses: dict[str, list[int] | None] = {}
    try:
        for name in (*opts.sources, *opts.overrides, *opts.install.constraint_files):
            data, found = read_regular(name)
            text = None if data is None else data.decode("utf-8", "surrogateescape")
            pyproject = os.path.basename(name) == "pyproject.toml"
            if text is not None and not pyproject and not plain_text(text):
                return None
            texts[name], statuses[name] = text, found
        output = None
        if opts.output is not None and opts.output != "-":
            output = read_regular(opts.output)[0]
    except NotRegular:
        return None
    interpreter = _interpreter(opts)
    if interpreter is None:
        return None
    request = {
        "format": FORMAT,
        "cachedb": __version__,
        "options": repr(opts),
        "cwd": os.getcwd(),
        "index_url_variable": _index_url_variable(),
        "inputs": texts,
        "output": None if output is None else output.decode("utf-8", "surrogateescape"),
    }
    digest = sha256_hex(json.dumps(request, sort_keys=True).encode("utf-8", "surrogateescape"))
    return Key(digest, statuses, output, interpreter, started)


def _memo_file(layout: Layout, digest: str) -> Path:
    return layout.interpreters / f"{_PREFIX}{digest[:32]}.json"


def _layout(opts: CompileOptions) -> Layout:
    from ..store.layout import Layout

    return Layout.of(opts.install.cache_dir)


def _interpreter(opts: CompileOptions) -> list[Any] | None:
    """The target interpreter (found as the full compile finds it), its stamp and the
    answer the interpreter cache holds for it, still valid; None if it holds none (a
    shim, a changed venv...): then the full compile asks the interpreter itself."""
    from ..errors import CachedbError
    from ..target import cache
    from ._target import target_python

    try:
        exe = target_python(opts)
    except CachedbError:
        return None  # the full compile says why
    stamp = cache.stamp_executable(exe)
    if stamp is None:
        return None
    answer = cache.load(_layout(opts).interpreters, exe, stamp)
    if answer is None:
        return None
    return [exe, json.loads(json.dumps(stamp)), json.loads(answer.to_json())]


def replay(opts: CompileOptions, reporter: Reporter) -> int | None:
    """Write the remembered output if everything it rested on is unchanged; None if not."""
    if not may_remember(opts):
        return None
    started = time.perf_counter()
    try:
        found = key(opts)
        if found is None:
            return None
        layout = _layout(opts)
        layout.check()
        memo = read_memo(_memo_file(layout, found.digest))
        if memo is None or memo.get("format") != FORMAT or memo.get("key") != found.digest:
            return None
        if found.interpreter != memo.get("interpreter"):
            return None
        if not _pages_unchanged(memo.get("pages"), time.time()):
            return None
        text, packages = memo["text"], memo["packages"]
        if not isinstance(text, str) or not isinstance(packages, int):
            return None
    except Exception:  # noqa: BLE001 - whatever fails here, the full compile says in its words
        return None
    from ..install.report import count, duration
    from ._output import write_output

    write_output(opts, text)
    elapsed = time.perf_counter() - started
    reporter.info(f"Resolved {count(packages)} in {duration(elapsed)}")
    return 0


def _pages_unchanged(pages: object, now: float) -> bool:
    """Whether each remembered page file is still the one read and still fresh."""
    if not isinstance(pages, list):
        return False
    for path, header, size, fetched, max_age in pages:
        if not (now - fetched) < max_age:  # CachedPage.fresh, to the letter
            return False
        if _page_file(path) != [header, size]:
            return False
    return True


def _page_file(path: str) -> list[Any] | None:
    """A page file's header line and size."""
    try:
        with open(path, "rb") as fh:
            header = fh.readline()
            return [header.decode("utf-8", "surrogateescape"), os.fstat(fh.fileno()).st_size]
    except OSError:
        return None


def remember(
    opts: CompileOptions, found: Key, pages: list[list[Any]] | None, text: str, packages: int
) -> None:
    """Keep the output, if everything it rested on (``pages``: ``rested_on``'s) can be
    checked next time."""
    try:
        if pages is None or not _inputs_unchanged(found):
            return
        interpreter = _interpreter(opts)
        if interpreter != found.interpreter:
            return  # changed while the compile ran: which one did it ask?
        assert interpreter is not None
        layout = _layout(opts)
        memo = {
            "format": FORMAT,
            "key": found.digest,
            "interpreter": interpreter,
            "pages": pages,
            "text": text,
            "packages": packages,
        }
        layout.interpreters.mkdir(parents=True, exist_ok=True)
        write_memo(_memo_file(layout, found.digest), memo)
    except Exception:  # noqa: BLE001, S110 - a memo only saves time; the output is written
        pass


def _inputs_unchanged(found: Key) -> bool:
    """Whether every input file is as the key read it, and had settled before the run:
    then the full compile read those very bytes."""
    return all(
        status(name) == before and settled(before, found.started)
        for name, before in found.inputs.items()
    )


def rested_on(index: IndexClient | None, finder: CandidateFinder) -> list[list[Any]] | None:
    """The page files the answer rested on, with what identifies each; None if it rested
    on anything else (a request, a build, a direct reference...)."""
    if index is None or not finder.metadata_kinds <= _METADATA_FROM:
        return None
    read = index.read_from_cache()
    if read is None:
        return None
    pages: list[list[Any]] = []
    for path, page, header, size in read:
        if page.max_age is None:
            return None
        # What the answer rested on, as it was read: a file rewritten since then differs
        # from it, and the memo is not replayed.
        pages.append([str(path), header, size, page.fetched, page.max_age])
    return pages


__all__ = ["Key", "key", "may_remember", "read_regular", "remember", "replay", "rested_on"]
