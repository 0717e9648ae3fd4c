"""The small directed graph a product's steps form, and the few questions its checks ask of it.

A product has tens of steps and about a hundred edges; every product of a catalogue is assembled
on every cold validation, and every changed one on a designer's pre-commit check. The general
graph library costs a tenth of a second to import and several times these functions' work per
call, so the order and reachability the checks need are answered here. What only a broken
product needs (its cycles, named edge by edge) and what the ``graph`` command draws are answered
by that library, given :meth:`DiGraph.to_networkx`: nodes and edges in the same order, so it
answers as if it had held the graph all along.

Nodes and edges keep the order they were added in, as the library's graphs do: a step's
predecessors are listed in that order, and the lexicographic topological order breaks ties by it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["DiGraph", "NotAcyclic", "ancestors", "descendants", "has_path", "is_acyclic",
           "lexicographical_topological_sort"]


class NotAcyclic(ValueError):
    """The graph has a cycle: it has no topological order."""


class DiGraph:
    """Nodes, and edges each with a dictionary of data, in insertion order."""

    __slots__ = ("_edges", "_pred", "_succ")

    def __init__(self, edges: Iterable[tuple[str, str]] = ()) -> None:
        self._succ: dict[str, dict[str, None]] = {}
        self._pred: dict[str, dict[str, None]] = {}
        self._edges: dict[tuple[str, str], dict[str, Any]] = {}
        for a, b in edges:
            self.add_edge(a, b)

    def add_node(self, node: str) -> None:
        if node not in self._succ:
            self._succ[node] = {}
            self._pred[node] = {}

    def add_nodes_from(self, nodes: Iterable[str]) -> None:
        for node in nodes:
            self.add_node(node)

    def add_edge(self, a: str, b: str, **data: Any) -> None:
        """The edge a -> b (its data updated when it is there already)."""
        self.add_node(a)
        self.add_node(b)
        self._succ[a][b] = None
        self._pred[b][a] = None
        self._edges.setdefault((a, b), {}).update(data)

    def has_edge(self, a: str, b: str) -> bool:
        return (a, b) in self._edges

    def edge_data(self, a: str, b: str) -> dict[str, Any]:
        return self._edges[a, b]

    def edges(self) -> list[tuple[str, str]]:
        """Every edge, in the order they were added."""
        return list(self._edges)

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._succ[node])

    def predecessors(self, node: str) -> Iterator[str]:
        return iter(self._pred[node])

    def __iter__(self) -> Iterator[str]:
        return iter(self._succ)

    def __contains__(self, node: object) -> bool:
        return node in self._succ

    def __len__(self) -> int:
        return len(self._succ)

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as the general library's: nodes, edges and their data added in the same
        order (so its algorithms walk it as they would have walked the original)."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self._succ)
        for (a, b), data in self._edges.items():
            graph.add_edge(a, b, **data)
        return graph


def _reached(step: dict[str, dict[str, None]], source: str) -> set[str]:
    if source not in step:
        raise KeyError(f"{source!r} is not a node of the graph")
    seen: set[str] = set()
    todo = [source]
    while todo:
        for nxt in step[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    seen.discard(source)
    return seen


def descendants(graph: DiGraph, node: str) -> set[str]:
    """The nodes a path leads to from ``node`` (never ``node`` itself)."""
    return _reached(graph._succ, node)


def ancestors(graph: DiGraph, node: str) -> set[str]:
    """The nodes from which a path leads to ``node`` (never ``node`` itself)."""
    return _reached(graph._pred, node)


def has_path(graph: DiGraph, source: str, target: str) -> bool:
    """Whether a path leads from ``source`` to ``target`` (always, from a node to itself)."""
    succ = graph._succ
    if source not in succ or target not in succ:
        raise KeyError(f"{source!r} or {target!r} is not a node of the graph")
    if source == target:
        return True
    seen, todo = {source}, [source]
    while todo:
        for nxt in succ[todo.pop()]:
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def lexicographical_topological_sort(graph: DiGraph, key: Callable[[str], Any] | None = None) -> list[str]:
    """Every node after the nodes with an edge to it; among the nodes free to come next, the one
    with the smallest ``key`` (default: the node itself), then the one added first.
    NotAcyclic when there is no such order."""
    index = {node: i for i, node in enumerate(graph._succ)}
    waiting = {node: len(pred) for node, pred in graph._pred.items() if pred}
    sort_key: Callable[[str], Any] = key if key is not None else _same
    free = [(sort_key(node), index[node], node) for node, pred in graph._pred.items() if not pred]
    heapq.heapify(free)
    out: list[str] = []
    while free:
        node = heapq.heappop(free)[2]
        out.append(node)
        for child in graph._succ[node]:
            waiting[child] -= 1
            if not waiting[child]:
                del waiting[child]
                heapq.heappush(free, (sort_key(child), index[child], child))
    if waiting:
        raise NotAcyclic(f"{len(waiting)} node(s) are on or after a cycle")
    return out


def is_acyclic(graph: DiGraph) -> bool:
    """Whether no path leads from a node back to itself (an edge from a node to itself is one)."""
    waiting = {node: len(pred) for node, pred in graph._pred.items() if pred}
    todo = [node for node, pred in graph._pred.items() if not pred]
    while todo:
        for child in graph._succ[todo.pop()]:
            waiting[child] -= 1
            if not waiting[child]:
                del waiting[child]
                todo.append(child)
    return not waiting


def _same(node: str) -> str:
    return node
