"""pip's installation report (``--report``, format version "1"): what an install chose.

Each entry carries where the wheel comes from (PEP 610 ``download_info``), whether
it was named directly, yanked or requested, and its core metadata in the JSON form
of PEP 566.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

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
