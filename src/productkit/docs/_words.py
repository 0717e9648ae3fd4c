"""Conditions in words: a CEL condition as a designer reads it, in zh-CN or en.

Only the operators are rewritten (names, literals and parentheses stay as written), so the
sentence never claims more than the expression says."""

from __future__ import annotations

import re

__all__ = ["condition_words", "duration_words", "label"]

_OPS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (("&&", " and "), ("||", " or "), ("!=", " is not "), ("==", " is "), (">=", " ≥ "), ("<=", " ≤ "),
           (" in ", " is one of ")),
    "zh-CN": (("&&", " 并且 "), ("||", " 或 "), ("!=", " 不是 "), ("==", " 是 "), (">=", " ≥ "), ("<=", " ≤ "),
              (" in ", " 属于 ")),
}
_HAS = {"en": r"\1 is given", "zh-CN": r"\1 已提供"}
_NOT = {"en": "not ", "zh-CN": "非 "}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')


def condition_words(expr: str, lang: str) -> str:
    """``channel in ["mobile"] && !has(a.b)`` -> ``channel is one of ["mobile"] and not a.b is given``."""
    parts = _STRING.split(" ".join(expr.split()))
    literals = _STRING.findall(" ".join(expr.split()))
    out = [_words(part, lang) for part in parts]
    text = out[0]
    for lit, part in zip(literals, out[1:], strict=True):
        text += lit + part
    return " ".join(text.split())


def _words(code: str, lang: str) -> str:
    code = re.sub(r"\bhas\(([\w.]+)\)", _HAS[lang], code)
    for op, word in _OPS[lang]:
        code = code.replace(op, word)
    return re.sub(r"!(?!=)", _NOT[lang], code)


_UNITS = {"en": {"D": "d", "H": "h", "M": "min", "S": "s"}, "zh-CN": {"D": "天", "H": "小时", "M": "分钟", "S": "秒"}}


def duration_words(iso: str, lang: str) -> str:
    """``PT24H`` -> ``24h`` / ``24小时``; text that is not a simple ISO duration stays as written."""
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", iso)
    if not m or not any(m.groups()):
        return iso
    units = _UNITS[lang]
    return " ".join(f"{n}{units[u]}" for n, u in zip(m.groups(), "DHMS", strict=True) if n)


def label(value: object, lang: str, fallback: str = "") -> str:
    """The ``lang`` text of a bilingual label (a mapping, either key spelling, or a model with
    ``zh_cn`` and ``en``), else the other language."""
    if hasattr(value, "zh_cn") and hasattr(value, "en"):
        value = {"zh-CN": value.zh_cn, "en": value.en}
    if isinstance(value, dict):
        for key in (lang, lang.replace("-", "_").lower(), "en", "zh-CN", "zh_cn"):
            if value.get(key):
                return str(value[key])
        return fallback
    return str(value) if value not in (None, "") else fallback
