"""cachedb._record.NamedTuple makes what typing.NamedTuple makes of the same class body."""

from __future__ import annotations

import pickle
import typing
from collections.abc import Mapping
from typing import Any

import pytest

from cachedb import _record
from cachedb._settings import SETTINGS, Configuration, Setting, Source
from cachedb.target.interpreter import Interpreter


def _define(base: Any) -> Any:
    class Point(base):
        """A point."""

        x: int
        y: str = "b"
        z: tuple[int, ...] = ()

        @property
        def doubled(self) -> int:
            return self.x * 2

        def shown(self) -> str:
            return f"{self.x}/{self.y}"

        @classmethod
        def origin(cls) -> Any:
            return cls(0)

    return Point


def test_the_same_class_body_makes_the_same_named_tuple() -> None:
    ours, theirs = _define(_record.NamedTuple), _define(typing.NamedTuple)
    assert ours._fields == theirs._fields == ("x", "y", "z")
    assert ours._field_defaults == theirs._field_defaults
    assert ours.__doc__ == theirs.__doc__
    assert ours.__qualname__ == theirs.__qualname__
    assert ours.__module__ == theirs.__module__ == __name__
    assert list(ours.__annotations__) == list(theirs.__annotations__)  # (typing: ForwardRefs)
    for args, kwargs in [((1,), {}), ((1, "a"), {"z": (2,)}), ((), {"x": 3, "y": "c"})]:
        a, b = ours(*args, **kwargs), theirs(*args, **kwargs)
        assert a == b and tuple(a) == tuple(b) and hash(a) == hash(b)
        assert repr(a) == repr(b)
        assert a._asdict() == b._asdict()
        assert a._replace(y="q") == b._replace(y="q")
        assert (a.doubled, a.shown()) == (b.doubled, b.shown())
        assert isinstance(a, tuple)
    assert ours.origin() == theirs.origin() == (0, "b", ())
    with pytest.raises(TypeError):
        ours(1, 2, 3, 4)
    with pytest.raises(TypeError):
        ours()
    assert pickle.loads(pickle.dumps(Setting("x", "str"))) == Setting("x", "str")


@pytest.mark.parametrize("base", [_record.NamedTuple, typing.NamedTuple])
def test_a_field_without_default_after_one_with_is_refused(base: Any) -> None:
    with pytest.raises(TypeError):

        class Bad(base):
            a: int = 1
            b: int


def test_the_settings_and_interpreter_records_keep_their_shape() -> None:
    assert Setting._fields == ("name", "kind", "aliases", "flag")
    assert SETTINGS["cert"].envs == ["CACHEDB_CERT", "SSL_CERT_FILE"]
    values: Mapping[str, object] = {"a": 1}
    config = Configuration((Source("p", "", values),))
    assert config.lookup("a") == (1, Source("p", "", values))
    assert Interpreter._fields[0] == "executable"


@pytest.mark.parametrize("fields", [(), ("a",), ("x", "y", "z"), tuple(f"f{i}" for i in range(12))])
def test_named_tuple_makes_what_collections_namedtuple_makes(fields: tuple[str, ...]) -> None:
    import collections
    import copy
    import inspect

    defaults = list(range(len(fields) // 2))
    ours = _record.named_tuple("T", fields, defaults, __name__)
    theirs = collections.namedtuple("T", fields, defaults=defaults, module=__name__)  # type: ignore[misc]
    for attr in ("_fields", "_field_defaults", "__match_args__", "__doc__", "__module__"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__new__.__doc__ == theirs.__new__.__doc__
    args = tuple(range(100, 100 + len(fields) - len(defaults)))
    a, b = ours(*args), theirs(*args)
    assert a == b and repr(a) == repr(b) and a._asdict() == b._asdict()
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    assert ours._make(b) == a and type(ours._make(b)) is ours
    assert copy.copy(a) == a and copy.deepcopy(a) == a
    if fields:
        assert a._replace(**{fields[0]: "new"}) == b._replace(**{fields[0]: "new"})
        assert type(a._replace(**{fields[0]: "new"})) is ours
        with pytest.raises(TypeError):
            ours(*args, *range(len(fields) + 1))
        # A wrong call names the class, as collections.namedtuple's does.
        with pytest.raises(TypeError) as mine:
            ours()
        with pytest.raises(TypeError) as wanted:
            theirs()
        assert str(mine.value) == str(wanted.value)
    with pytest.raises(TypeError):
        ours._make([*args, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    with pytest.raises(ValueError):
        a._replace(not_a_field=1)
    with pytest.raises(ValueError):
        _record.named_tuple("Bad", (*fields, "_private"), [], __name__)


def test_fields_compare_show_and_copy_as_a_dataclass_does() -> None:
    import dataclasses

    class Plain(_record.Fields):
        def __init__(self, a: int, b: list[str] | None = None) -> None:
            self.a = a
            self.b = [] if b is None else b

    @dataclasses.dataclass
    class Plain2:  # the dataclass it stands for
        a: int
        b: list[str] = dataclasses.field(default_factory=list)

    ours, theirs = Plain(1, ["x"]), Plain2(1, ["x"])
    assert ours == Plain(1, ["x"]) and ours != Plain(2, ["x"]) and theirs == Plain2(1, ["x"])
    assert (ours == theirs) is False and ours.__eq__(theirs) is NotImplemented
    assert repr(ours) == "Plain(a=1, b=['x'])"
    assert repr(ours).partition("(")[2] == repr(theirs).partition("(")[2]
    assert Plain.__hash__ is None and Plain2.__hash__ is None
    copy = ours.replace(a=3)
    assert type(copy) is Plain and (copy.a, copy.b) == (3, ["x"]) and ours.a == 1
    assert dataclasses.replace(theirs, a=3) == Plain2(3, ["x"])
    with pytest.raises(TypeError, match="Plain has no field 'c'"):
        ours.replace(c=1)
    with pytest.raises(TypeError):
        dataclasses.replace(theirs, c=1)  # type: ignore[call-arg]
