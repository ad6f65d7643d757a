"""Simple-repository pages (PEP 691 JSON, PEP 503 HTML) into Links. No I/O here."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from cachedb._redact import redact_url
from cachedb.errors import NetworkError
from cachedb.fetch._urls import safe_filename
from cachedb.index._link import Link

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse_page(body: bytes, content_type: str, page_url: str, source: str) -> list[Link]:
    """Links on a project page, in page order, as JSON or HTML by its content type."""
    if is_json(content_type):
        return parse_json_page(body, page_url, source)
    return parse_html_page(body, page_url, source, charset=_charset(content_type))


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _split_url(href: str, page_url: str) -> tuple[str, dict[str, str]] | None:
    """Absolute URL without fragment, and the hash named by a ``#<alg>=<hex>`` fragment.

    None for an href no URL parser accepts (``http://[``): such a link is skipped.
    """
    try:
        url, fragment = urldefrag(urljoin(page_url, href))
        urlsplit(url)
    except ValueError:
        return None
    hashes: dict[str, str] = {}
    alg, sep, digest = fragment.partition("=")
    if sep and alg and digest:
        hashes[alg.lower()] = digest.lower()
    return url, hashes


def _filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _metadata_attr(value: str | None) -> dict[str, str] | None:
    """``data-core-metadata``: absent → None, ``true`` → {}, ``<alg>=<hex>`` → that hash."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() == "false":
        return None
    alg, sep, digest = value.partition("=")
    if sep and alg and digest:
        return {alg.lower(): digest.lower()}
    return {}


def _metadata_json(value: object) -> dict[str, str] | None:
    if value is True:
        return {}
    if isinstance(value, Mapping):
        return {str(k).lower(): str(v).lower() for k, v in value.items()}
    return None


def _text_or_none(value: object) -> str | None:
    """A JSON field that must be a string; anything else from a hostile page is ignored."""
    return value if isinstance(value, str) and value else None


def parse_json_page(body: bytes, page_url: str, source: str) -> list[Link]:
    try:
        data: Any = json.loads(body)
        files = data.get("files", [])
        version = str(data.get("meta", {}).get("api-version", "1.0"))
    except (ValueError, AttributeError, RecursionError):
        raise NetworkError(f"{redact_url(page_url)} is not a valid PEP 691 JSON page") from None
    if version.split(".", 1)[0] != "1":
        raise NetworkError(
            f"{redact_url(page_url)} uses simple API version {version}; only 1.x is supported"
        )
    links = []
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            continue
        split = _split_url(entry["url"], page_url)
        if split is None:
            continue
        url, hashes = split
        filename = entry.get("filename")
        if not isinstance(filename, str):
            filename = _filename(url)
        if not safe_filename(filename):
            continue
        if isinstance(entry.get("hashes"), Mapping):
            hashes.update({str(k).lower(): str(v).lower() for k, v in entry["hashes"].items()})
        yanked = entry.get("yanked", False)
        # PEP 714 renamed the key; old servers only send the first spelling.
        meta = entry.get("core-metadata", entry.get("dist-info-metadata"))
        size = entry.get("size")
        links.append(
            Link(
                url=url,
                filename=filename,
                hashes=hashes,
                requires_python=_text_or_none(entry.get("requires-python")),
                yanked=yanked if isinstance(yanked, str) else ("" if yanked else None),
                metadata_hashes=_metadata_json(meta),
                source=source,
                size=size if isinstance(size, int) else None,
                upload_time=_text_or_none(entry.get("upload-time")),
            )
        )
    return links


def parse_html_page(
    body: bytes, page_url: str, source: str, *, charset: str = "utf-8"
) -> list[Link]:
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    from cachedb.index._html import AnchorCollector  # a JSON index never needs html.parser

    parser = AnchorCollector()
    parser.feed(text)
    parser.close()
    base = page_url
    if parser.base:
        # An unparseable <base> is ignored, as browsers do.
        with contextlib.suppress(ValueError):
            joined = urljoin(page_url, parser.base)
            urlsplit(joined)
            base = joined
    links = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        split = _split_url(href, base)
        if split is None:
            continue
        url, hashes = split
        filename = _filename(url)
        if not safe_filename(filename):
            continue
        yanked = (attrs["data-yanked"] or "") if "data-yanked" in attrs else None
        meta = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        if "data-core-metadata" in attrs or "data-dist-info-metadata" in attrs:
            meta = meta or "true"
        links.append(
            Link(
                url=url,
                filename=filename,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                metadata_hashes=_metadata_attr(meta),
                source=source,
            )
        )
    return links
