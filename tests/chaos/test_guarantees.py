"""docs/guarantees.md names the tests behind its promises: every one of them exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def test_every_promise_names_tests_that_exist() -> None:
    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    references = _REFERENCE.findall(text)
    assert len(references) >= 30, "docs/guarantees.md lost its test references"
    missing = [
        f"{path}::{name}"
        for path, name in references
        if not (ROOT / path).is_file()
        or not re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M)
    ]
    assert missing == []
    # Every chaos test backs some promise.
    chaos = {
        f"tests/chaos/{p.name}::{name}"
        for p in (ROOT / "tests" / "chaos").glob("test_*.py")
        if p.name != Path(__file__).name
        for name in re.findall(r"^def (test_\w+)\(", p.read_text(encoding="utf-8"), re.M)
    }
    unreferenced = sorted(chaos - {f"{p}::{n}" for p, n in references})
    assert unreferenced == []
