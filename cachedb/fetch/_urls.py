"""URL helpers that keep credentials out of anything a person can read."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from cachedb._redact import REDACTED, redact_url


def storable_url(url: str) -> str:
    """``url`` as it may be written to disk: without credentials, query or fragment."""
    return shareable_url(url).partition("#")[0]


def shareable_url(url: str) -> str:
    """``url`` as a file others read may hold it (a lock file): without credentials or
    query; the fragment (``#subdirectory=``, ``#sha256=``) kept, it names no secret."""
    try:
        parts = urlsplit(strip_credentials(url))
    except ValueError:
        return REDACTED
    return urlunsplit(parts._replace(query=""))


def scrub(text: str, url: str) -> str:
    """Remove ``url``'s credentials from ``text`` (e.g. a library's exception message)."""
    text = redact_url(text.replace(url, redact_url(url)))
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    for secret in (parts.password, parts.username, parts.query):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def local_path(url: str) -> str | None:
    """The filesystem path of a ``file:`` URL, else None."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    if os.name == "posix" and "%" not in parts.path and not parts.path.startswith("//"):
        # What url2pathname returns for such a path on every Python; importing it costs
        # urllib.request, http.client and ssl (~40M instructions).
        return parts.path
    from urllib.request import url2pathname

    return url2pathname(parts.path)


def strip_credentials(url: str) -> str:
    """``url`` without ``user[:password]@``: what may be written to disk."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def borrow_credentials(url: str, owner: str) -> str:
    """Give ``url`` the credentials of ``owner`` when both name the same host and port.

    Files linked from a private index usually need the index's credentials too; a
    file on another host must not receive them.
    """
    target, source = urlsplit(url), urlsplit(owner)
    if "@" in target.netloc or "@" not in source.netloc:
        return url
    same_origin = (target.scheme, target.hostname, target.port) == (
        source.scheme,
        source.hostname,
        source.port,
    )
    if not same_origin:
        return url
    userinfo = source.netloc.rpartition("@")[0]
    return urlunsplit(target._replace(netloc=f"{userinfo}@{target.netloc}"))


def safe_filename(filename: str) -> bool:
    """A name that stays inside the destination directory."""
    return (
        bool(filename)
        and filename not in (".", "..")
        and not any(sep in filename for sep in ("/", "\\", "\0"))
    )
