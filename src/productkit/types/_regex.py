"""Exact ranges as regular expressions over digit strings, so a standard JSON Schema validator
decides bounds, decimal places and steps of an exact decimal (sent as text) exactly as the
runtime does, with no binary float anywhere.

Only ``[0-9]`` classes, literals, groups, alternation, bounded repetition (``[0-9]{0,7}``) and
one optional fraction group per alternative are used: the same in ECMA-262 (ajv, with or without
the ``u`` flag), Python ``re`` and RE2, and free of unbounded nested quantifiers. Whole numbers
whose every written fraction is in range share one ``(?:\\.[0-9]{1,places})?`` instead of one
alternative per number of places, which keeps a money field's pattern short (a range of 1 to
100,000,000 with 2 places: 64 characters, not 400).
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
    # the first and last digits whose every continuation is in range go with those between
    lo = int(a[0]) + (_lows(a[1:]) != a[1:])
    hi = int(b[0]) - (_highs(b[1:]) != b[1:])
    parts = [] if lo == int(a[0]) else [a[0] + fixed_range(a[1:], _highs(a[1:]))]
    if lo <= hi:
        parts.append(_span(str(lo), str(hi)) + _shape(a[1:]))
    if hi == int(b[0]) - 1:
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
    """Canonical whole numbers (no leading zeros) from ``lo`` to ``hi``, both >= 0: a run of
    whole lengths ``[1-9][0-9]{m,n}`` at once, the first and last lengths digit by digit."""
    out: list[str] = []
    if lo == 0:
        out.append("0")
        lo = 1
    if lo > hi:
        return out
    full = [n for n in range(len(str(lo)), len(str(hi)) + 1)
            if lo <= 10 ** (n - 1) and 10 ** n - 1 <= hi]
    for n in range(len(str(lo)), len(str(hi)) + 1):
        if n in full:
            if n == full[0]:
                out.append("[1-9]" + _between(full[0] - 1, full[-1] - 1))
            continue
        out.append(fixed_range(str(max(lo, 10 ** (n - 1))), str(min(hi, 10 ** n - 1))))
    return out


def _between(m: int, n: int) -> str:
    """``m`` to ``n`` digits."""
    if m == n:
        return _any(n)
    return f"{_D}{{{m},{n}}}"


def _magnitudes(lo: Decimal, hi: Decimal, places: int) -> list[str]:
    """Written magnitudes ``I`` or ``I.F`` (1..places digits) with ``lo <= value <= hi``: the
    whole numbers every written fraction of which is in range, then the (at most two) whole
    parts only some of whose fractions are."""
    if lo > hi:
        return []
    below, top = int(lo.to_integral_value(ROUND_FLOOR)), int(hi.to_integral_value(ROUND_FLOOR))
    first = int(lo.to_integral_value(ROUND_CEILING))
    last = int((hi - 1 + Decimal(1).scaleb(-places)).to_integral_value(ROUND_FLOOR))
    out: list[str] = []
    if first <= last:
        tail = rf"(?:\.{_between(1, places)})?" if places else ""
        out.append(_alt(_integers(first, last)) + tail)
    for whole_part in sorted({below, top}):
        if not first <= whole_part <= last:
            out += _partial(whole_part, lo, hi, places)
    return out


def _partial(whole: int, lo: Decimal, hi: Decimal, places: int) -> list[str]:
    """``whole`` and ``whole.F`` (1..places digits) with ``lo <= value <= hi``."""
    fractions: list[str] = []
    for k in range(1, places + 1):
        unit = Decimal(1).scaleb(-k)
        first = max(0, int(((lo - whole) / unit).to_integral_value(ROUND_CEILING)))
        last = min(10 ** k - 1, int(((hi - whole) / unit).to_integral_value(ROUND_FLOOR)))
        if first <= last:
            fractions.append(fixed_range(f"{first:0{k}d}", f"{last:0{k}d}"))
    bare = lo <= whole <= hi
    if not fractions:
        return [str(whole)] if bare else []
    written = r"\." + _alt(fractions)
    return [f"{whole}(?:{written})?" if bare else f"{whole}{written}"]


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
