"""``NamedTuple``'s class syntax without importing ``typing``.

``typing`` costs about 12M instructions to import, more than a remembered
nothing-to-do install spends on its own work, and the modules every command loads
need nothing else from it. A class written ``class X(NamedTuple): a: int; b: str =
""`` becomes here what ``typing.NamedTuple`` makes of it: a ``collections.namedtuple``
with those fields and defaults, carrying the class's docstring, methods and
properties. Type checkers read ``typing.NamedTuple`` instead::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from cachedb._record import NamedTuple

tests/test_record.py compares the two.
"""

from __future__ import annotations

from collections import namedtuple

# What the class body holds that is not a field nor something to copy onto the tuple class.
_SPECIAL = frozenset({"__module__", "__qualname__", "__annotations__", "__orig_bases__"})


class _Maker(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # NamedTuple itself
            return super().__new__(mcls, name, bases, namespace)
        annotations = namespace.get("__annotations__", {})
        assert isinstance(annotations, dict)
        fields = list(annotations)
        defaults = []
        for field in fields:
            if field in namespace:
                defaults.append(namespace[field])
            elif defaults:
                raise TypeError(f"field {field} without a default follows one with a default")
        module = namespace.get("__module__")
        made = namedtuple(name, fields, defaults=defaults, module=str(module))  # type: ignore[misc]
        made.__annotations__ = dict(annotations)
        for key, value in namespace.items():
            if key not in _SPECIAL and key not in fields:
                setattr(made, key, value)
        made.__qualname__ = str(namespace.get("__qualname__", name))
        return made


class NamedTuple(metaclass=_Maker):
    """Subclass it as ``typing.NamedTuple``: the subclass is a named tuple class."""


__all__ = ["NamedTuple"]
