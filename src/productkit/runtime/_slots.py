"""Fast construction of the frozen, slotted dataclasses the engine makes many times per
application (records, events, commands, calls, views).

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``,
which looks the slot up on the type every time: about half of building a record. The classes
that are built per step write their ``__init__`` by hand (``init=False``) and set each slot
through its descriptor, looked up once here. tests/runtime/test_slots.py checks that each such
``__init__`` takes the fields in their order, with their defaults, and sets every one of them.

Calling a slot's ``__set__`` still costs a call through a method wrapper per field (about 650
machine instructions each, most of a record's construction). Where the engine builds such an
object on every step it calls a ``build_...`` function instead (next to the class): it fills in
an instance of the class's :func:`filler`, a plain class with the same slots, with plain
attribute stores (which the interpreter turns into direct slot writes), then gives the instance
the frozen class as its class. The object is then a ``cls`` like any other. Each builder takes
every field, in order; tests/runtime/test_slots.py checks it makes what the class makes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["FRESH", "Setter", "filler", "new", "setters"]

Setter = Callable[[Any, Any], None]

# The default of a field whose dataclass default is a new dict (``default_factory=dict``): the
# hand-written ``__init__`` makes the dict when it sees this.
FRESH: Any = object()


def setters(cls: type) -> tuple[Setter, ...]:
    """The ``__set__`` of each field's slot of the dataclass ``cls``, in field order."""
    return tuple(getattr(cls, f.name).__set__ for f in dataclasses.fields(cls))


# ``object.__new__``, typed for making objects of generated classes. A builder makes its filler's
# instance by calling the filler (no ``__init__`` of its own): a third cheaper than this.
new: Callable[[Any], Any] = object.__new__


def filler(cls: type) -> Any:
    """A plain class with exactly the slots of the slotted dataclass ``cls``, so that an instance
    of it may be given ``cls`` as its class (see the module); TypeError at import otherwise."""
    slots = cls.__dict__.get("__slots__")
    if slots is None:
        raise TypeError(f"{cls.__name__} has no slots of its own")
    made = type(f"{cls.__name__}Filler", (), {"__slots__": slots, "__module__": cls.__module__})
    probe = new(made)
    probe.__class__ = cls  # the layouts agree, or this raises now rather than at a first build
    return made

