"""Fast construction of the frozen, slotted dataclasses the engine makes many times per
application (records, events, commands, calls, views).

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``,
which looks the slot up on the type every time: about half of building a record. The classes
that are built per step write their ``__init__`` by hand (``init=False``) and set each slot
through its descriptor, looked up once here. tests/runtime/test_slots.py checks that each such
``__init__`` takes the fields in their order, with their defaults, and sets every one of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["FRESH", "Setter", "setters"]

Setter = Callable[[Any, Any], None]

# The default of a field whose dataclass default is a new dict (``default_factory=dict``): the
# hand-written ``__init__`` makes the dict when it sees this.
FRESH: Any = object()


def setters(cls: type) -> tuple[Setter, ...]:
    """The ``__set__`` of each field's slot of the dataclass ``cls``, in field order."""
    return tuple(getattr(cls, f.name).__set__ for f in dataclasses.fields(cls))
