"""Serialise the BPMN element graph: the process, its errors and the diagram, with lxml.

The output depends only on the graph: namespaces, attributes and elements are written in a
fixed order, so the same graph gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ._graph import Edge, El, Node

__all__ = ["NS", "Document", "write"]

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "zeebe": "http://camunda.org/schema/zeebe/1.0",
    "modeler": "http://camunda.org/schema/modeler/1.0",
}
EXECUTION_PLATFORM = "Camunda Cloud"
EXECUTION_PLATFORM_VERSION = "8.6.0"


@dataclass(frozen=True, slots=True)
class Document:
    """One BPMN file: an executable process, the errors it references, its drawing."""

    process_id: str
    process_name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    errors: tuple[tuple[str, str], ...] = ()  # (id, error code)
    extensions: tuple[El, ...] = ()
    documentation: str | None = None


def _q(name: str) -> str:
    """``prefix:local`` -> ``{namespace}local``."""
    prefix, _, local = name.partition(":")
    return f"{{{NS[prefix]}}}{local}" if local else name


def _sub(parent: etree._Element, tag: str, attrs: Sequence[tuple[str, str]] = (),
         text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _q(tag))
    for key, value in attrs:
        el.set(_q(key), value)
    if text is not None:
        el.text = text
    return el


def _el(parent: etree._Element, spec: El) -> None:
    el = _sub(parent, spec.tag, spec.attrs, spec.text)
    for child in spec.children:
        _el(el, child)


def write(doc: Document) -> bytes:
    """The BPMN 2.0 XML text of ``doc``, UTF-8 with an XML declaration."""
    root = etree.Element(_q("bpmn:definitions"), nsmap=NS)
    for key, value in (("id", f"Definitions_{doc.process_id}"),
                       ("targetNamespace", "https://productkit.dev/bpmn"),
                       ("exporter", "productkit"),
                       ("modeler:executionPlatform", EXECUTION_PLATFORM),
                       ("modeler:executionPlatformVersion", EXECUTION_PLATFORM_VERSION)):
        root.set(_q(key), value)
    _process(root, doc)
    for error_id, code in doc.errors:
        _sub(root, "bpmn:error", [("id", error_id), ("name", code), ("errorCode", code)])
    _diagram(root, doc)
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(body)


def _process(root: etree._Element, doc: Document) -> None:
    proc = _sub(root, "bpmn:process", [("id", doc.process_id), ("name", doc.process_name),
                                       ("isExecutable", "true")])
    if doc.documentation:
        _sub(proc, "bpmn:documentation", text=doc.documentation)
    _extensions(proc, doc.extensions)
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[Edge]] = {}
    flows = [e for e in doc.edges if not e.association]
    for e in flows:
        incoming.setdefault(e.target, []).append(e.id)
        outgoing.setdefault(e.source, []).append(e)
    for node in doc.nodes:
        _node(proc, node, incoming.get(node.id, []), outgoing.get(node.id, []))
    for e in flows:
        _flow(proc, e)
    for e in doc.edges:  # artifacts follow every flow element (BPMN 2.0 XSD, tProcess)
        if e.association:
            _sub(proc, "bpmn:association", [("id", e.id), ("associationDirection", "One"),
                                            ("sourceRef", e.source), ("targetRef", e.target)])


def _extensions(parent: etree._Element, extensions: Sequence[El]) -> None:
    if extensions:
        ext = _sub(parent, "bpmn:extensionElements")
        for spec in extensions:
            _el(ext, spec)


def _default_flow(node: Node, out: Sequence[Edge]) -> str | None:
    """The one unconditioned flow leaving a splitting exclusive gateway is its default."""
    if node.tag != "exclusiveGateway" or len(out) < 2:
        return None
    plain = [e.id for e in out if e.condition is None]
    if len(plain) > 1:
        raise ValueError(f"gateway {node.id} has {len(plain)} flows without a condition")
    return plain[0] if plain else None


def _node(proc: etree._Element, node: Node, incoming: Sequence[str], out: Sequence[Edge]) -> None:
    attrs = [("id", node.id)] + ([("name", node.name)] if node.name else []) + list(node.attrs)
    default = _default_flow(node, out)
    if default is not None:
        attrs.append(("default", default))
    el = _sub(proc, f"bpmn:{node.tag}", attrs)
    if node.documentation:
        _sub(el, "bpmn:documentation", text=node.documentation)
    _extensions(el, node.extensions)
    for flow in incoming:
        _sub(el, "bpmn:incoming", text=flow)
    for e in out:
        _sub(el, "bpmn:outgoing", text=e.id)
    for spec in node.body:
        _el(el, spec)


def _flow(proc: etree._Element, e: Edge) -> None:
    attrs = [("id", e.id)] + ([("name", e.name)] if e.name else [])
    flow = _sub(proc, "bpmn:sequenceFlow", attrs + [("sourceRef", e.source), ("targetRef", e.target)])
    if e.condition is not None:
        _sub(flow, "bpmn:conditionExpression", [("xsi:type", "bpmn:tFormalExpression")], e.condition)


def _diagram(root: etree._Element, doc: Document) -> None:
    diagram = _sub(root, "bpmndi:BPMNDiagram", [("id", f"BPMNDiagram_{doc.process_id}")])
    plane = _sub(diagram, "bpmndi:BPMNPlane", [("id", f"BPMNPlane_{doc.process_id}"),
                                               ("bpmnElement", doc.process_id)])
    for node in doc.nodes:
        attrs = [("id", f"{node.id}_di"), ("bpmnElement", node.id)]
        if node.tag == "exclusiveGateway":
            attrs.append(("isMarkerVisible", "true"))
        shape = _sub(plane, "bpmndi:BPMNShape", attrs)
        b = node.bounds
        _sub(shape, "dc:Bounds", [("x", str(b.x)), ("y", str(b.y)), ("width", str(b.width)),
                                  ("height", str(b.height))])
    for e in sorted(doc.edges, key=lambda e: e.association):  # the order of the process
        edge = _sub(plane, "bpmndi:BPMNEdge", [("id", f"{e.id}_di"), ("bpmnElement", e.id)])
        for x, y in e.waypoints:
            _sub(edge, "di:waypoint", [("x", str(x)), ("y", str(y))])
