"""Exact ranges as regular expressions over digit strings, so a standard JSON Schema validator
decides bounds, decimal places and steps of an exact decimal (sent as text) exactly as the
runtime does, with no binary float anywhere.

Only ``[0-9]`` classes, literals, groups and alternation are used: the same in ECMA-262 (ajv,
with or without the ``u`` flag), Python ``re`` and RE2, and free of nested quantifiers.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

__all__ = ["decimal_pattern", "fixed_range", "step_pattern"]

_D = "[0-9]"


def _alt(parts: list[str]) -> str:
    parts = list(dict.fromkeys(parts))  # once each, in order
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _any(n: int) -> str:
    return "" if n == 0 else _D if n == 1 else f"{_D}{{{n}}}"


def fixed_range(a: str, b: str) -> str:
    """Strings of ``a``'s format (same length, same non-digit characters) between ``a`` and
    ``b`` inclusive, compared digit by digit; ``a <= b``."""
    if not a:
        return ""
    if a[0] == b[0]:
        return _lit(a[0]) + fixed_range(a[1:], b[1:])
    if _lows(a[1:]) == a[1:] and _highs(b[1:]) == b[1:]:
        return _span(a[0], b[0]) + _shape(a[1:])
    parts = [a[0] + fixed_range(a[1:], _highs(a[1:]))]
    if int(b[0]) - int(a[0]) > 1:
        parts.append(_span(str(int(a[0]) + 1), str(int(b[0]) - 1)) + _shape(a[1:]))
    parts.append(b[0] + fixed_range(_lows(b[1:]), b[1:]))
    return _alt(parts)


def _lit(ch: str) -> str:
    return ch if ch.isdigit() or ch in ":-" else "\\" + ch


def _lows(s: str) -> str:
    return "".join("0" if c.isdigit() else c for c in s)


def _highs(s: str) -> str:
    return "".join("9" if c.isdigit() else c for c in s)


def _shape(s: str) -> str:
    """Any string of the format of ``s``."""
    out, run = "", 0
    for c in s:
        if c.isdigit():
            run += 1
            continue
        out += _any(run) + _lit(c)
        run = 0
    return out + _any(run)


def _span(lo: str, hi: str) -> str:
    return lo if lo == hi else f"[{lo}-{hi}]"


def _integers(lo: int, hi: int) -> list[str]:
    """Canonical whole numbers (no leading zeros) from ``lo`` to ``hi``, both >= 0."""
    out: list[str] = []
    for n in range(len(str(lo)), len(str(hi)) + 1):
        first = max(lo, 10 ** (n - 1) if n > 1 else 0)
        last = min(hi, 10 ** n - 1)
        if first <= last:
            out.append(fixed_range(str(first), str(last)))
    return out


def _magnitudes(lo: Decimal, hi: Decimal, places: int) -> list[str]:
    """Written magnitudes ``I`` or ``I.F`` (1..places digits) with ``lo <= value <= hi``."""
    out: list[str] = []
    for k in range(places + 1):
        unit = Decimal(1).scaleb(-k)
        first = int((lo / unit).to_integral_value(ROUND_CEILING))
        last = int((hi / unit).to_integral_value(ROUND_FLOOR))
        if first > last:
            continue
        if k == 0:
            out += _integers(first, last)
            continue
        ia, fa = divmod(first, 10 ** k)
        ib, fb = divmod(last, 10 ** k)
        out += _with_fraction(ia, f"{fa:0{k}d}", ib, f"{fb:0{k}d}", k)
    return out


def _with_fraction(ia: int, fa: str, ib: int, fb: str, k: int) -> list[str]:
    if ia == ib:
        return [str(ia) + r"\." + fixed_range(fa, fb)]
    out = [str(ia) + r"\." + fixed_range(fa, "9" * k)]
    if ib - ia > 1:
        out.append(_alt(_integers(ia + 1, ib - 1)) + r"\." + _any(k))
    out.append(str(ib) + r"\." + fixed_range("0" * k, fb))
    return out


def decimal_pattern(lo: Decimal, hi: Decimal, places: int) -> str:
    """An anchored pattern of the decimals ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?`` whose value lies in
    ``[lo, hi]`` and that are written with at most ``places`` decimal places."""
    parts: list[str] = []
    if hi >= 0:
        parts += _magnitudes(max(lo, Decimal(0)), hi, places)
    if lo <= 0:
        neg = _magnitudes(max(-hi, Decimal(0)), -lo, places)
        if neg:
            parts.append("-" + _alt(neg))
    return "^" + (_alt(parts) if parts else "(?!)") + "$"


def step_pattern(base: int, step: int, negative: bool) -> str | None:
    """A pattern of the written decimals equal to ``base + k * step`` (whole numbers), or None
    when ``step`` does not divide a power of ten up to 10^6 or needs too many endings."""
    m = next((m for m in range(7) if 10 ** m % step == 0), None)
    if m is None or 10 ** m // step > 50:
        return None
    frac = r"(?:\.0+)?"
    pos = _endings(base % step, step, m)
    out = [pos]
    if negative:
        out.append("-" + _endings((-base) % step, step, m))
    return "^" + _alt(out) + frac + "$"


def _endings(residue: int, step: int, m: int) -> str:
    """Whole numbers ``n >= 0`` with ``n % step == residue``: by their last ``m`` digits."""
    ends = list(range(residue, 10 ** m, step))
    if m == 0:
        return "(?:0|[1-9]" + _D + "*)"
    long_form = "[1-9]" + _D + "*" + _alt([f"{r:0{m}d}" for r in ends])
    return _alt([long_form, *(str(r) for r in ends)])
