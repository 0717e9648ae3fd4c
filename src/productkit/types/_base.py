"""What every value type shares: the problems it reports, the declaration it reads, and the
:class:`ValueType` base whose facets each type module fills in.

Nothing here imports the build side (loader, model, ...): the runtime reaches value knowledge
through this package alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from .. import ir
from .._plain import Plain
from ..patterns import PatternProblem
from ..patterns import problem as _pattern_problem

__all__ = ["BOUNDS", "Decl", "FieldProblem", "Plain", "ValueProblem", "ValueType", "compiles", "describe",
           "field_schema", "param_ref", "places", "runtime_bounds", "schema_types", "untyped"]

BOUNDS = ("min", "max", "step")


class ValueProblem(ValueError):
    """A written value (or declaration) that does not fit its type; ``field`` names the part of
    the declaration at fault (``min``, ``currency``, ...), None for the value itself."""

    def __init__(self, code: str, message: str, hint: str | None = None, field: str | None = None,
                 where: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.field = code, message, hint, field
        self.where = where  # the part of a written value at fault (a table's row), () for all of it

    def at(self, field: str | None, prefix: str = "", where: tuple[str | int, ...] | None = None) -> ValueProblem:
        """The same problem, attributed to ``field`` of the declaration (and ``where`` in the value)."""
        return ValueProblem(self.code, prefix + self.message, self.hint, field,
                            self.where if where is None else where)


class FieldProblem(ValueError):
    """A value at run time that does not fit its declaration; ``code`` is the FieldError code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Decl(Protocol):
    """The parts of a declaration (a ``TypeSpec`` at build time) the value types read."""

    @property
    def type(self) -> str | None: ...
    @property
    def ref(self) -> str | None: ...
    @property
    def items(self) -> Decl | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def scale(self) -> int | None: ...
    @property
    def min(self) -> Any: ...
    @property
    def max(self) -> Any: ...
    @property
    def step(self) -> Any: ...
    @property
    def min_length(self) -> int | None: ...
    @property
    def max_length(self) -> int | None: ...
    @property
    def pattern(self) -> str | None: ...
    @property
    def values(self) -> Sequence[Any] | None: ...
    @property
    def min_items(self) -> int | None: ...
    @property
    def max_items(self) -> int | None: ...
    @property
    def default(self) -> Any: ...


def param_ref(raw: Any) -> str | None:
    """The parameter a bound written ``{param: name}`` binds; None for any other value."""
    if isinstance(raw, dict) and set(raw) == {"param"} and isinstance(raw["param"], str):
        return str(raw["param"])
    return None


def describe(raw: Any) -> str:
    """How a raw loaded value is named in a message."""
    if raw is None:
        return "nothing (null)"
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, Plain):
        return f"'{raw}'"
    if isinstance(raw, str):
        return f'the quoted string "{raw}"'
    return repr(raw)


def untyped(decl: Decl) -> list[ValueProblem]:
    """PK102 for a declaration with neither ``type`` nor ``ref``; nothing otherwise."""
    if decl.type is None and decl.ref is None:
        return [ValueProblem("PK102", "the declaration has neither 'type' nor 'ref'",
                             "add type: integer (or another type) or ref: a dictionary parameter")]
    return []


def places(value: Decimal) -> int:
    """The number of decimal places ``value`` is written with."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@functools.lru_cache(maxsize=4096)
def pattern_problem(pattern: str) -> PatternProblem | None:
    """:func:`patterns.problem`, once per pattern: a catalogue repeats its patterns in every
    declaration of the same data, and the analysis parses the pattern each time."""
    return _pattern_problem(pattern)


def compiles(pattern: str) -> bool:
    """Whether ``pattern`` is a regular expression that is safe to run (see :mod:`patterns`)."""
    return pattern_problem(pattern) is None


# Bounds already read: (id(type), id(declaration), bound) -> (the type, the declaration, the
# value). Declarations are immutable, and the same one is read for every product using the
# component or line that declares it (compile reads each field's bounds, every value set is
# checked against them). Both objects are kept, so an id is only ever taken for its own object.
_READ_BOUNDS: dict[tuple[int, int, str], tuple[Any, Any, Any]] = {}
_MAX_READ_BOUNDS = 100_000


class ValueType:
    """One value type and every facet of it, from source text to storage.

    Build side: ``parse`` (YAML source text -> value), ``key`` (how bounds compare it),
    ``check_decl`` and ``violations`` (declaration and value checks), ``to_json`` (the value in
    the workflow definition). Expressions: ``cel`` (its CEL type), ``expr_kind`` (the type of
    an expression that may produce it), ``decimal`` (fixed point), ``feel_literal`` and
    ``feel_name``. Forms: ``json_schema``. Run time: ``from_ir``, ``coerce``, ``check``,
    ``encode`` and ``decode`` (storage), ``example``. Tests: ``sample`` (source text).
    """

    name: str = ""
    cel: str = "dyn"
    decimal: bool = False
    derivable: bool = True  # may be the type of a derived value
    data: bool = True  # may be the type of data (context, inputs, outputs, form fields), not only a parameter
    bounded: tuple[str, ...] = ()  # which of min, max, step are values of this type
    sample: Any = ""
    sample_decl: ClassVar[Mapping[str, Any]] = {}  # what a declaration of the sample needs

    @property
    def expr_kind(self) -> str:
        """The type (as expressions report it) of an expression that may produce this type."""
        return self.name

    # ------------------------------------------------------------ source text

    def parse(self, raw: Any, decl: Decl | None = None) -> Any:
        """``raw`` (loader output: Plain or quoted text, list, mapping) as a value of this type."""
        raise NotImplementedError

    def key(self, value: Any) -> Any:
        """The value as bounds compare it."""
        return value

    def step_size(self, step: Any) -> int | Decimal | None:
        """The step as a number that ``key(value) - key(min)`` must be a multiple of."""
        size = self.key(step)
        return size if isinstance(size, int | Decimal) else None

    def bound(self, decl: Decl, name: str) -> Any:
        """The declared ``min``, ``max`` or ``step`` read as this type; None when not set or
        bound to a product parameter (``{param: name}``, resolved per product)."""
        raw = getattr(decl, name)
        if raw is None or name not in self.bounded or param_ref(raw) is not None:
            return None
        key = (id(self), id(decl), name)
        found = _READ_BOUNDS.get(key)
        if found is not None and found[0] is self and found[1] is decl:
            return found[2]
        value = self.parse(raw, decl)  # a bound that does not read raises, every time it is asked
        if len(_READ_BOUNDS) >= _MAX_READ_BOUNDS:
            _READ_BOUNDS.clear()
        _READ_BOUNDS[key] = (self, decl, value)
        return value

    def check_decl(self, decl: Decl) -> list[ValueProblem]:
        """Problems of the declaration itself: bounds, min above max, type-specific fields,
        the pattern and the default."""
        out = self._bound_problems(decl)
        out += self.own_decl_problems(decl)
        why = pattern_problem(decl.pattern) if decl.pattern is not None else None
        if why is not None:
            out.append(ValueProblem("PK108" if why.syntax else "PK112", f"pattern '{decl.pattern}' {why.message}",
                                    field="pattern"))
        if decl.default is not None:
            out += [p.at("default") for p in self.value_problems(decl, decl.default)]
        return out

    def own_decl_problems(self, decl: Decl) -> list[ValueProblem]:
        """Declaration problems only this type knows (an enum without values, ...)."""
        return []

    def _bound_problems(self, decl: Decl) -> list[ValueProblem]:
        out: list[ValueProblem] = []
        for name in BOUNDS:
            try:
                self.bound(decl, name)
            except ValueProblem as exc:
                out.append(exc.at(name, f"{name}: "))
        lo, hi = self.safe_bound(decl, "min"), self.safe_bound(decl, "max")
        if lo is not None and hi is not None and self.key(lo) > self.key(hi):
            out.append(ValueProblem("PK109", f"min {lo} is above max {hi}", field="min"))
        return out

    def safe_bound(self, decl: Decl, name: str) -> Any:
        """The bound, or None when it cannot be read (``check_decl`` reports it there)."""
        try:
            return self.bound(decl, name)
        except ValueProblem:
            return None

    def value_problems(self, decl: Decl, raw: Any) -> list[ValueProblem]:
        """Why ``raw`` is not an allowed value of ``decl``: unreadable, or out of bounds."""
        try:
            value = self.parse(raw, decl)
        except ValueProblem as exc:
            return [exc]
        return self.violations(decl, value)

    def violations(self, decl: Decl, value: Any) -> list[ValueProblem]:
        """Every bound of ``decl`` that ``value`` (already parsed) breaks."""
        out: list[ValueProblem] = []
        lo, hi = self.safe_bound(decl, "min"), self.safe_bound(decl, "max")
        cv = self.key(value)
        if lo is not None and cv < self.key(lo):
            out.append(ValueProblem("PK111", f"{value} is below the minimum {lo}", field="min"))
        if hi is not None and cv > self.key(hi):
            out.append(ValueProblem("PK111", f"{value} is above the maximum {hi}", field="max"))
        step = self.safe_bound(decl, "step")
        size = self.step_size(step) if step is not None else None
        if size and isinstance(cv, int | Decimal):
            base = self.key(lo) if lo is not None else 0
            if (cv - base) % size != 0:
                out.append(ValueProblem("PK111", f"{value} is not on the step {step} from {lo or 0}",
                                        field="step"))
        return out

    def to_json(self, value: Any) -> Any:
        """The value as the workflow definition holds it (exact decimals as text)."""
        return value

    # ------------------------------------------------------------ expressions

    def feel_literal(self, value: Any) -> str:
        """The value as a FEEL literal (a parameter inlined in a condition)."""
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def feel_name(self, path: str) -> str:
        """How FEEL reads a variable of this type."""
        return path

    # ------------------------------------------------------------ forms

    def json_schema(self, fd: ir.FieldDef) -> dict[str, Any]:
        """The JSON Schema fragment of a field of this type (title and readOnly are added)."""
        return {"type": "string"}

    def schema_gaps(self, fd: ir.FieldDef) -> list[str]:
        """What of ``fd`` its JSON Schema cannot say (the runtime still checks it)."""
        return []

    # ------------------------------------------------------------ run time

    def from_ir(self, raw: Any) -> Any:
        """A value as the workflow definition holds it -> the runtime's Python value."""
        return raw

    def coerce(self, fd: ir.FieldDef, raw: object) -> Any:
        """A submitted or returned (JSON) value as this type; FieldProblem("type") otherwise."""
        if not isinstance(raw, str):
            raise FieldProblem("type", f"{raw!r} is not text")
        return raw

    def check(self, fd: ir.FieldDef, value: Any) -> list[FieldProblem]:
        """The exact checks of a coerced value that only this type knows."""
        return []

    def encode(self, value: Any) -> Any:
        """A runtime value as stored JSON (the store's codec tags decimals and dates)."""
        return value

    def decode(self, obj: Any) -> Any:
        """Stored JSON back to the runtime value."""
        return obj

    def example(self, fd: ir.FieldDef) -> Any:
        """A plausible value a channel could send for ``fd`` (simulations, scenario stubs)."""
        return "sample"


def field_schema(kind: ValueType, fd: ir.FieldDef) -> dict[str, Any]:
    """The JSON Schema of a form field: its type's fragment, title, help, default, read-only."""
    out = kind.json_schema(fd)
    if fd.label is not None:
        out["title"] = fd.label.en
    if fd.help is not None:
        out["description"] = fd.help.en
    if fd.default is not None:
        out["default"] = fd.default
    if fd.readonly:
        out["readOnly"] = True
    return out


def runtime_bounds(fd: ir.FieldDef, value: Any, read: Any) -> list[FieldProblem]:
    """Run-time min/max/step of a number or date; ``read`` turns a bound's text into a value."""
    out: list[FieldProblem] = []
    low = read(fd.min) if fd.min is not None else None
    high = read(fd.max) if fd.max is not None else None
    if low is not None and value < low:
        out.append(FieldProblem("minimum", f"{value} is below the minimum {low}"))
    if high is not None and value > high:
        out.append(FieldProblem("maximum", f"{value} is above the maximum {high}"))
    if fd.step is not None and isinstance(value, int | Decimal):
        step, base = Decimal(fd.step), Decimal(str(low)) if low is not None else Decimal(0)
        if step and (Decimal(value) - base) % step != 0:
            out.append(FieldProblem("step", f"{value} is not {base} plus a multiple of {step}"))
    return out


def schema_types(schema: Mapping[str, Any] | None) -> set[str]:
    """The JSON types a schema allows."""
    kind = (schema or {}).get("type")
    if isinstance(kind, str):
        return {kind}
    return set(kind) if isinstance(kind, list) else set()
