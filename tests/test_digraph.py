"""The step graph answers as the general graph library does, on random graphs: the same
topological order (ties broken the same way), the same reachability, the same cycles found."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import _digraph as dg

NAMES = st.sampled_from([f"s{i}" for i in range(12)])
EDGES = st.lists(st.tuples(NAMES, NAMES), max_size=40)


def _both(edges: list[tuple[str, str]], extra: list[str]) -> tuple[dg.DiGraph, nx.DiGraph]:
    ours, theirs = dg.DiGraph(), nx.DiGraph()
    for graph in (ours, theirs):
        for i, (a, b) in enumerate(edges):
            graph.add_edge(a, b, why=i)
        graph.add_nodes_from(extra)
    return ours, theirs


def _acyclic(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(a, b) for a, b in edges if a < b]


@settings(max_examples=300, deadline=None)
@given(EDGES, st.lists(NAMES, max_size=4), st.dictionaries(NAMES, st.integers(-1, 3)))
def test_the_order_is_the_librarys(edges: list[tuple[str, str]], extra: list[str], rank: dict[str, int]) -> None:
    for given_edges in (edges, _acyclic(edges)):
        ours, theirs = _both(given_edges, extra)
        assert dg.is_acyclic(ours) == nx.is_directed_acyclic_graph(theirs)
        for key in (None, lambda n: rank.get(n, -1)):
            try:
                expected = list(nx.lexicographical_topological_sort(theirs, key=key))
            except nx.NetworkXUnfeasible:
                with pytest.raises(dg.NotAcyclic):
                    dg.lexicographical_topological_sort(ours, key=key)
            else:
                assert dg.lexicographical_topological_sort(ours, key=key) == expected


@settings(max_examples=300, deadline=None)
@given(EDGES, st.lists(NAMES, max_size=4))
def test_reachability_and_neighbours_are_the_librarys(edges: list[tuple[str, str]], extra: list[str]) -> None:
    ours, theirs = _both(edges, extra)
    assert list(ours) == list(theirs)
    for node in theirs:
        assert dg.descendants(ours, node) == nx.descendants(theirs, node)
        assert dg.ancestors(ours, node) == nx.ancestors(theirs, node)
        assert list(ours.successors(node)) == list(theirs.successors(node))
        assert list(ours.predecessors(node)) == list(theirs.predecessors(node))
        for other in theirs:
            assert dg.has_path(ours, node, other) == nx.has_path(theirs, node, other)
    for a, b in theirs.edges:
        assert ours.has_edge(a, b) and ours.edge_data(a, b) == theirs.edges[a, b]
    assert sorted(ours.edges()) == sorted(theirs.edges)


@settings(max_examples=200, deadline=None)
@given(EDGES)
def test_the_library_sees_the_same_graph_and_finds_the_same_cycles(edges: list[tuple[str, str]]) -> None:
    ours, theirs = _both(edges, [])
    copy = ours.to_networkx()
    assert list(copy.nodes) == list(theirs.nodes)
    assert list(copy.edges(data=True)) == list(theirs.edges(data=True))
    assert [list(copy.predecessors(n)) for n in copy] == [list(theirs.predecessors(n)) for n in theirs]
    found = [nx.find_cycle(theirs.subgraph(c)) for c in nx.strongly_connected_components(theirs)
             if len(c) > 1 or theirs.has_edge(next(iter(c)), next(iter(c)))]
    again = [nx.find_cycle(copy.subgraph(c)) for c in nx.strongly_connected_components(copy)
             if len(c) > 1 or copy.has_edge(next(iter(c)), next(iter(c)))]
    assert again == found


def test_a_node_not_in_the_graph_is_a_caller_bug() -> None:
    graph = dg.DiGraph([("a", "b")])
    with pytest.raises(KeyError):
        dg.has_path(graph, "a", "z")
    with pytest.raises(KeyError):
        dg.descendants(graph, "z")
    assert dg.has_path(graph, "a", "a") and not dg.has_path(graph, "b", "a")
