"""fetch._urls.local_path answers plain POSIX file URLs without urllib.request, and for every
file URL gives what ``url2pathname`` gives (the shortcut is proven equal to it here)."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cachedb.fetch._urls import local_path

PIECES = ["/", "//", "%", "%2F", "%20", "%e2%82%ac", "%zz", "a", "é", " ", "localhost", ":", "C:"]


@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=8))
def test_local_path_is_url2pathname_of_the_path(pieces: list[str]) -> None:
    path = "".join(pieces)
    url = "file://" + path if path.startswith("/") else "file:///" + path
    assert local_path(url) == url2pathname(urlsplit(url).path)


def test_not_a_file_url_has_no_local_path() -> None:
    assert local_path("https://example.invalid/a.whl") is None


@pytest.mark.skipif(os.name != "posix", reason="the shortcut is for POSIX paths")
def test_a_plain_file_url_loads_no_http_client() -> None:
    code = (
        "import sys; from cachedb.fetch._urls import local_path; "
        "assert local_path('file:///srv/wheels/a-1.0.tar.gz') == '/srv/wheels/a-1.0.tar.gz'; "
        "print('http.client' in sys.modules, 'urllib.request' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
