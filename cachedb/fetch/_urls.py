"""URL helpers that keep credentials out of anything a person can read."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

REDACTED = "****"


def redact_url(url: str) -> str:
    """``url`` with any ``user[:password]@`` replaced by ``****@``, and its query by ``****``.

    Tokens are often passed as the user name alone, so the whole userinfo goes;
    signed and token URLs (``x.whl?token=...``) carry theirs in the query.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if "@" not in parts.netloc and not parts.query:
        return url
    if "@" in parts.netloc:
        parts = parts._replace(netloc=f"{REDACTED}@{parts.netloc.rpartition('@')[2]}")
    if parts.query:
        parts = parts._replace(query=REDACTED)
    return urlunsplit(parts)


def storable_url(url: str) -> str:
    """``url`` as it may be written to disk: without credentials, query or fragment."""
    try:
        parts = urlsplit(strip_credentials(url))
    except ValueError:
        return REDACTED
    return urlunsplit(parts._replace(query="", fragment=""))


def scrub(text: str, url: str) -> str:
    """Remove ``url``'s credentials from ``text`` (e.g. a library's exception message)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    text = text.replace(url, redact_url(url))
    for secret in (parts.password, parts.username, parts.query):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def local_path(url: str) -> str | None:
    """The filesystem path of a ``file:`` URL, else None."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
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
