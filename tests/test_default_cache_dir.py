"""The default cache directory is platformdirs' answer, found without importing it on Linux."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from cachedb._config import default_cache_dir


@pytest.mark.parametrize(
    "xdg",
    [None, "", "/var/tmp/xdg-cache", "/var/tmp/xdg-cache/", "//var/tmp//xdg", "relative/xdg", " "],
)
@pytest.mark.parametrize("home", [None, "/home/someone", "/home/someone/", "/", "relative-home"])
def test_the_default_cache_dir_is_platformdirs_answer(
    monkeypatch: pytest.MonkeyPatch, xdg: str | None, home: str | None
) -> None:
    for name, value in (("XDG_CACHE_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    try:
        expected = Path(platformdirs.user_cache_dir("cachedb", appauthor=False))
    except (RuntimeError, KeyError):
        pytest.skip("platformdirs finds no home directory here")
    assert default_cache_dir() == expected


def test_no_platformdirs_is_loaded_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the shortcut is for Linux")
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delitem(sys.modules, "platformdirs")
    assert default_cache_dir() == Path("/home/someone/.cache/cachedb")
    assert "platformdirs" not in sys.modules
