"""Linking an install into the environment: what is replaced or extraneous goes, then
every stored wheel is linked, split between this process and a fork."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from .forked import on_two_processes
from .options import InstallOptions
from .report import Reporter

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..store import Cache, InstallRecord
    from ..target import Interpreter
    from .environment import Environment
    from .materialize import Ready
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Linked(NamedTuple):
    """What linking changed: the installs to record, the (name, old version) removed, and
    when linking started (``time.perf_counter``)."""

    records: list[InstallRecord]
    removed: list[tuple[str, str]]
    started: float


def link_all(
    ready: list[Ready],
    extraneous: list[str],
    env: Environment,
    interp: Interpreter,
    opts: InstallOptions,
    cache: Cache,
    reporter: Reporter,
) -> Linked:
    """Uninstall the old versions of ``ready`` and the ``extraneous``, then link ``ready``."""
    from ..link import choose_link_mode, install_archive, read_archive, uninstall
    from ..store import InstallRecord

    started = time.perf_counter()
    warned: list[str] = []
    mode = choose_link_mode(
        opts.link_mode, cache.layout.archives, Path(interp.scheme["purelib"]), warned.append
    )
    for message in warned[:1]:
        reporter.warn(message)

    prefix = Path(interp.prefix)
    removed: list[tuple[str, str]] = []
    reporter.start("Installing", len(ready))
    for item in ready:
        old = env.installed.get(item.pin.name)
        if old is not None:
            uninstall(item.pin.name, interp.scheme, prefix)
            removed.append((item.pin.name, old[0]))
    for name in extraneous:
        uninstall(name, interp.scheme, prefix)
        removed.append((name, env.installed[name][0]))

    major, minor = interp.markers["python_version"].split(".")[:2]
    target_version = (int(major), int(minor))

    def link(item: Ready) -> None:
        # Read here, by the process that links it: reading every RECORD first, in this
        # process alone, kept the other one waiting.
        install_archive(
            read_archive(item.path.absolute()),
            scheme=interp.scheme,
            python_executable=interp.executable,
            python_version=target_version,
            link_mode=mode,
            requested=item.pin.requested,
            direct_url=item.direct_url,
        )
        reporter.advance(item.pin.name)

    # Heaviest first (the catalog knows each archive's number of files), so that neither
    # linking process is left alone with a large archive at the end.
    counts = cache.file_counts([item.archive_id for item in ready]) if len(ready) > 1 else {}
    weights = [counts.get(item.archive_id, 0) for item in ready]
    on_two_processes(link, ready, weights, "link")
    reporter.stop()
    records = [
        InstallRecord(item.archive_id, item.pin.name, str(item.pin.version), mode) for item in ready
    ]
    return Linked(records, removed, started)
