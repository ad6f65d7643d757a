"""Looking into an environment's installed distributions: ``freeze``, ``show``, ``tree``, ``check``.

- ``installed``: the one reader of what an environment has (dist-info METADATA,
  direct_url.json, RECORD), for the target interpreter's markers
- ``freeze``, ``show``, ``tree``, ``check``: one command each, pip's (or uv's) output
"""

from __future__ import annotations

from .installed import Distribution, Environment, read_environment

__all__ = ["Distribution", "Environment", "read_environment"]
