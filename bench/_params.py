"""Dictionary parameters of the synthetic catalogue, and the values, locks and narrowings that
lines and products apply to them along an ``extends`` chain, simulated so every value is valid.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ._yaml import Raw

__all__ = ["PDef", "PState", "label", "pick", "render"]

CENT = Decimal("0.01")


def label(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


@dataclass(frozen=True)
class PDef:
    """One dictionary entry."""

    name: str
    type: str
    zh: str
    en: str
    lo: Any = None
    hi: Any = None
    step: Any = None
    scale: int | None = None
    currency: str | None = None
    values: tuple[str, ...] = ()
    labels: tuple[tuple[str, str, str], ...] = ()
    default: Any = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    unit: str | None = None
    items: str | None = None  # list element type (integer)
    narrowable: bool = True
    description: str | None = None

    def declaration(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.type == "list":
            out["items"] = {"type": self.items or "integer", "min": 1, "max": 360}
            out["min_items"] = 1
            out["max_items"] = 8
        out["title"] = label(self.zh, self.en)
        if self.description:
            out["description"] = self.description
        for key in ("unit", "currency", "scale", "pattern", "min_length", "max_length"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.lo is not None:
            out["min"] = render(self, self.lo)
        if self.hi is not None:
            out["max"] = render(self, self.hi)
        if self.step is not None:
            out["step"] = render(self, self.step)
        if self.values:
            out["values"] = list(self.values)
            out["labels"] = {v: label(zh, en) for v, zh, en in self.labels}
        if self.default is not None:
            out["default"] = render(self, self.default)
        return out


def render(p: PDef, value: Any) -> Any:
    """A value as the YAML writer should write it."""
    if p.type == "money":
        return Decimal(value).quantize(CENT)
    if p.type in ("percent", "decimal"):
        return Decimal(value).quantize(Decimal(1).scaleb(-(min(p.scale or 2, 2))))
    if p.type in ("duration", "date"):
        return Raw(str(value))
    if p.type == "list":
        return list(value)
    return value


@dataclass
class PState:
    """Where a parameter stands at one level of a chain: bounds, enum subset, value, lock."""

    p: PDef
    lo: Any
    hi: Any
    values: tuple[str, ...]
    value: Any = None
    locked: bool = False
    history: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, p: PDef) -> PState:
        return cls(p, p.lo, p.hi, p.values, p.default)

    def copy(self) -> PState:
        return replace(self, history=list(self.history))


def _quantum(span: Decimal) -> Decimal:
    if span <= 0:
        return CENT
    exp = max(span.adjusted() - 1, -2)
    return Decimal(1).scaleb(exp)


def _between(rng: random.Random, lo: Decimal, hi: Decimal) -> Decimal:
    """A round-looking decimal in [lo, hi]."""
    if hi <= lo:
        return lo
    q = _quantum(hi - lo)
    raw = lo + (hi - lo) * Decimal(rng.randint(0, 1000)) / 1000
    value = (raw / q).to_integral_value(rounding="ROUND_FLOOR") * q
    if value < lo:
        value = lo
    return value.quantize(CENT) if value.quantize(CENT) >= lo else lo


_DUR = ("PT2H", "PT12H", "PT24H", "P1D", "P3D", "P7D", "P14D", "P30D")
_DATES = ("2026-01-01", "2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31", "2027-06-30")


def pick(rng: random.Random, st: PState, lo: Any = None, hi: Any = None) -> Any:
    """A valid value for ``st`` (optionally within [lo, hi] too)."""
    p = st.p
    lo = st.lo if lo is None else (lo if st.lo is None else max(lo, st.lo))
    hi = st.hi if hi is None else (hi if st.hi is None else min(hi, st.hi))
    if p.type == "money":
        lo_d = Decimal(lo if lo is not None else "0.01")
        hi_d = Decimal(hi if hi is not None else max(lo_d * 100, Decimal("1000000.00")))
        if p.step is not None:
            k = int((hi_d - lo_d) // Decimal(p.step))
            return lo_d + Decimal(p.step) * rng.randint(0, min(k, 50))
        return _between(rng, lo_d, hi_d)
    if p.type in ("percent", "decimal"):
        lo_d = Decimal(lo if lo is not None else 0)
        hi_d = Decimal(hi if hi is not None else 10)
        value = lo_d + (hi_d - lo_d) * Decimal(rng.randint(0, 100)) / 100
        return max(lo_d, value.quantize(CENT, rounding="ROUND_FLOOR"))
    if p.type == "integer":
        return rng.randint(int(lo if lo is not None else 0), int(hi if hi is not None else 100))
    if p.type == "enum":
        return rng.choice(st.values)
    if p.type == "boolean":
        return rng.random() < 0.5
    if p.type == "string":
        return _string(rng, p)
    if p.type == "duration":
        return rng.choice(_DUR)
    if p.type == "date":
        return rng.choice(_DATES)
    if p.type == "list":
        return sorted(rng.sample([3, 6, 12, 18, 24, 36, 48, 60], rng.randint(2, 5)))
    raise ValueError(p.type)


def _string(rng: random.Random, p: PDef) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if p.pattern == "^[A-Z]{2}[0-9]{4}$":
        return rng.choice(letters) + rng.choice(letters) + f"{rng.randint(0, 9999):04d}"
    if p.pattern == "^SMS_[A-Z0-9_]{3,40}$":
        return "SMS_" + p.name.upper()[:20].strip("_") + f"_{rng.randint(1, 99)}"
    if p.pattern == "^[A-Z]{3}-[0-9]{4}-[0-9]{2}$":
        return "".join(rng.choice(letters) for _ in range(3)) + f"-{rng.randint(2024, 2027)}-{rng.randint(1, 12):02d}"
    return "TPL-" + "".join(rng.choice(letters) for _ in range(6))


def narrowed(rng: random.Random, st: PState) -> tuple[Any, Any] | None:
    """Narrower [lo, hi] for a numeric parameter that still holds its current value, or None."""
    p = st.p
    if not p.narrowable or st.locked or p.type not in ("money", "percent", "decimal", "integer"):
        return None
    if st.lo is None or st.hi is None:
        return None
    if p.type == "integer":
        lo, hi = int(st.lo), int(st.hi)
        if hi - lo < 4:
            return None
        int_lo = lo + rng.randint(0, (hi - lo) // 4)
        int_hi = hi - rng.randint(0, (hi - lo) // 4)
        if st.value is not None:
            int_lo, int_hi = min(int_lo, int(st.value)), max(int_hi, int(st.value))
        return int_lo, int_hi
    lo_d, hi_d = Decimal(st.lo), Decimal(st.hi)
    span = hi_d - lo_d
    if span < Decimal("0.2"):
        return None
    new_lo = _between(rng, lo_d, lo_d + span / 4)
    new_hi = _between(rng, hi_d - span / 4, hi_d)
    if st.value is not None:
        new_lo, new_hi = min(new_lo, Decimal(st.value)), max(new_hi, Decimal(st.value))
    if new_lo > new_hi:
        return None
    return new_lo, new_hi
