"""Serialise the BPMN element graph: the process, its errors and the diagram.

The output depends only on the graph: namespaces, attributes and elements are written in a
fixed order, so the same graph gives the same bytes.

A shape or an edge of the diagram names the element it draws (``bpmnElement``) and has no id
of its own (DI ids are optional, and nothing refers to them): they were a sixteenth of a file.

The bytes are those lxml (libxml2) writes for the tree :func:`_lxml_write` builds: compact
(what the build writes: indentation was a tenth of every file), or pretty printed. Building
that tree costs more than the rest of the emitter, so :func:`write` writes the same text
directly, escaping as libxml2 does, and already shortened (:func:`_shortened`). Anything out
of the ordinary (a string lxml refuses, a value that is not a ``str``, an unknown prefix, a
gateway with two default flows) goes to the lxml writer instead, which then writes it or
raises exactly what it always did.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._graph import Bounds, Edge, El, Node

if TYPE_CHECKING:  # lxml is imported when the reference writer is first needed
    from lxml import etree

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
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_DI = NS["bpmndi"]


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


def write(doc: Document, *, pretty: bool = False) -> bytes:
    """The BPMN 2.0 XML text of ``doc``, UTF-8 with an XML declaration: compact (no whitespace
    between elements, a final newline), or with ``pretty`` indented, one element a line."""
    try:
        text = _Writer(pretty).document(doc)
    except Exception:  # the lxml writer decides: it writes it or raises
        return _shortened(_lxml_write(doc, pretty))
    return _DECLARATION + text.encode("utf-8")  # written shortened (see _Writer)


_QUOTED = re.compile(rb'="([^"\']*&quot;[^"\']*)"')


def _shortened(text: bytes) -> bytes:
    """What libxml2 wrote, with the same XML information in fewer bytes: see :func:`_unprefixed`;
    an attribute value holding double quotes (FEEL strings, JSON headers) and no single quote
    is written between single quotes, its ``"`` as they are (``&quot;`` is six bytes)."""
    return _QUOTED.sub(lambda m: b"='" + m.group(1).replace(b"&quot;", b'"') + b"'", _unprefixed(text))


def _unprefixed(text: bytes) -> bytes:
    """``text`` with the BPMN model namespace the default one, its elements written without
    the ``bpmn:`` prefix (a sixteenth of a file), and inside ``BPMNDiagram`` the BPMN DI
    namespace the default one (shapes and edges without ``bpmndi:``, a twentieth). The
    prefixes stay declared: ``xsi:type`` values name ``bpmn:tFormalExpression``. Every ``<``
    outside a tag is escaped (text and attribute values alike), so each ``<bpmn:`` and
    ``</bpmn:`` opens or closes a tag."""
    root = b"<bpmn:definitions "
    head, found, rest = text.partition(root)
    if not found:
        return text
    rest = rest.replace(b"<bpmn:", b"<").replace(b"</bpmn:", b"</")
    process, found, diagram = rest.partition(b"<bpmndi:BPMNDiagram ")
    if found:  # the diagram's own elements (bpmndi), in its subtree only
        diagram = diagram.replace(b"<bpmndi:", b"<").replace(b"</bpmndi:", b"</")
        rest = process + b'<BPMNDiagram xmlns="' + NS["bpmndi"].encode() + b'" ' + diagram
    return head + b'<definitions xmlns="' + NS["bpmn"].encode() + b'" ' + rest


def _default_flow(node: Node, out: Sequence[Edge]) -> str | None:
    """The one unconditioned flow leaving a splitting exclusive gateway is its default."""
    if node.tag != "exclusiveGateway" or len(out) < 2:
        return None
    plain = [e.id for e in out if e.condition is None]
    if len(plain) > 1:
        raise ValueError(f"gateway {node.id} has {len(plain)} flows without a condition")
    return plain[0] if plain else None


def _flows(doc: Document) -> tuple[list[Edge], dict[str, list[str]], dict[str, list[Edge]]]:
    """The sequence flows, and their ids into and the flows out of each node."""
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[Edge]] = {}
    flows = [e for e in doc.edges if not e.association]
    for e in flows:
        incoming.setdefault(e.target, []).append(e.id)
        outgoing.setdefault(e.source, []).append(e)
    return flows, incoming, outgoing


# the direct writer ------------------------------------------------------------------------

class _Unusual(Exception):
    """Something the direct writer leaves to lxml."""


_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # lxml refuses
_NAME = re.compile(r"(?:[A-Za-z_][A-Za-z0-9._-]*:)?[A-Za-z_][A-Za-z0-9._-]*")
_NAMES: dict[str, str] = {}  # prefix:local names checked (tags and attributes are code's)


def _needs_escaping(value: str) -> bool:
    """False for plain text; _Unusual for what only the lxml writer may decide on."""
    if value.__class__ is not str:
        raise _Unusual(value)
    if _SPECIAL.search(value) is None:
        return False
    if _INVALID.search(value) is not None:
        raise _Unusual(value)
    return True


def _attr(value: str) -> str:
    """``value`` as libxml2 writes an attribute value (between double quotes)."""
    if not _needs_escaping(value):
        return value
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def _text(value: str) -> str:
    """``value`` as libxml2 writes text content."""
    if not _needs_escaping(value):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _name(name: str) -> str:
    """A tag or attribute name as written: checked once, written as given."""
    if name in _NAMES:
        return name
    prefix, colon, _ = name.partition(":")
    if not _NAME.fullmatch(name) or (colon and prefix not in NS):
        raise _Unusual(name)
    _NAMES[name] = name
    return name


def _quoted(value: str) -> str:
    """An attribute value as written, quotes included: as libxml2 writes it, and then as
    :func:`_shortened` writes a value holding double quotes and no single quote."""
    text = _attr(value)
    if "&quot;" in text and "'" not in text:  # (an escaped value holds no other "&quot;")
        return "'" + text.replace("&quot;", '"') + "'"
    return '"' + text + '"'


def _tag(name: str) -> str:
    """A tag as written: checked as a name, and in the BPMN model namespace without its prefix
    (the default namespace, as :func:`_unprefixed` writes it)."""
    return _name(name).removeprefix("bpmn:")


def _attrs(attrs: Sequence[tuple[str, str]]) -> str:
    return "".join([f' {_name(k)}={_quoted(v)}' for k, v in attrs])


def _inline(spec: El) -> str:
    """An element inside mixed content: libxml2 indents nothing there."""
    tag = _tag(spec.tag)
    head = f"<{tag}{_attrs(spec.attrs)}"
    if spec.text is None and not spec.children:
        return head + "/>"
    text = "" if spec.text is None else _text(spec.text)
    return f"{head}>{text}{''.join([_inline(c) for c in spec.children])}</{tag}>"


class _Writer:
    """The XML text: compact (no whitespace between elements), or pretty printed with two
    spaces of indent per level and one element a line, as libxml2 writes each, shortened as
    :func:`_shortened` shortens it (written so directly: shortening the text afterwards cost a
    third of the writing)."""

    def __init__(self, pretty: bool) -> None:
        self.out: list[str] = []
        self.nl = "\n" if pretty else ""
        self.pads = tuple(("  " * level) if pretty else "" for level in range(64))

    def el(self, spec: El, level: int) -> None:
        pad, nl = self.pads[level], self.nl
        if spec.text is not None:
            self.out.append(pad + _inline(spec) + nl)
            return
        tag = _tag(spec.tag)
        head = f"{pad}<{tag}{_attrs(spec.attrs)}"
        if not spec.children:
            self.out.append(head + "/>" + nl)
            return
        self.out.append(head + ">" + nl)
        for child in spec.children:
            self.el(child, level + 1)
        self.out.append(f"{pad}</{tag}>{nl}")

    def extensions(self, extensions: Sequence[El], level: int) -> None:
        if extensions:
            pad, nl = self.pads[level], self.nl
            self.out.append(f"{pad}<extensionElements>{nl}")
            for spec in extensions:
                self.el(spec, level + 1)
            self.out.append(f"{pad}</extensionElements>{nl}")

    def document(self, doc: Document) -> str:
        ids = [doc.process_id, *[i for i, _ in doc.errors], *[n.id for n in doc.nodes],
               *[i for e in doc.edges for i in (e.id, e.source, e.target)]]
        if _SPECIAL.search(" ".join(ids)) is not None:
            raise _Unusual("an id to escape")  # ids are NCNames: written as they are
        out, nl, p1 = self.out, self.nl, self.pads[1]
        namespaces = "".join([f' xmlns:{p}="{uri}"' for p, uri in NS.items()])
        out.append(f'<definitions xmlns="{NS["bpmn"]}"{namespaces} id="Definitions_{doc.process_id}" '
                   'targetNamespace="https://productkit.dev/bpmn" exporter="productkit" '
                   f'modeler:executionPlatform="{EXECUTION_PLATFORM}" '
                   f'modeler:executionPlatformVersion="{EXECUTION_PLATFORM_VERSION}">{nl}')
        self.process(doc)
        out.extend([f'{p1}<error id="{i}" name={_quoted(c)} errorCode={_quoted(c)}/>{nl}'
                    for i, c in doc.errors])
        self.diagram(doc)
        out.append("</definitions>\n")
        return "".join(out)

    def process(self, doc: Document) -> None:
        out, nl, (p1, p2, p3) = self.out, self.nl, self.pads[1:4]
        head = f'{p1}<process id="{doc.process_id}" name={_quoted(doc.process_name)} isExecutable="true"'
        if not (doc.documentation or doc.extensions or doc.nodes or doc.edges):
            out.append(head + "/>" + nl)
            return
        out.append(head + ">" + nl)
        if doc.documentation:
            out.append(f"{p2}<documentation>{_text(doc.documentation)}</documentation>{nl}")
        self.extensions(doc.extensions, 2)
        flows, incoming, outgoing = _flows(doc)
        for node in doc.nodes:
            self.node(node, incoming.get(node.id, ()), outgoing.get(node.id, ()))
        for e in flows:
            name = f' name={_quoted(e.name)}' if e.name else ""
            head = f'{p2}<sequenceFlow id="{e.id}"{name} sourceRef="{e.source}" targetRef="{e.target}"'
            if e.condition is None:
                out.append(head + "/>" + nl)
                continue
            out.append(f'{head}>{nl}{p3}<conditionExpression xsi:type="bpmn:tFormalExpression">'
                       f"{_text(e.condition)}</conditionExpression>{nl}{p2}</sequenceFlow>{nl}")
        out.extend([f'{p2}<association id="{e.id}" associationDirection="One" '
                    f'sourceRef="{e.source}" targetRef="{e.target}"/>{nl}'
                    for e in doc.edges if e.association])
        out.append(f"{p1}</process>{nl}")

    def node(self, node: Node, incoming: Sequence[str], out: Sequence[Edge]) -> None:
        opened, closed, empty = _node_text(node.id, node.tag, node.name, node.attrs, node.documentation,
                                           node.extensions, node.body, _default_flow(node, out), self.nl)
        lines, nl, p3 = self.out, self.nl, self.pads[3]
        if empty and not (incoming or out):
            lines.append(empty)
            return
        lines.append(opened)
        lines.extend([f"{p3}<incoming>{i}</incoming>{nl}" for i in incoming])
        lines.extend([f"{p3}<outgoing>{e.id}</outgoing>{nl}" for e in out])
        lines.append(closed)

    def node_parts(self, node: Node, default: str | None) -> tuple[str, str, str | None]:
        """A flow node's text around its incoming and outgoing references: up to them, after
        them, and the whole element when it has none (else None)."""
        head = f' id="{node.id}" name={_quoted(node.name)}' if node.name else f' id="{node.id}"'
        if node.attrs:
            keys = {k for k, _ in node.attrs}
            if len(keys) < len(node.attrs) or not keys.isdisjoint(("id", "name", "default")):
                raise _Unusual(node.attrs)  # lxml keeps the first place and the last value
            head += _attrs(node.attrs)
        if default is not None:
            head += f' default="{default}"'
        tag = _tag(f"bpmn:{node.tag}")
        nl, (p2, p3) = self.nl, self.pads[2:4]
        empty = None if node.documentation or node.extensions or node.body else f"{p2}<{tag}{head}/>{nl}"
        start = len(self.out)
        self.out.append(f"{p2}<{tag}{head}>{nl}")
        if node.documentation:
            self.out.append(f"{p3}<documentation>{_text(node.documentation)}</documentation>{nl}")
        self.extensions(node.extensions, 3)
        opened = "".join(self.out[start:])
        del self.out[start:]
        for spec in node.body:
            self.el(spec, 3)
        self.out.append(f"{p2}</{tag}>{nl}")
        closed = "".join(self.out[start:])
        del self.out[start:]
        return opened, closed, empty

    def diagram(self, doc: Document) -> None:
        out, nl, (p1, p2, p3, p4) = self.out, self.nl, self.pads[1:5]
        pid = doc.process_id
        out.append(f'{p1}<BPMNDiagram xmlns="{_DI}" id="BPMNDiagram_{pid}">{nl}'
                   f'{p2}<BPMNPlane id="BPMNPlane_{pid}" bpmnElement="{pid}"')
        if not (doc.nodes or doc.edges):
            out.append(f"/>{nl}{p1}</BPMNDiagram>{nl}")
            return
        out.append(">" + nl)
        for node in doc.nodes:
            b = node.bounds
            marker = ' isMarkerVisible="true"' if node.tag == "exclusiveGateway" else ""
            out.append(f'{p3}<BPMNShape bpmnElement="{node.id}"{marker}>{nl}'
                       f'{p4}<dc:Bounds x="{b.x:d}" y="{b.y:d}" width="{b.width:d}" '
                       f'height="{b.height:d}"/>{nl}{p3}</BPMNShape>{nl}')
        for e in sorted(doc.edges, key=lambda e: e.association):  # the order of the process
            head = f'{p3}<BPMNEdge bpmnElement="{e.id}"'
            if not e.waypoints:
                out.append(head + "/>" + nl)
                continue
            points = "".join([f'{p4}<di:waypoint x="{x:d}" y="{y:d}"/>{nl}' for x, y in e.waypoints])
            out.append(f"{head}>{nl}{points}{p3}</BPMNEdge>{nl}")
        out.append(f"{p2}</BPMNPlane>{nl}{p1}</BPMNDiagram>{nl}")


# Products of one line share most of their steps, so most flow nodes of a build are written
# many times with the same text (a tenth of the nodes at the catalogue's scale are distinct):
# each distinct node's text is made once per process. The key is everything the text depends
# on but the node's references to its flows; a node the direct writer refuses is not kept.
@functools.lru_cache(maxsize=1 << 14)
def _node_text(node_id: str, tag: str, name: str | None, attrs: tuple[tuple[str, str], ...],
               documentation: str | None, extensions: tuple[El, ...], body: tuple[El, ...],
               default: str | None, nl: str) -> tuple[str, str, str | None]:
    node = Node(node_id, tag, name, _NOWHERE, attrs, extensions, body, documentation)
    return _Writer(bool(nl)).node_parts(node, default)


_NOWHERE = Bounds(0, 0, 0, 0)


# the lxml writer: what the direct writer writes, and the judge of anything unusual ---------

_QNAMES: dict[str, str] = {}


def _q(name: str) -> str:
    """``prefix:local`` -> ``{namespace}local``."""
    if name not in _QNAMES:
        prefix, _, local = name.partition(":")
        _QNAMES[name] = f"{{{NS[prefix]}}}{local}" if local else name
    return _QNAMES[name]


def _sub(parent: etree._Element, tag: str, attrs: Sequence[tuple[str, str]] = (),
         text: str | None = None) -> etree._Element:
    from lxml import etree

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


def _lxml_write(doc: Document, pretty: bool) -> bytes:
    from lxml import etree

    root = etree.Element(_q("bpmn:definitions"), nsmap=NS)
    for key, value in (("id", f"Definitions_{doc.process_id}"),
                       ("targetNamespace", "https://productkit.dev/bpmn"),
                       ("exporter", "productkit"),
                       ("modeler:executionPlatform", EXECUTION_PLATFORM),
                       ("modeler:executionPlatformVersion", EXECUTION_PLATFORM_VERSION)):
        root.set(_q(key), value)
    _lxml_process(root, doc)
    for error_id, code in doc.errors:
        _sub(root, "bpmn:error", [("id", error_id), ("name", code), ("errorCode", code)])
    _lxml_diagram(root, doc)
    body = bytes(etree.tostring(root, encoding="UTF-8", pretty_print=pretty))
    return _DECLARATION + (body if pretty else body + b"\n")


def _lxml_process(root: etree._Element, doc: Document) -> None:
    proc = _sub(root, "bpmn:process", [("id", doc.process_id), ("name", doc.process_name),
                                       ("isExecutable", "true")])
    if doc.documentation:
        _sub(proc, "bpmn:documentation", text=doc.documentation)
    _lxml_extensions(proc, doc.extensions)
    flows, incoming, outgoing = _flows(doc)
    for node in doc.nodes:
        _lxml_node(proc, node, incoming.get(node.id, []), outgoing.get(node.id, []))
    for e in flows:
        attrs = [("id", e.id)] + ([("name", e.name)] if e.name else [])
        flow = _sub(proc, "bpmn:sequenceFlow", attrs + [("sourceRef", e.source), ("targetRef", e.target)])
        if e.condition is not None:
            _sub(flow, "bpmn:conditionExpression", [("xsi:type", "bpmn:tFormalExpression")], e.condition)
    for e in doc.edges:  # artifacts follow every flow element (BPMN 2.0 XSD, tProcess)
        if e.association:
            _sub(proc, "bpmn:association", [("id", e.id), ("associationDirection", "One"),
                                            ("sourceRef", e.source), ("targetRef", e.target)])


def _lxml_extensions(parent: etree._Element, extensions: Sequence[El]) -> None:
    if extensions:
        ext = _sub(parent, "bpmn:extensionElements")
        for spec in extensions:
            _el(ext, spec)


def _lxml_node(proc: etree._Element, node: Node, incoming: Sequence[str], out: Sequence[Edge]) -> None:
    attrs = [("id", node.id)] + ([("name", node.name)] if node.name else []) + list(node.attrs)
    default = _default_flow(node, out)
    if default is not None:
        attrs.append(("default", default))
    el = _sub(proc, f"bpmn:{node.tag}", attrs)
    if node.documentation:
        _sub(el, "bpmn:documentation", text=node.documentation)
    _lxml_extensions(el, node.extensions)
    for flow in incoming:
        _sub(el, "bpmn:incoming", text=flow)
    for e in out:
        _sub(el, "bpmn:outgoing", text=e.id)
    for spec in node.body:
        _el(el, spec)


def _lxml_diagram(root: etree._Element, doc: Document) -> None:
    diagram = _sub(root, "bpmndi:BPMNDiagram", [("id", f"BPMNDiagram_{doc.process_id}")])
    plane = _sub(diagram, "bpmndi:BPMNPlane", [("id", f"BPMNPlane_{doc.process_id}"),
                                               ("bpmnElement", doc.process_id)])
    for node in doc.nodes:
        attrs = [("bpmnElement", node.id)]
        if node.tag == "exclusiveGateway":
            attrs.append(("isMarkerVisible", "true"))
        shape = _sub(plane, "bpmndi:BPMNShape", attrs)
        b = node.bounds
        _sub(shape, "dc:Bounds", [("x", str(b.x)), ("y", str(b.y)), ("width", str(b.width)),
                                  ("height", str(b.height))])
    for e in sorted(doc.edges, key=lambda e: e.association):  # the order of the process
        edge = _sub(plane, "bpmndi:BPMNEdge", [("bpmnElement", e.id)])
        for x, y in e.waypoints:
            _sub(edge, "di:waypoint", [("x", str(x)), ("y", str(y))])
