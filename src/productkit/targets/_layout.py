"""Block layout for BPMN: fragments placed left to right, parallel branches stacked.

A fragment has local coordinates: x runs from 0 to ``width``, the main flow runs along y = 0
(the axis), and drawing extends ``up`` above and ``down`` below it. Composition functions place
fragments, create the sequence flows between them and route every flow with orthogonal
segments. Skip flows of conditional steps run above a step, boundary routes and error jumps
(``goto``) below it, so lines rarely cross; a compensation handler hangs below its task, under
the task's boundary routes, tied to it by a straight association. All coordinates are integers:
the same input always gives the same drawing.

Placing a fragment does not move its nodes and flows: it wraps them in a :class:`Shift`, and
:meth:`Frag.drawn` applies the summed offsets once, at the end. So the cost of a layout grows
with its size, not with its size times its nesting depth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._graph import Bounds, Edge, Node, Point

__all__ = [
    "CompensationRoute",
    "EndBranch",
    "EndRoute",
    "Frag",
    "Goto",
    "GotoBranch",
    "GotoRoute",
    "Row",
    "Shift",
    "chain",
    "decision",
    "flow_id",
    "make_node",
    "parallel",
    "place_row",
    "rejoin",
    "row_of",
    "sequence",
    "single",
    "task_with_routes",
    "when",
    "with_tails",
]

GAP = 50  # horizontal space between consecutive elements
SKIP = 35  # how far above a conditional step its skip flow runs
ROW = 70  # vertical distance between the rows of boundary routes
ROW0 = 100  # centre of the first boundary-route row below the axis
LANE = 40  # vertical distance between the lanes of error jumps
BRANCH_GAP = 40  # vertical space between parallel branches
BOUNDARY_STEP = 46  # distance between the centres of boundary events on one task

_SIZES = {"task": (100, 80), "gateway": (50, 50), "event": (36, 36)}


def _size(tag: str) -> tuple[int, int]:
    if tag.endswith("Task"):
        return _SIZES["task"]
    if tag.endswith("Gateway"):
        return _SIZES["gateway"]
    return _SIZES["event"]


def make_node(id: str, tag: str, name: str | None, **fields: object) -> Node:
    """A node of the usual size for ``tag``, centred on the axis at x = 0."""
    width, height = _size(tag)
    return Node(id, tag, name, Bounds(0, -(height // 2), width, height), **fields)  # type: ignore[arg-type]


def flow_id(source: str, target: str) -> str:
    return f"Flow_{source}__{target}"


@dataclass(frozen=True, slots=True)
class Goto:
    """An error jump not yet routed: from a boundary event (or a gateway, then with a
    ``condition``, a ``name`` and its own ``edge_id``) to the step ``target``."""

    source: str
    port: Point
    target: str
    condition: str | None = None
    name: str | None = None
    edge_id: str | None = None

    def moved(self, dx: int, dy: int) -> Goto:
        return Goto(self.source, (self.port[0] + dx, self.port[1] + dy), self.target,
                    self.condition, self.name, self.edge_id)


@dataclass(frozen=True, slots=True)
class EndRoute:
    """A boundary event leading to a row of nodes (an outcome event and an end event)."""

    boundary: Node
    nodes: Row


@dataclass(frozen=True, slots=True)
class GotoRoute:
    """A boundary event that jumps to a later step of the same sequence."""

    boundary: Node
    target: str


@dataclass(frozen=True, slots=True)
class CompensationRoute:
    """A compensation boundary event and the compensation handler it is associated with
    (association ``association``); the handler has no sequence flows."""

    boundary: Node
    handler: Node
    association: str


@dataclass(frozen=True, slots=True)
class EndBranch:
    """A conditional flow out of a decision gateway to a row of nodes (outcome, end)."""

    condition: str
    name: str
    nodes: Row


@dataclass(frozen=True, slots=True)
class GotoBranch:
    """A conditional flow out of a decision gateway that jumps to a later step."""

    condition: str
    name: str
    target: str
    edge_id: str


Route = EndRoute | GotoRoute | CompensationRoute
T = TypeVar("T", Node, Edge)


@dataclass(frozen=True, slots=True)
class Shift(Generic[T]):
    """``items`` (nodes or flows, and further shifts) drawn ``dx``, ``dy`` further on."""

    dx: int
    dy: int
    items: tuple[T | Shift[T], ...]


def _shift(items: tuple[T | Shift[T], ...], dx: int, dy: int) -> tuple[T | Shift[T], ...]:
    if len(items) == 1:
        inner = items[0]
        if isinstance(inner, Shift):  # one shift of the sum, not a shift of a shift
            return (Shift(inner.dx + dx, inner.dy + dy, inner.items),)
    return (Shift(dx, dy, items),) if items else ()


def _walk(items: tuple[T | Shift[T], ...], out: list[T]) -> None:
    for item in items:
        if isinstance(item, Shift):
            _walk(item.items, out)
        else:
            out.append(item)


def _draw(items: tuple[T | Shift[T], ...], dx: int, dy: int, out: list[T]) -> None:
    for item in items:
        if isinstance(item, Shift):
            _draw(item.items, dx + item.dx, dy + item.dy, out)
        else:
            out.append(item.moved(dx, dy) if dx or dy else item)


@dataclass(frozen=True, slots=True)
class Frag:
    """A laid-out piece of process: nodes, flows, extent, entry and exit nodes, open jumps.

    ``nodes`` and ``edges`` are in drawing order, some of them wrapped in shifts; ``entry``,
    ``exit`` and the ports of ``gotos`` are placed in the coordinates of the fragment."""

    nodes: tuple[Node | Shift[Node], ...]
    edges: tuple[Edge | Shift[Edge], ...]
    width: int
    up: int
    down: int
    entry: Node
    exit: Node | None
    gotos: tuple[Goto, ...] = ()

    def moved(self, dx: int, dy: int) -> Frag:
        if not (dx or dy):
            return self
        entry, exit = self.entry.moved(dx, dy), self.exit
        if exit is not None:
            exit = entry if exit is self.entry else exit.moved(dx, dy)
        gotos = tuple([g.moved(dx, dy) for g in self.gotos]) if self.gotos else ()
        return Frag(_shift(self.nodes, dx, dy), _shift(self.edges, dx, dy), self.width, self.up,
                    self.down, entry, exit, gotos)

    def closed(self) -> Frag:
        """This fragment without its exit: nothing flows on after it."""
        return Frag(self.nodes, self.edges, self.width, self.up, self.down, self.entry, None,
                    self.gotos)

    def parts(self) -> tuple[tuple[Node, ...], tuple[Edge, ...]]:
        """The nodes and the flows in the order of :meth:`drawn`, not yet moved to their place
        (what only needs their ids and references)."""
        nodes: list[Node] = []
        edges: list[Edge] = []
        _walk(self.nodes, nodes)
        _walk(self.edges, edges)
        return tuple(nodes), tuple(edges)

    def drawn(self) -> tuple[tuple[Node, ...], tuple[Edge, ...]]:
        """The nodes and the flows, each at its place."""
        nodes: list[Node] = []
        edges: list[Edge] = []
        _draw(self.nodes, 0, 0, nodes)
        _draw(self.edges, 0, 0, edges)
        return tuple(nodes), tuple(edges)


def single(node: Node) -> Frag:
    b = node.bounds
    return Frag((node,), (), b.width, -b.y, b.y + b.height, node, node)


def _edge(a: Node, b: Node, points: Sequence[Point], name: str | None = None,
          condition: str | None = None) -> Edge:
    return Edge(flow_id(a.id, b.id), a.id, b.id, tuple(points), name, condition)


def connect(a: Node, b: Node, name: str | None = None, condition: str | None = None) -> Edge:
    """A flow from the right of ``a`` to the left of ``b``, bending just before ``b``."""
    (x1, y1), (x2, y2) = a.bounds.right_mid, b.bounds.left_mid
    if y1 == y2:
        return _edge(a, b, [(x1, y1), (x2, y2)], name, condition)
    xm = x2 - GAP // 2
    return _edge(a, b, [(x1, y1), (xm, y1), (xm, y2), (x2, y2)], name, condition)


def chain(frags: Sequence[Frag]) -> Frag:
    """Fragments one after the other on the axis, each exit flowing into the next entry."""
    return sequence([(None, f) for f in frags], _no_merge)


def row_of(nodes: Sequence[Node], x: int = 0, y: int = 0) -> Frag:
    """Nodes left to right on the axis, each flowing into the next, the first at ``x``, the axis
    at ``y``: what ``chain`` makes of them, moved by ``x``, ``y``, without the intermediate
    fragments."""
    placed: list[Node] = []
    edges: list[Edge] = []
    at = x
    for node in nodes:
        here = node.moved(at, y)
        if placed:
            edges.append(connect(placed[-1], here))
        placed.append(here)
        at += node.bounds.width + GAP
    return Frag(tuple(placed), tuple(edges), at - GAP - x, max(-n.bounds.y for n in nodes),
                max(n.bounds.y + n.bounds.height for n in nodes), placed[0], placed[-1])


Row = tuple[Node, ...] | Frag  # what an end leads to: nodes in a row, or a laid-out fragment


def place_row(row: Row, x: int = 0, y: int = 0) -> Frag:
    """``row`` with its entry at ``x`` on the axis at ``y`` (see :func:`row_of`)."""
    return row_of(row, x, y) if isinstance(row, tuple) else row.moved(x, y)


def _no_merge(target: str) -> Node:
    raise AssertionError(f"no jump can reach {target} in a plain chain")


def task_with_routes(task: Node, routes: Sequence[Route]) -> Frag:
    """A task with boundary events on its lower border (the task widens to hold them). Jumps
    sit leftmost (their lines go deepest), then the compensation boundary, then end routes,
    the rightmost on the nearest row: no two lines cross. The compensation handler hangs below
    the deepest row, just right of the jump lines, its association straight down."""
    ordered: list[Route] = [r for r in routes if isinstance(r, GotoRoute)]
    ordered += [r for r in routes if isinstance(r, CompensationRoute)]
    ordered += [r for r in routes if isinstance(r, EndRoute)]
    span = BOUNDARY_STEP * (len(ordered) - 1)
    tb = task.bounds
    task = task.placed(Bounds(tb.x, tb.y, max(tb.width, span + 54), tb.height))
    t = task.bounds
    frag = Frag((task,), (), t.width, -t.y, t.y + t.height, task, task)
    ends = [extent(r.nodes) for r in reversed(ordered) if isinstance(r, EndRoute)]  # nearest first
    ys = row_heights(ends)
    rows = len(ends)
    jumps = any(isinstance(r, GotoRoute) for r in ordered)
    for i, route in enumerate(ordered):
        cx = t.x + (t.width - span) // 2 + BOUNDARY_STEP * i
        eb = route.boundary.bounds
        boundary = route.boundary.placed(Bounds(
            cx - eb.width // 2, t.y + t.height - eb.height // 2, eb.width, eb.height))
        if isinstance(route, GotoRoute):
            port = boundary.bounds.bottom_mid
            extra = Frag((boundary,), (), cx + eb.width // 2, 0, port[1], boundary, None,
                         (Goto(boundary.id, port, route.target),))
        elif isinstance(route, CompensationRoute):
            below = ys[-1] + ends[-1][1] + ROW - 28 if ends else ROW0 - 10
            extra = _handler(boundary, route, below, jumps)
        else:
            rows -= 1
            extra = _end_row(boundary, route.nodes, ys[rows], t.x + t.width + 30)
        frag = _overlay(frag, extra)
    return frag


def extent(row: Row) -> tuple[int, int]:
    """How far ``row`` reaches above and below its axis (``up``, ``down`` of
    :func:`place_row`), without placing it."""
    if isinstance(row, Frag):
        return row.up, row.down
    return max(-n.bounds.y for n in row), max(n.bounds.y + n.bounds.height for n in row)


def row_heights(rows: Sequence[tuple[int, int]]) -> list[int]:
    """The axis heights of rows stacked below an element (their :func:`extent`), nearest first:
    ``ROW`` apart, or further when a row is taller than a row of events (a finally block)."""
    ys: list[int] = []
    for i, (up, _) in enumerate(rows):
        if i == 0:
            ys.append(max(ROW0, up + ROW))
        else:
            ys.append(ys[-1] + max(ROW, rows[i - 1][1] + up + 20))
    return ys


def rejoin(frag: Frag, merge: Node, target: str) -> Frag:
    """``frag`` (a task with its routes) followed by the gateway ``merge``, where the jumps of
    ``frag`` to the pseudo-step ``target`` come back from below: a task whose failure does
    not stop the flow. Its other jumps stay open."""
    mn = merge.moved(frag.width + GAP, 0)
    edges = list(frag.edges)
    if frag.exit is not None:
        edges.append(connect(frag.exit, mn))
    back = [(g, mn, True) for g in frag.gotos if g.target == target]
    pending = [g for g in frag.gotos if g.target != target]
    return _finish([frag, single(mn)], edges, back, pending, mn.bounds.width + mn.bounds.x)


def _handler(boundary: Node, route: CompensationRoute, top: int, jumps: bool) -> Frag:
    """The compensation boundary and its handler, whose top edge is at height ``top``:
    centred under the boundary, or, when jump lines run down to the left, starting just right
    of the nearest one."""
    cx = boundary.bounds.center_x
    hb = route.handler.bounds
    left = cx - 18 if jumps else max(0, cx - hb.width // 2)
    handler = route.handler.placed(Bounds(left, top, hb.width, hb.height))
    line = Edge(route.association, boundary.id, handler.id,
                (boundary.bounds.bottom_mid, (cx, top)), association=True)
    return Frag((boundary, handler), (line,), left + hb.width, 0, top + hb.height, boundary,
                None)


def _end_row(boundary: Node, nodes: Row, y: int, x: int) -> Frag:
    """The boundary event, and the nodes it leads to in a row at height ``y`` from ``x``."""
    r = place_row(nodes, x, y)
    first = r.entry
    down = [boundary.bounds.bottom_mid, (boundary.bounds.center_x, y), first.bounds.left_mid]
    return Frag((boundary, *r.nodes), (_edge(boundary, first, down), *r.edges), x + r.width, 0,
                y + r.down, boundary, None)


def _overlay(base: Frag, extra: Frag) -> Frag:
    """``extra`` drawn into ``base`` (same coordinates); entry and exit stay those of base."""
    return Frag(base.nodes + extra.nodes, base.edges + extra.edges, max(base.width, extra.width),
                max(base.up, extra.up), max(base.down, extra.down), base.entry, base.exit,
                base.gotos + extra.gotos)


def when(split: Node, merge: Node, inner: Frag, condition: str, label: str) -> Frag:
    """A step run only when ``condition`` holds: split, the step, merge; the default flow
    skips the step above it."""
    s = single(split)
    body = inner.moved(s.width + GAP, 0)
    m = single(merge).moved(body.width + s.width + 2 * GAP, 0)
    sn, mn = s.entry, m.entry
    edges = [connect(sn, body.entry, label, condition)]
    if body.exit is not None:
        edges.append(connect(body.exit, mn))
    ys = -(max(body.up, s.up) + SKIP)
    skip = [sn.bounds.top_mid, (sn.bounds.center_x, ys), (mn.bounds.center_x, ys), mn.bounds.top_mid]
    edges.append(_edge(sn, mn, skip, "skip"))
    return Frag((sn, *body.nodes, mn), (*body.edges, *edges), m.width + mn.bounds.x, -ys,
                max(body.down, s.down), sn, mn, body.gotos)


def decision(gateway: Node, branches: Sequence[EndBranch | GotoBranch]) -> Frag:
    """An exclusive gateway on the axis whose conditional flows leave downwards: to rows of
    nodes below it (the first branch on the nearest row), or as jumps to later steps. Its
    default flow, the one without a condition, continues the sequence."""
    g = single(gateway)
    gn = g.entry
    frag = g
    row = 0
    x0 = gn.bounds.x + gn.bounds.width + 30
    ys = row_heights([extent(b.nodes) for b in branches if isinstance(b, EndBranch)])
    for branch in branches:
        if isinstance(branch, GotoBranch):
            jump = Goto(gn.id, gn.bounds.bottom_mid, branch.target, branch.condition, branch.name,
                        branch.edge_id)
            frag = Frag(frag.nodes, frag.edges, frag.width, frag.up, frag.down, frag.entry,
                        frag.exit, (*frag.gotos, jump))
            continue
        y = ys[row]
        row += 1
        r = place_row(branch.nodes, x0, y)
        first = r.entry
        down = [gn.bounds.bottom_mid, (gn.bounds.center_x, y), first.bounds.left_mid]
        edge = _edge(gn, first, down, branch.name, branch.condition)
        frag = _overlay(frag, Frag(r.nodes, (edge, *r.edges), x0 + r.width, 0, y + r.down,
                                   gn, None))
    return frag


def parallel(fork: Node, join: Node, branches: Sequence[Frag]) -> Frag:
    """Branches stacked under each other between a fork and a join gateway. The join is left
    out when fewer than two branches come back (the others end the whole process)."""
    f = single(fork)
    fn = f.entry
    x0 = f.width + GAP
    placed: list[Frag] = []
    axis, below = 0, 0
    for i, branch in enumerate(branches):
        if i:
            axis = below + BRANCH_GAP + branch.up
        placed.append(branch.moved(x0, axis))
        below = axis + branch.down
    edges: list[Edge | Shift[Edge]] = [_fork_edge(fn, b.entry) for b in placed]
    nodes: list[Node | Shift[Node]] = [fn]
    for b in placed:
        nodes.extend(b.nodes)
        edges.extend(b.edges)
    width = x0 + max(b.width for b in placed)
    back = [b.exit for b in placed if b.exit is not None]
    exit_node = back[0] if len(back) == 1 else None
    if len(back) >= 2:
        jn = join.moved(width + GAP, 0)
        nodes.append(jn)
        edges.extend(_join_edge(b, jn) for b in back)
        width, exit_node = jn.bounds.x + jn.bounds.width, jn
    gotos = tuple(g for b in placed for g in b.gotos)
    return Frag(tuple(nodes), tuple(edges), width, max(f.up, placed[0].up), max(below, f.down),
                fn, exit_node, gotos)


def _fork_edge(fork: Node, entry: Node) -> Edge:
    (x, y) = entry.bounds.left_mid
    if y == fork.bounds.center_y:
        return _edge(fork, entry, [fork.bounds.right_mid, (x, y)])
    return _edge(fork, entry, [fork.bounds.bottom_mid, (fork.bounds.center_x, y), (x, y)])


def _join_edge(exit: Node, join: Node) -> Edge:
    (x, y) = exit.bounds.right_mid
    if y == join.bounds.center_y:
        return _edge(exit, join, [(x, y), join.bounds.left_mid])
    return _edge(exit, join, [(x, y), (join.bounds.center_x, y), join.bounds.bottom_mid])


def sequence(items: Sequence[tuple[str | None, Frag]], merge_for: Callable[[str], Node],
             inflow: bool = True, aliases: Mapping[str, str | None] | None = None) -> Frag:
    """Items left to right, each exit flowing into the next entry. ``items`` pair a fragment
    with the step id it starts with; error jumps to one of those steps are routed here, through
    a merge gateway (``merge_for(step)``) when the step has more than one way in. ``aliases``
    names the item a jump to another step enters (a branch's first step -> its block)."""
    alias = aliases or {}
    jumps: dict[str, list[Goto]] = {}  # placed jumps, by the (later) step they go to
    placed: list[Frag] = []
    edges: list[Edge | Shift[Edge]] = []  # in drawing order: into each item, then inside it
    arrivals: list[tuple[Goto, Node, bool]] = []
    x, prev, open_in = 0, None, inflow
    for key, frag in items:
        incoming = jumps.pop(key, []) if key is not None else []
        merged = bool(incoming) and (prev is not None or open_in or len(incoming) > 1)
        if merged:
            mn = merge_for(key or "").moved(x, 0)
            if prev is not None:
                edges.append(connect(prev, mn))
            placed.append(single(mn))
            arrivals.extend((g, mn, True) for g in incoming)
            prev, x = mn, x + mn.bounds.width + GAP
        frag = frag.moved(x, 0)
        entry = frag.entry
        if incoming and not merged:
            arrivals.extend((g, entry, False) for g in incoming)
        if prev is not None:
            edges.append(connect(prev, entry))
        placed.append(frag)
        edges.extend(frag.edges)
        for g in frag.gotos:
            jumps.setdefault(alias.get(g.target) or g.target, []).append(g)
        prev = frag.exit
        open_in, x = False, x + frag.width + GAP
    pending = [g for group in jumps.values() for g in group]
    return _finish(placed, edges, arrivals, pending, x - GAP)


def _finish(placed: list[Frag], edges: list[Edge | Shift[Edge]], arrivals: list[tuple[Goto, Node, bool]],
            pending: list[Goto], width: int) -> Frag:
    down = max(f.down for f in placed)
    base = down + LANE
    ordered = sorted(arrivals, key=lambda a: (a[0].port, a[0].source, a[0].edge_id or ""))
    for i, (g, target, bottom) in enumerate(ordered):
        lane = base + LANE * (len(ordered) - 1 - i)
        edges.append(_jump(g, target, lane, bottom))
    if ordered:
        down = base + LANE * (len(ordered) - 1) + 10
    nodes = tuple(n for f in placed for n in f.nodes)
    return Frag(nodes, tuple(edges), width, max(f.up for f in placed), down, placed[0].entry,
                placed[-1].exit, tuple(pending))


def with_tails(main: Frag, tails: Sequence[tuple[str, Frag]], merge_for: Callable[[str], Node]) -> Frag:
    """``main`` and, stacked right of and below it, the ``tails`` its jumps go to (pairs of a
    jump target and a fragment that ends the process). A jump runs straight down from its
    port to the axis of its tail, then right into it: routes to one tail share that last
    segment, through the merge gateway ``merge_for(target)`` when more than one arrives."""
    x0, half = main.width + GAP, _SIZES["gateway"][1] // 2  # half: a merge gateway's height
    nodes: list[Node | Shift[Node]] = [*main.nodes]
    edges: list[Edge | Shift[Edge]] = [*main.edges]
    width, below = main.width, main.down + LANE
    for target, tail in tails:
        jumps = [g for g in main.gotos if g.target == target]
        if not jumps:
            continue  # no route ends so: nothing to draw
        y = below + max(tail.up, half)
        merge = merge_for(target).moved(x0, y) if len(jumps) > 1 else None
        placed = tail.moved(x0 if merge is None else x0 + merge.bounds.width + GAP, y)
        entry = placed.entry
        if merge is not None:
            nodes.append(merge)
            edges.append(connect(merge, entry))
            entry = merge
        nodes.extend(placed.nodes)
        edges.extend(placed.edges)
        edges.extend(_drop(g, entry) for g in jumps)
        width = max(width, placed.entry.bounds.x + tail.width)
        below = y + max(tail.down, half) + LANE
    pending = tuple(g for g in main.gotos if g.target not in {t for t, _ in tails})
    return Frag(tuple(nodes), tuple(edges), width, main.up, below, main.entry, None, pending)


def _drop(g: Goto, target: Node) -> Edge:
    """A jump down from its port to the axis of ``target`` and right into it."""
    (sx, sy), (tx, ty) = g.port, target.bounds.left_mid
    return Edge(g.edge_id or flow_id(g.source, target.id), g.source, target.id,
                ((sx, sy), (sx, ty), (tx, ty)), g.name, g.condition)


def _jump(g: Goto, target: Node, lane: int, bottom: bool) -> Edge:
    sx, sy = g.port
    tb = target.bounds
    if bottom:
        points: list[Point] = [(sx, sy), (sx, lane), (tb.center_x, lane), tb.bottom_mid]
    else:
        xm = tb.x - GAP // 2
        points = [(sx, sy), (sx, lane), (xm, lane), (xm, tb.center_y), tb.left_mid]
    return Edge(g.edge_id or flow_id(g.source, target.id), g.source, target.id, tuple(points),
                g.name, g.condition)
