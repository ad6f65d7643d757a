"""Hide credentials embedded in URLs before they reach a message or a log."""

from __future__ import annotations

import re

# Everything between "scheme://" and the last "@" of the authority is userinfo:
# passwords containing a raw "@" are common in hand-written requirement lines.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@")


# A URL's query (up to its fragment or the end of the URL): signed and token URLs
# (`x.whl?token=...`) carry their secret there.
_QUERY = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^?#\s]*)\?[^#\s]*")


def redact_url(url: str) -> str:
    """Return ``url`` (or any text containing URLs) with ``user:password@`` as ``****@``
    and any query as ``?****``."""
    return _QUERY.sub(r"\g<head>?****", _USERINFO.sub(r"\g<scheme>****@", url))
