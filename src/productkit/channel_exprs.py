"""Comparisons of ``channel`` that can never be true: a value that is no channel, or a channel
the product does not launch on (a rule meant as a channel policy that says nothing)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from . import _celparse as p
from .model import CHANNELS

__all__ = ["DeadComparison", "dead_channel_comparisons"]

_CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class DeadComparison:
    offset: int  # of the literal in the expression
    value: str
    message: str


def dead_channel_comparisons(text: str, channels: Sequence[str]) -> list[DeadComparison]:
    """Every literal ``channel`` is compared with (``==``, ``!=``, ``in [...]``) that no
    application of this product can have; an expression that does not parse has none."""
    return [_judge(lit, channels) for lit in _channel_literals(text) if lit.text not in channels]


@functools.lru_cache(maxsize=8192)
def _channel_literals(text: str) -> tuple[p.Lit, ...]:
    """The literals ``channel`` is compared with in ``text``, parsed once per text: products of
    a line share most of their expressions."""
    if _CHANNEL not in text:  # the name cannot occur without its letters
        return ()
    try:
        root = p.parse(text)
    except p.ParseError:
        return ()
    return tuple(_compared(root))


def _judge(lit: p.Lit, channels: Sequence[str]) -> DeadComparison:
    if lit.text not in CHANNELS:
        return DeadComparison(lit.offset, lit.text, f"channel is compared with '{lit.text}', which is not a "
                              f"channel (channels are {', '.join(CHANNELS)})")
    return DeadComparison(lit.offset, lit.text, f"channel is compared with '{lit.text}', a channel this "
                          f"product does not launch on ({', '.join(channels)}): the comparison never holds")


def _compared(root: p.Node) -> Iterator[p.Lit]:
    todo = [root]
    while todo:
        node = todo.pop()
        todo.extend(p.children(node))
        if not isinstance(node, p.Op):
            continue
        sides = (node.left, node.right)
        if node.op in ("==", "!=") and any(_is_channel(s) for s in sides):
            yield from (s for s in sides if isinstance(s, p.Lit) and s.kind == "string")
        elif node.op == "in" and _is_channel(node.left) and isinstance(node.right, p.ListLit):
            yield from (i for i in node.right.items if isinstance(i, p.Lit) and i.kind == "string")


def _is_channel(node: p.Node) -> bool:
    return isinstance(node, p.Name) and node.path == _CHANNEL
