"""The type of a plain (unquoted) YAML scalar, in a module of its own: the loader needs it, and
importing the value types (and their models) only for it would slow every start."""

from __future__ import annotations

__all__ = ["Plain"]


class Plain(str):
    """A plain (unquoted) YAML scalar, kept as its source text."""

    __slots__ = ()
