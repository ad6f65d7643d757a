"""What cachedb knows about a target interpreter, and its JSON form."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from .._record import NamedTuple

SCHEME_KEYS = ("purelib", "platlib", "scripts", "headers", "data")


# A NamedTuple, not a dataclass: created in ~0.05 ms instead of ~0.4 ms on every warm install.
class Interpreter(NamedTuple):
    """One Python environment as seen from inside it.

    ``markers`` and ``tags`` are computed by the target itself, never by the
    interpreter running cachedb: the two can differ in version, ABI and platform.
    """

    executable: str
    prefix: str
    base_prefix: str
    version: str
    markers: dict[str, str]
    tags: tuple[str, ...]
    scheme: dict[str, str]
    is_venv: bool

    def to_json(self) -> str:
        return json.dumps(self._asdict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Interpreter:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Any) -> Interpreter:
        """Build from decoded JSON, refusing anything malformed with ValueError.

        Answers are read back from a cache on disk, so a truncated or hand-edited
        file must fail here rather than yield a half-valid Interpreter.
        """
        if not isinstance(data, dict):
            raise ValueError("interpreter answer is not a JSON object")
        scheme = _str_dict(data, "scheme")
        missing = [k for k in SCHEME_KEYS if k not in scheme]
        if missing:
            raise ValueError(f"interpreter answer lacks scheme paths {missing}")
        tags = data.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
            raise ValueError("interpreter answer has no valid 'tags'")
        is_venv = data.get("is_venv")
        if not isinstance(is_venv, bool):
            raise ValueError("interpreter answer has no valid 'is_venv'")
        return cls(
            executable=_str(data, "executable"),
            prefix=_str(data, "prefix"),
            base_prefix=_str(data, "base_prefix"),
            version=_str(data, "version"),
            markers=_str_dict(data, "markers"),
            tags=tuple(tags),
            scheme=scheme,
            is_venv=is_venv,
        )


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"interpreter answer has no valid {key!r}")
    return value


def _str_dict(data: dict[str, Any], key: str) -> dict[str, str]:
    value = data.get(key)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"interpreter answer has no valid {key!r}")
    return dict(value)
