"""Project names compared as PEP 503 says, without packaging.

``packaging.utils`` imports ``packaging.tags`` (logging, platform, subprocess,
sysconfig): more than a nothing-to-do install does itself. ``canonical_name`` is
``packaging.utils.canonicalize_name`` step for step; tests/test_plain_requirements.py
compares the two on random text.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing
if TYPE_CHECKING:
    from packaging.utils import NormalizedName


def canonical_name(name: str) -> NormalizedName:
    """``name`` lower-cased, every run of ``-``, ``_`` and ``.`` one ``-``."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value  # type: ignore[return-value]  # what NormalizedName stands for


__all__ = ["canonical_name"]
