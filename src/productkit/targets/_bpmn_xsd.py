"""BPMN files checked against the OMG BPMN 2.0 XML Schema that productkit ships (``xsd/``)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lxml is imported when a file is first checked: importing the targets stays cheap
    from lxml import etree

__all__ = ["bpmn_xsd", "xsd_problems"]


@functools.cache
def _safe_xml() -> etree.XMLParser:
    """Our own output is parsed, but still without entities or network access."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@functools.cache
def bpmn_xsd() -> etree.XMLSchema:
    """The OMG BPMN 2.0 XML Schema."""
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(Path(__file__).parent / "xsd" / "BPMN20.xsd"), _safe_xml()))


def xsd_problems(files: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
    """(file name, problem) for every file that is not well-formed or not valid BPMN 2.0."""
    from lxml import etree

    schema, parser = bpmn_xsd(), _safe_xml()
    for name, data in sorted(files.items()):
        try:
            doc = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            yield name, f"not well-formed XML: {exc}"
            continue
        if not schema.validate(doc):
            yield name, f"fails the BPMN 2.0 XML Schema: {schema.error_log.last_error}"
