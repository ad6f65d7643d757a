"""pip's installation report (``--report``, format version "1"): what an install chose.

Each entry carries where the wheel comes from (PEP 610 ``download_info``), whether
it was named directly, yanked or requested, and its core metadata in the JSON form
of PEP 566.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..resolve import Pin
    from ..store import Cache
    from ..target import Interpreter
    from .finder import CandidateFinder
    from .materialize import Ready

# PEP 566: fields that may appear more than once become lists.
_MULTIPLE = frozenset(
    {
        "classifier",
        "dynamic",
        "import_name",
        "import_namespace",
        "license_file",
        "obsoletes_dist",
        "platform",
        "project_url",
        "provides_dist",
        "provides_extra",
        "requires_dist",
        "requires_external",
        "supported_platform",
    }
)


def metadata_json(data: bytes) -> dict[str, Any]:
    """Core metadata as PEP 566 JSON: lower-case keys with ``_``, lists for repeatable fields."""
    from email.parser import BytesParser
    from email.policy import compat32

    message = BytesParser(policy=compat32).parsebytes(data)
    out: dict[str, Any] = {}
    for key, value in message.items():
        name = key.lower().replace("-", "_")
        text = str(value)
        if name in _MULTIPLE:
            out.setdefault(name, []).append(text)
        elif name == "keywords":
            out[name] = [k.strip() for k in text.split(",")] if "," in text else text.split()
        elif name not in out:
            out[name] = text
    body = message.get_payload()
    if isinstance(body, str) and body:
        out["description"] = body
    return out


def entry(
    *,
    download_info: Mapping[str, object],
    is_direct: bool,
    is_yanked: bool,
    requested: bool,
    extras: frozenset[str],
    metadata: bytes,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "download_info": dict(download_info),
        "is_direct": is_direct,
        "is_yanked": is_yanked,
        "requested": requested,
        "metadata": metadata_json(metadata),
    }
    if requested and extras:
        item["requested_extras"] = sorted(extras)
    return item


def write(destination: str, entries: list[dict[str, Any]], markers: Mapping[str, str]) -> None:
    """The report to ``destination`` (a file path, or ``-`` for standard output)."""
    from pathlib import Path

    report = {"version": "1", "install": entries, "environment": dict(markers)}
    text = json.dumps(report, indent=2, sort_keys=False) + "\n"
    if destination == "-":
        sys.stdout.write(text)
        return
    Path(destination).write_text(text, encoding="utf-8")


def write_report(
    destination: str,
    pins: list[Pin],
    finder: CandidateFinder,
    interp: Interpreter,
    cache: Cache,
    ready: list[Ready] | None,
) -> None:
    """The report of ``pins`` (``ready``: their wheels, once stored) to ``destination``."""
    from .._redact import redact_url
    from .sources import Built, Cached, Direct, Indexed, Sdist

    direct_urls = {item.pin.name: item.direct_url for item in ready or []}
    entries = []
    for pin in pins:
        source = pin.candidate.source
        info: dict[str, object]
        link = source.link if isinstance(source, Indexed | Sdist | Cached) else None
        if link is not None:
            info = {"url": redact_url(link.url)}
            hashes = dict(link.hashes)
            if isinstance(source, Cached):
                hashes.setdefault("sha256", source.wheel.archive_id)  # the wheel's digest
            archive: dict[str, object] = {"hashes": hashes} if hashes else {}
            if "sha256" in hashes:
                archive["hash"] = f"sha256={hashes['sha256']}"
            info["archive_info"] = archive
        elif isinstance(source, Cached):
            # Offline, no source offered it: the cache's unpacked wheel is all there is.
            info = {
                "url": cache.archive_path(source.wheel.archive_id).as_uri(),
                "archive_info": {"hashes": {"sha256": source.wheel.archive_id}},
            }
        elif direct_urls.get(pin.name) is not None:
            info = dict(direct_urls[pin.name] or {})
        else:
            url = source.url if isinstance(source, Direct) else ""
            info = {"url": redact_url(url)}
        entries.append(
            entry(
                download_info=info,
                is_direct=isinstance(source, Direct | Built),
                is_yanked=pin.candidate.yanked,
                requested=pin.requested,
                extras=pin.extras,
                metadata=finder.metadata(pin.candidate),
            )
        )
    write(destination, entries, interp.markers)
