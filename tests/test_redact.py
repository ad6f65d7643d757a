"""The one redactor: credentials never reach a message, on well-formed URLs, malformed
ones, and URLs inside free text."""

from __future__ import annotations

import pytest

from cachedb._redact import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@host:8080/simple/", "https://****@host:8080/simple/"),
        ("https://token@host/x", "https://****@host/x"),
        ("https://host/x", "https://host/x"),
        ("https://u:p@host/x.whl?token=t&a=1#frag", "https://****@host/x.whl?****#frag"),
        ("https://u:p@x@host/a?b=c@d", "https://****@host/a?****"),
        ("https://host?token=t", "https://host?****"),
        ("https://host/x?", "https://host/x?"),
        ("https://host/x#frag?not-a-query", "https://host/x#frag?not-a-query"),
        (
            "git+https://tok@github.com/o/r.git@v1#egg=r",
            "git+https://****@github.com/o/r.git@v1#egg=r",
        ),
        ("postgresql://user:hunter2@db/cache", "postgresql://****@db/cache"),
        (
            "postgresql://tok3n@db:5432/cache?sslmode=require",
            "postgresql://****@db:5432/cache?****",
        ),
        ("sqlite:////home/a@b/cache.sqlite3", "sqlite:////home/a@b/cache.sqlite3"),
        ("file:///wheels/a@b/x.whl", "file:///wheels/a@b/x.whl"),
    ],
)
def test_well_formed_urls(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # "@" in the path is not userinfo.
        ("https://host/a@b", "https://host/a@b"),
        ("https://host:8080/~a@b/x", "https://host:8080/~a@b/x"),
        ("https://user@host/a@b", "https://****@host/a@b"),
        # IPv6 hosts, with and without a port, and one never closed.
        ("https://u:p@[::1]:8080/simple/", "https://****@[::1]:8080/simple/"),
        ("http://tok@[fe80::1%25eth0]/x", "http://****@[fe80::1%25eth0]/x"),
        ("https://[::1]/a@b", "https://[::1]/a@b"),
        ("https://u:p@[::1/x", "https://****@[::1/x"),
        # Percent-encoded userinfo (an "@" or ":" in a password, escaped).
        ("https://us%40er:p%3Aw%40rd@host/", "https://****@host/"),
        ("https://%74oken@host/", "https://****@host/"),
        # Bad ports: a number out of range is still a port; a word means a "/", "?"
        # or "#" in the password cut the authority short, so all up to the "@" goes.
        ("https://u:p@host:99999/", "https://****@host:99999/"),
        ("https://u:p@host:abc/", "https://****@host:abc/"),
        ("https://u:pa/ss@host/simple", "https://****@host/simple"),
        ("https://u:pa?ss@host/simple", "https://****@host/simple"),
        ("https://u:pa#ss@host/simple", "https://****@host/simple"),
        ("https://host:abc/x", "https://host:abc/x"),
        # No scheme.
        ("u:p@host/simple", "****@host/simple"),
        ("token@host/simple/", "****@host/simple/"),
        ("//u:p@host/simple", "//****@host/simple"),
        ("host/simple/x.whl?token=t", "host/simple/x.whl?****"),
        ("admin@example.org", "admin@example.org"),
        ("name@https://tok@host/x.whl", "name@https://****@host/x.whl"),
        ("--index-url=u:p@host/simple", "--index-url=****@host/simple"),
        ("--index-url=https://u:p@host/simple", "--index-url=https://****@host/simple"),
        # Nothing that looks like a URL.
        ("", ""),
        ("what?", "what?"),
        ("@", "@"),
        ("https://", "https://"),
        ("https://@", "https://****@"),
    ],
)
def test_malformed_urls(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_free_text() -> None:
    message = (
        "Client error '401 Unauthorized' for url 'https://u:s3cret@host/simple/a/?t=k3y'\n"
        "while fetching <https://tok3n@mirror:8443/files/a-1.0.whl#sha256=00>, then "
        '"http://[::1]:9/x?sig=S1G" and (https://host/ok) for admin@example.org; '
        "see https://web.example/save/https://other:pw@files/x.whl"
    )
    assert redact_url(message) == (
        "Client error '401 Unauthorized' for url 'https://****@host/simple/a/?****'\n"
        "while fetching <https://****@mirror:8443/files/a-1.0.whl#sha256=00>, then "
        '"http://[::1]:9/x?****" and (https://host/ok) for admin@example.org; '
        "see https://web.example/save/https://****@files/x.whl"
    )


@pytest.mark.parametrize(
    "text",
    [
        "foo @ https://user:s3cret@host/foo-1.0-py3-none-any.whl ; python_version >",
        "cannot open 'postgresql://s3cret@db/x': connection refused",
        "https://user:s3cret@host:notaport/x",
        "u:s3cret@host",
        "git+ssh://git:s3cret@host:22/r.git",
    ],
)
def test_secret_never_shown(text: str) -> None:
    assert "s3cret" not in redact_url(text)


def test_idempotent() -> None:
    once = redact_url("see https://u:p@h/x?t=1 and u:p@h/y")
    assert redact_url(once) == once
