"""Hide the credentials in URLs: in one URL, or in any text that holds URLs.

The one redactor. Whatever may show a URL to a person (an error message, the
command line recorded in an event row, ``cachedb info``, a lock file's header)
passes it, or the whole message, through ``redact_url``. What may be a secret
goes, whatever its form:

- the userinfo: ``user:password@`` and a token given alone as the user name
  both become ``****@``;
- the query (signed and token URLs carry their secret there) becomes ``?****``.

The fragment stays (``#sha256=...``, ``#egg=...`` name no secret), and so does
an ``@`` in a path (``https://host/a@b``). A URL that does not parse loses what
might be userinfo rather than keeping it: a port that is not a number means a
``/``, ``?`` or ``#`` in a password cut the authority short, so everything up
to the last ``@`` goes. Without a scheme, ``user:password@host``,
``token@host/path`` and ``//userinfo@host`` lose their userinfo too; a bare
``name@example.org`` (an e-mail address) is not taken for one.
"""

from __future__ import annotations

import re

REDACTED = "****"

# Messages put URLs between quotes or angle brackets, which a URL never holds
# unescaped, and between spaces; each such run is one token.
_TOKEN = re.compile(r"[^\s\"'<>`]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
# Where an authority that has no "@" of its own may begin inside a scheme-less token.
_LEADS = "=(,;"


def redact_url(text: str) -> str:
    """``text`` (a URL, or a message with URLs in it) with userinfo and queries hidden."""
    if "@" not in text and "?" not in text:
        return text  # nothing to hide: the common case costs one scan
    return _TOKEN.sub(_token, text)


def _token(match: re.Match[str]) -> str:
    token = match.group()
    # Each "scheme://" starts a URL of its own (one URL may follow another, as in
    # an archive's link to a page), and what comes before the first one is not a URL.
    starts = [m.start() for m in _SCHEME.finditer(token)]
    if not starts:
        return _schemeless(token)
    pieces = [_schemeless(token[: starts[0]])]
    for start, end in zip(starts, [*starts[1:], len(token)], strict=True):
        pieces.append(_with_scheme(token[start:end]))
    return "".join(pieces)


def _with_scheme(url: str) -> str:
    head, _, rest = url.partition("://")
    authority = rest[: _authority_end(rest)]
    at = authority.rfind("@")
    if at < 0 and "@" in rest and not _host_port_valid(authority):
        at = rest.rfind("@")
    if at >= 0:
        return f"{head}://{REDACTED}@{_hide_query(rest[at + 1 :])}"
    return f"{head}://{_hide_query(rest)}"


def _schemeless(token: str) -> str:
    at = token.find("@")
    if at < 0:
        return _hide_query(token) if "/" in token.partition("?")[0] else token
    lead = max(token.rfind(c, 0, at) for c in _LEADS) + 1
    prefix, candidate = token[:lead], token[lead:]
    slashes = "//" if candidate.startswith("//") else ""
    candidate = candidate[len(slashes) :]
    authority = candidate[: _authority_end(candidate)]
    at = authority.rfind("@")
    if at < 0:
        return token  # the "@" is in a path
    userinfo, after = authority[:at], candidate[at + 1 :]
    if slashes or ":" in userinfo or "/" in after.partition("?")[0]:
        return f"{prefix}{slashes}{REDACTED}@{_hide_query(after)}"
    return token  # an e-mail address, or "name@" before a URL


def _authority_end(rest: str) -> int:
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    return min(ends, default=len(rest))


def _host_port_valid(authority: str) -> bool:
    """Whether ``authority`` (with no ``@``) is a host with, at most, a numeric port."""
    if authority.startswith("["):
        closed = authority.find("]")
        if closed < 0:
            return False
        port = authority[closed + 1 :]
        return port == "" or (port.startswith(":") and port[1:].isascii() and port[1:].isdigit())
    _, colon, port = authority.rpartition(":")
    return not colon or port == "" or (port.isascii() and port.isdigit())


def _hide_query(rest: str) -> str:
    query = rest.find("?")
    fragment = rest.find("#")
    if query < 0 or 0 <= fragment < query:
        return rest
    end = fragment if fragment > query else len(rest)
    if end == query + 1:
        return rest  # an empty query hides nothing
    return f"{rest[:query]}?{REDACTED}{rest[end:]}"
