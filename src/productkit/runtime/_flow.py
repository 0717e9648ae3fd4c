"""The block-structured flow: which steps may run next, and which steps come before which."""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence

from ..ir import Parallel

__all__ = ["Position", "frontier", "positions", "precedes", "walk"]

Position = tuple[int, ...]
Item = str | Parallel


def frontier(flow: Sequence[Item], finished: Container[str]) -> list[str]:
    """The unfinished steps that may run now, in document order.

    In a sequence that is the first unfinished item; in a Parallel block, the frontier of every
    branch. A block is finished when all its branches are (the join)."""
    for item in flow:
        if isinstance(item, str):
            if item not in finished:
                return [item]
            continue
        ready = [sid for branch in item.parallel for sid in frontier(branch, finished)]
        if ready:
            return ready
    return []


def walk(flow: Sequence[Item], prefix: Position = ()) -> Iterator[tuple[str, Position]]:
    """Every step id with its position: alternating sequence indexes and branch indexes."""
    for i, item in enumerate(flow):
        if isinstance(item, str):
            yield item, (*prefix, i)
        else:
            for b, branch in enumerate(item.parallel):
                yield from walk(branch, (*prefix, i, b))


def positions(flow: Sequence[Item]) -> dict[str, Position]:
    return dict(walk(flow))


def precedes(a: Position, b: Position) -> bool:
    """True when the step at ``a`` must finish before the step at ``b`` can start.

    Positions diverge either at a sequence index (even depth: ordered) or at a branch index
    (odd depth: parallel branches, neither precedes the other)."""
    for depth, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return depth % 2 == 0 and x < y
    return False
