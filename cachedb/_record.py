"""``NamedTuple``'s class syntax without importing ``typing``.

``typing`` costs about 12M instructions to import, more than a remembered
nothing-to-do install spends on its own work, and the modules every command loads
need nothing else from it. A class written ``class X(NamedTuple): a: int; b: str =
""`` becomes here what ``typing.NamedTuple`` makes of it: what ``collections.namedtuple``
makes with those fields and defaults (``named_tuple``, which compiles no code per
class), carrying the class's docstring, methods and properties. Type checkers read
``typing.NamedTuple`` instead::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from cachedb._record import NamedTuple

tests/test_record.py compares the two.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import CodeType, FunctionType
    from typing import Any, Self

try:
    from _collections import _tuplegetter  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - CPython has it; others get a plain property
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> property:
        return property(itemgetter(index), doc=doc)


# What the class body holds that is not a field nor something to copy onto the tuple class.
_SPECIAL = frozenset({"__module__", "__qualname__", "__annotations__", "__orig_bases__"})
# ``__new__``'s code for each number of fields. ``collections.namedtuple`` compiles it
# from source for every class (~0.25M instructions each, ~50 classes on a warm install);
# here it is compiled once per number of fields and renamed for each class.
_NEW_CODE: dict[int, CodeType] = {}
_FUNCTION: type[FunctionType] = type(lambda: None)  # type: ignore[assignment]  # not importing types


def _new_function(
    name: str, fields: tuple[str, ...], defaults: tuple[object, ...], doc: str
) -> Callable[..., object]:
    code = _NEW_CODE.get(len(fields))
    if code is None:
        args = ", ".join(f"_{i}" for i in range(len(fields)))
        items = args + ("," if len(fields) == 1 else "")
        source = f"lambda _cls{', ' if args else ''}{args}: _tuple_new(_cls, ({items}))"
        code = _NEW_CODE[len(fields)] = compile(source, "<named tuple>", "eval").co_consts[0]
    # Named as collections.namedtuple's is, so a wrong call's TypeError names the class.
    code = code.replace(
        co_varnames=("_cls", *fields), co_name="__new__", co_qualname=f"{name}.__new__"
    )
    function = _FUNCTION(code, {"_tuple_new": tuple.__new__})
    function.__name__ = "__new__"
    function.__doc__ = doc
    function.__defaults__ = defaults or None
    return function


def named_tuple(
    name: str, fields: tuple[str, ...], defaults: Iterable[object], module: str
) -> type:
    """What ``collections.namedtuple(name, fields, defaults=..., module=module)`` makes."""
    bad = any(not field.isidentifier() or field.startswith("_") for field in fields)
    if bad or len(set(fields)) < len(fields):
        raise ValueError(f"invalid field names for {name}: {fields!r}")
    defaults = tuple(defaults)
    count = len(fields)
    shown = "(" + ", ".join(f"{field}=%r" for field in fields) + ")"
    arguments = ", ".join(fields) + ("," if count == 1 else "")

    def _make(cls: type, iterable: Iterable[object]) -> tuple[object, ...]:
        made: tuple[object, ...] = tuple.__new__(cls, iterable)
        if len(made) != count:
            raise TypeError(f"Expected {count} arguments, got {len(made)}")
        return made

    def _replace(self: tuple[object, ...], /, **changes: object) -> tuple[object, ...]:
        made = self._make(map(changes.pop, fields, self))  # type: ignore[attr-defined]
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return made  # type: ignore[no-any-return]

    def __repr__(self: tuple[object, ...]) -> str:
        return self.__class__.__name__ + shown % self

    def _asdict(self: tuple[object, ...]) -> dict[str, object]:
        return dict(zip(fields, self, strict=True))

    def __getnewargs__(self: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(self)

    namespace: dict[str, object] = {
        "__doc__": f"{name}({arguments})",
        "__slots__": (),
        "_fields": fields,
        "_field_defaults": dict(zip(fields[count - len(defaults) :], defaults, strict=True)),
        "__new__": _new_function(
            name, fields, defaults, f"Create new instance of {name}({arguments})"
        ),
        "_make": classmethod(_make),
        "_replace": _replace,
        "__repr__": __repr__,
        "_asdict": _asdict,
        "__getnewargs__": __getnewargs__,
        "__match_args__": fields,
        "__module__": module,
    }
    for index, field in enumerate(fields):
        namespace[field] = _tuplegetter(index, f"Alias for field number {index}")
    return type(name, (tuple,), namespace)


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
        made = named_tuple(name, tuple(fields), defaults, str(module))
        made.__annotations__ = dict(annotations)
        for key, value in namespace.items():
            if key not in _SPECIAL and key not in fields:
                setattr(made, key, value)
        made.__qualname__ = str(namespace.get("__qualname__", name))
        return made


class NamedTuple(metaclass=_Maker):
    """Subclass it as ``typing.NamedTuple``: the subclass is a named tuple class."""


class Fields:
    """A mutable record whose fields are its instance attributes (each a keyword of the
    constructor): equality, ``repr`` and ``replace`` (``dataclasses.replace``) are a
    dataclass's, without defining one (dataclasses compiles its methods on every run)."""

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass without frozen=True

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (field names as keywords)."""
        unknown = set(changes) - set(vars(self))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        return type(self)(**{**vars(self), **changes})


__all__ = ["Fields", "NamedTuple", "named_tuple"]
