"""What a BPMN process means, element ids aside: a canonical graph to compare two emissions.

Two documents mean the same when the same elements, with the same names, extensions, event
definitions and attached boundary events, are reachable from the start event along the same
flows (names, conditions, defaults), whatever the elements' ids and however often a piece is
drawn: one shared end tail reached by three routes means what three copies of it meant. An
exclusive gateway with one outgoing flow and no condition on it only merges flows, so it is
looked through. The result lists every distinct node once, keyed by a digest of what it and
everything after it mean, and names the start's key: a readable golden whose diff shows what
changed meaning.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lxml import etree

__all__ = ["meaning", "meaning_text"]

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_NS = {"bpmn": _BPMN}
_REFS = {"id", "attachedToRef", "default", "sourceRef", "targetRef"}


def meaning(content: bytes) -> dict[str, Any]:
    """The canonical graph of the process in ``content`` (a BPMN document)."""
    return _Reader(etree.fromstring(content)).read()


def meaning_text(content: bytes) -> str:
    """:func:`meaning` as text: one node a line, for a golden file and its diff."""
    found = meaning(content)
    lines = [f'{{"start": {json.dumps(found["start"])}, "nodes": {{']
    nodes = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)}"
             for k, v in found["nodes"].items()]
    return "\n".join(lines) + "\n" + ",\n".join(nodes) + "\n}}\n"


def _local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


class _Reader:
    def __init__(self, root: etree._Element) -> None:
        self.process = root.find("bpmn:process", _NS)
        self.errors = {e.get("id"): e.get("errorCode") for e in root.findall("bpmn:error", _NS)}
        self.nodes = {el.get("id"): el for el in self.process if el.get("id")}
        self.flows = {el.get("id"): el for el in self.process if _local(el) == "sequenceFlow"}
        self.out: dict[str, list[etree._Element]] = {}
        for flow in self.flows.values():
            self.out.setdefault(flow.get("sourceRef"), []).append(flow)
        self.attached: dict[str, list[str]] = {}
        self.handlers: dict[str, str] = {}
        for el in self.process:
            if el.get("attachedToRef"):
                self.attached.setdefault(el.get("attachedToRef"), []).append(el.get("id"))
            if _local(el) == "association":
                self.handlers[el.get("sourceRef")] = el.get("targetRef")
        self.table: dict[str, Any] = {}
        self.keys: dict[str, str] = {}

    def read(self) -> dict[str, Any]:
        start = [i for i, el in self.nodes.items() if _local(el) == "startEvent"]
        return {"start": [self.key(s) for s in start], "nodes": dict(sorted(self.table.items()))}

    def key(self, node_id: str) -> str:
        """The digest of the node ``node_id`` and what follows it, recorded in the table."""
        if node_id in self.keys:
            return self.keys[node_id]
        el = self.nodes[node_id]
        outgoing = self.out.get(node_id, [])
        if _local(el) == "exclusiveGateway" and len(outgoing) == 1 and _is_plain(outgoing[0]):
            found = self.key(outgoing[0].get("targetRef"))
        else:
            entry = {"node": self.label(el), "next": sorted(self.flow(f, el) for f in outgoing),
                     "boundaries": sorted(self.key(b) for b in self.attached.get(node_id, []))}
            if node_id in self.handlers:
                entry["handler"] = self.label(self.nodes[self.handlers[node_id]])
            text = json.dumps(entry, sort_keys=True, ensure_ascii=False)
            found = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
            self.table[found] = entry
        self.keys[node_id] = found
        return found

    def flow(self, flow: etree._Element, source: etree._Element) -> str:
        cond = flow.find("bpmn:conditionExpression", _NS)
        default = source.get("default") == flow.get("id")
        parts = [flow.get("name") or "", "" if cond is None else cond.text or "",
                 "default" if default else "", self.key(flow.get("targetRef"))]
        return "|".join(parts)

    def label(self, el: etree._Element) -> str:
        """The element without its id and flow references, as one line:
        ``tag(attribute=value ...) "text" [children]``."""
        attrs = sorted(f"{etree.QName(k).localname}={json.dumps(self._value(k, v), ensure_ascii=False)}"
                       for k, v in el.attrib.items() if k not in _REFS)
        text = (el.text or "").strip()
        kids = [self.label(c) for c in el if _local(c) not in ("incoming", "outgoing")]
        return (f"{_local(el)}({' '.join(attrs)})" + (f" {json.dumps(text, ensure_ascii=False)}" if text else "")
                + (f" [{', '.join(kids)}]" if kids else ""))

    def _value(self, key: str, value: str) -> str:
        return self.errors.get(value, value) if key == "errorRef" else value


def _is_plain(flow: etree._Element) -> bool:
    return flow.find("bpmn:conditionExpression", _NS) is None and not flow.get("name")
