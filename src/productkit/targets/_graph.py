"""The BPMN element graph the BPMN target builds: flow nodes, sequence flows and associations
with geometry.

Everything here is immutable; moving a node or an edge returns a new one. Bounds, nodes and
edges are named tuples: a layout makes hundreds of thousands of them at the catalogue's scale, and
a tuple is made several times faster than a frozen dataclass (which sets each field through
``object.__setattr__``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Bounds", "Edge", "El", "Node", "Point"]

Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class El:
    """A child XML element: ``tag`` is ``prefix:local`` (``zeebe:taskDefinition``)."""

    tag: str
    attrs: tuple[tuple[str, str], ...] = ()
    children: tuple[El, ...] = ()
    text: str | None = None


class Bounds(NamedTuple):
    x: int
    y: int
    width: int
    height: int

    def moved(self, dx: int, dy: int) -> Bounds:
        return Bounds(self.x + dx, self.y + dy, self.width, self.height)

    @property
    def center_x(self) -> int:
        return self.x + self.width // 2

    @property
    def center_y(self) -> int:
        return self.y + self.height // 2

    @property
    def left_mid(self) -> Point:
        return (self.x, self.center_y)

    @property
    def right_mid(self) -> Point:
        return (self.x + self.width, self.center_y)

    @property
    def top_mid(self) -> Point:
        return (self.center_x, self.y)

    @property
    def bottom_mid(self) -> Point:
        return (self.center_x, self.y + self.height)


class Node(NamedTuple):
    """A flow node: ``tag`` is the local name in the BPMN namespace (``serviceTask``).

    ``extensions`` become ``bpmn:extensionElements`` children, ``body`` the children after the
    incoming/outgoing references (event definitions).
    """

    id: str
    tag: str
    name: str | None
    bounds: Bounds
    attrs: tuple[tuple[str, str], ...] = ()
    extensions: tuple[El, ...] = ()
    body: tuple[El, ...] = ()
    documentation: str | None = None

    def moved(self, dx: int, dy: int) -> Node:
        b = self.bounds
        return Node(self.id, self.tag, self.name, Bounds(b.x + dx, b.y + dy, b.width, b.height),
                    self.attrs, self.extensions, self.body, self.documentation)

    def placed(self, bounds: Bounds) -> Node:
        """This node with other ``bounds``."""
        return Node(self.id, self.tag, self.name, bounds, self.attrs, self.extensions, self.body,
                    self.documentation)


class Edge(NamedTuple):
    """A sequence flow; ``condition`` is the Zeebe expression text (``=...``) when it has one.
    With ``association`` set it is instead an association (an artifact, not a flow): the dotted
    line from a compensation boundary event to its compensation handler."""

    id: str
    source: str
    target: str
    waypoints: tuple[Point, ...]
    name: str | None = None
    condition: str | None = None
    association: bool = False

    def moved(self, dx: int, dy: int) -> Edge:
        return Edge(self.id, self.source, self.target,
                    tuple([(x + dx, y + dy) for x, y in self.waypoints]), self.name, self.condition,
                    self.association)
