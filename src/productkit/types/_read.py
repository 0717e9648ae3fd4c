"""Reading scalars from YAML source text: the shared lexical rules of the number types."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ._base import ValueProblem, describe

__all__ = ["number_hint", "text_of"]


def number_hint(text: str) -> str | None:
    """How to write a number YAML 1.1 would misread, or None."""
    if re.fullmatch(r"[-+]?0[0-9]+(\.[0-9]+)?", text):
        return f"'{text}' has a leading zero, which YAML 1.1 reads as octal; write it without the zero"
    if "_" in text and re.fullmatch(r"[-+]?[0-9_.]+", text):
        return f"digit separators are not allowed; write {text.replace('_', '')}"
    if re.fullmatch(r"[-+]?[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?", text):
        return f"'{text}' is a base-60 number in YAML 1.1; quote it if it is text"
    if re.fullmatch(r"[-+]?([0-9]*\.[0-9]+|[0-9]+\.?)[eE][-+]?[0-9]+", text):
        return "exponents are not allowed; write the number out in full"
    if re.fullmatch(r"[-+]?\.[0-9]+", text) or re.fullmatch(r"[-+]?[0-9]+\.", text):
        return "write a digit on both sides of the decimal point, e.g. 0.5"
    return None


def text_of(raw: Any, expected: str) -> str:
    """The stripped source text of a scalar; PK104 for a mapping, list or null."""
    if isinstance(raw, bool | int | Decimal):
        return str(raw).lower() if isinstance(raw, bool) else str(raw)
    if not isinstance(raw, str):
        raise ValueProblem("PK104", f"found {describe(raw)}, expected {expected}")
    return raw.strip()
