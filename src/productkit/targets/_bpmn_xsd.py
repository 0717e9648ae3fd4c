"""BPMN files checked against the OMG BPMN 2.0 XML Schema that productkit ships (``xsd/``)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

from lxml import etree

__all__ = ["bpmn_xsd", "xsd_problems"]

# Our own output is parsed, but still without entities or network access.
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@functools.cache
def bpmn_xsd() -> etree.XMLSchema:
    """The OMG BPMN 2.0 XML Schema."""
    return etree.XMLSchema(etree.parse(str(Path(__file__).parent / "xsd" / "BPMN20.xsd"), _SAFE_XML))


def xsd_problems(files: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
    """(file name, problem) for every file that is not well-formed or not valid BPMN 2.0."""
    schema = bpmn_xsd()
    for name, data in sorted(files.items()):
        try:
            doc = etree.fromstring(data, _SAFE_XML)
        except etree.XMLSyntaxError as exc:
            yield name, f"not well-formed XML: {exc}"
            continue
        if not schema.validate(doc):
            yield name, f"fails the BPMN 2.0 XML Schema: {schema.error_log.last_error}"
