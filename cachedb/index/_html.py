"""The anchors (and the ``<base>``) of a PEP 503 HTML page, by the standard library's parser.

A module of its own so that reading JSON pages never loads ``html.parser``.
"""

from __future__ import annotations

from html.parser import HTMLParser


class AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        # convert_charrefs also unescapes attribute values such as "&gt;=3.8".
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
