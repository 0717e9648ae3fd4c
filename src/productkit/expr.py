"""CEL expressions: type-checked at build time and evaluated exactly at run time.

How decimals enter expressions. CEL has no decimal type, and binary doubles must never decide
a bank's rule. So an expression is handled twice:

* **checked** by the official CEL checker (cel-expr-python) in an environment where decimal,
  percent and money values are declared ``double``: CEL's strict typing then forces a designer
  to compare them with decimal literals (``amount >= 50000.0``) and never silently mixes them
  with integers (``amount >= 50000`` is a located type error with a hint);
* **executed** in fixed point: every decimal value and every decimal literal becomes an integer
  scaled by 10^6 (``SCALE``), so ``+``, ``-`` and comparisons are exact integer operations.
  Products and quotients of decimals go through ``dec_mul``/``dec_div`` (half-even rounding at
  six places); integers become decimals with ``dec(n)``.

The BPMN target translates checked conditions to FEEL (``productkit.targets.feel``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cel_expr_python import cel

from . import _celparse as p
from ._exprtext import Rewritten, absent_names, rewrite
from .cel import FACTOR, ExprError, cel_type, evaluate, functions
from .ir import APPLICATION_DATE_VARIABLE, CHANNEL_VARIABLE, Condition
from .types import DECIMAL_TYPES, SCALE, get

__all__ = ["APPLICATION_DATE", "BUILTINS", "DECIMAL_TYPES", "SCALE", "ExprError", "ExprProblem", "absence_tested",
           "check", "evaluate", "names_in", "parse"]

# ``application_date``: the day the application started (the runtime records it in the state).
APPLICATION_DATE = APPLICATION_DATE_VARIABLE
BUILTINS: dict[str, str] = {CHANNEL_VARIABLE: "string", APPLICATION_DATE: "date"}


@dataclass(frozen=True, slots=True)
class ExprProblem:
    code: str
    message: str
    offset: int = 0
    hint: str | None = None


def _check_env(scope: Mapping[str, str]) -> Any:
    return _check_env_of(frozenset(scope.items()))


@functools.lru_cache(maxsize=64)
def _check_env_of(scope: frozenset[tuple[str, str]]) -> Any:
    # One environment per scope: a product's conditions, rules and derived values share it, and
    # a fresh environment's first compile costs about 30 times a later one.
    variables = {name: cel_type(kind) for name, kind in {**BUILTINS, **dict(sorted(scope))}.items()}
    return cel.NewEnv(variables=variables, functions=functions(False))


_RESULT = {"BOOL": "boolean", "INT": "integer", "DOUBLE": "decimal", "STRING": "string",
           "google.protobuf.Timestamp": "date", "TIMESTAMP": "date", "DURATION": "duration",
           "google.protobuf.Duration": "duration"}
_ERR_RE = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*?)\n")


def _friendly_types(text: str) -> str:
    text = re.sub(r"found no matching overload for '_?([^'_]+)_?' applied to", r"no operator '\1' for", text)
    return (text.replace("double", "decimal").replace("google.protobuf.Timestamp", "date")
            .replace("google.protobuf.Duration", "duration"))


def _cel_problems(raw: str, scope: Mapping[str, str], text: str, rw: Rewritten | None = None
                  ) -> list[ExprProblem]:
    out = []
    for m in _ERR_RE.finditer(raw + "\n"):
        offset, msg = int(m.group(2)) - 1, m.group(3)
        offset = rw.original(offset) if rw is not None else offset
        if text[offset:offset + 1] == "%":  # checked as '*' (see _exprtext)
            msg = msg.replace("'_*_'", "'_%_'")
        undeclared = re.search(r"undeclared reference to '([^']+)'", msg)
        if undeclared:
            from .shape import did_you_mean

            name = undeclared.group(1)
            start = text.find(name)
            out.append(ExprProblem("PK302", f"unknown name '{name}'", start if start >= 0 else offset,
                                   did_you_mean(name, [*scope, *BUILTINS])))
        elif "Syntax error" in msg:
            out.append(ExprProblem("PK301", f"syntax error: {msg.split(': ', 1)[-1]}", offset))
        else:
            hint = None
            if "(double, int)" in msg or "(int, double)" in msg:
                hint = "decimals compare with decimal literals (write 18.0, not 18) or use dec(n)"
            out.append(ExprProblem("PK303", _friendly_types(msg), offset, hint))
    return out or [ExprProblem("PK301", _friendly_types(raw.splitlines()[0]), 0)]


_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


def _names(node: p.Node, scope: Mapping[str, str]) -> list[str]:
    found: list[str] = []

    def walk(n: p.Node, bound: frozenset[str]) -> None:
        if isinstance(n, p.Name):
            parts = n.path.split(".")
            if parts[0] in bound:
                return  # a macro's own variable (the x of list.exists(x, ...)), not an input
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in scope or cand in BUILTINS:
                    found.append(cand)
                    return
            found.append(n.path)
            return
        if (isinstance(n, p.Call) and n.func in _MACROS and n.target is not None and n.args
                and isinstance(n.args[0], p.Name) and "." not in n.args[0].path):
            walk(n.target, bound)
            for arg in n.args[1:]:
                walk(arg, bound | {n.args[0].path})
            return
        for child in _children(n):
            walk(child, bound)

    walk(node, frozenset())
    return sorted(set(found))


_children = p.children


def _is_decimal(n: p.Node, scope: Mapping[str, str]) -> bool:
    if isinstance(n, p.Lit):
        return n.kind == "float"
    if isinstance(n, p.Name):
        return scope.get(n.path) in DECIMAL_TYPES
    if isinstance(n, p.Call) and n.func == "lookup" and n.args and isinstance(n.args[0], p.Name):
        return scope.get(n.args[0].path, "").rpartition(":")[2] in DECIMAL_TYPES  # a table's cell type
    if isinstance(n, p.Call):
        return n.func in ("dec", "dec_mul", "dec_div")
    if isinstance(n, p.Unary):
        return _is_decimal(n.operand, scope)
    if isinstance(n, p.Op) and n.op in ("+", "-", "%"):
        return _is_decimal(n.left, scope) or _is_decimal(n.right, scope)
    if isinstance(n, p.Cond):
        return _is_decimal(n.then, scope)
    return False


_GO_DURATION = re.compile(r"-?(\d+(\.\d+)?(ns|us|ms|s|m|h))+")


def _fixed_point_problems(node: p.Node, scope: Mapping[str, str]) -> list[ExprProblem]:
    out: list[ExprProblem] = []

    def walk(n: p.Node) -> None:
        if isinstance(n, p.Op) and n.op in ("*", "/") and (
                _is_decimal(n.left, scope) or _is_decimal(n.right, scope)):
            fn = {"*": "dec_mul", "/": "dec_div"}[n.op]
            out.append(ExprProblem("PK305", f"'{n.op}' on decimal values is not exact in expressions",
                                   n.offset, f"write {fn}(a, b)"))
        if isinstance(n, p.Call) and n.func in ("double", "int", "uint") and n.target is None:
            out.append(ExprProblem("PK305", f"{n.func}() conversions would leave exact decimals",
                                   n.offset, "use dec(n) to turn an integer into a decimal"))
        if isinstance(n, p.Name) and scope.get(n.path) == "duration":
            # Duration values travel as ISO text (JSON has no duration), so CEL would compare
            # "P9D" > "P10D" as text, or fail against a duration: refuse what cannot run.
            out.append(ExprProblem("PK303", f"'{n.path}' is a duration, which expressions cannot "
                                   "compare at run time", n.offset,
                                   "declare a number of days or hours (integer) instead"))
        if (isinstance(n, p.Call) and n.func == "duration" and n.args and isinstance(n.args[0], p.Lit)
                and not _GO_DURATION.fullmatch(n.args[0].text)):
            out.append(ExprProblem("PK303", f"duration(\"{n.args[0].text}\") is not CEL's duration syntax",
                                   n.offset, 'CEL writes durations as 24h, 90m or 3600s, e.g. duration("24h")'))
        if isinstance(n, p.Lit) and n.kind == "float" and (
                "e" in n.text.lower() or len(n.text.partition(".")[2]) > SCALE):
            out.append(ExprProblem("PK303", f"decimal literal {n.text} has more than {SCALE} "
                                   "places or an exponent", n.offset))
        for child in _children(n):
            walk(child)

    walk(node)
    seen = {problem.offset for problem in out}  # a name already refused is not refused twice
    return out + [a for a in _absence_problems(node, scope) if a.offset not in seen]


def _absence_problems(node: p.Node, scope: Mapping[str, str]) -> list[ExprProblem]:
    """``has(x)`` and ``x == null`` test data, which may be absent; a parameter always has its
    value and a builtin is always set."""
    out = []
    for name in absent_names(node):
        if "." not in name.path:
            out.append(ExprProblem("PK307", f"'{name.path}' is not data: only data paths may be absent",
                                   name.offset, "has(x) and x == null test data such as risk.assessed_on"))
    return out


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> p.Node:
    # Syntax trees are immutable; a line's conditions are checked again for each of its products.
    return p.parse(text)


def names_in(text: str, scope: Mapping[str, str]) -> list[str]:
    """The parameters and data paths ``text`` reads, from its syntax tree alone (no type check);
    an expression that does not parse reads nothing (its check reports it)."""
    try:
        return _names(_parse(text), scope)
    except p.ParseError:
        return []


@functools.lru_cache(maxsize=8192)
def _exec_text(text: str) -> str:
    """The expression with every decimal literal as an integer scaled by 10^SCALE."""
    out, pos = [], 0
    for tok in p.tokenize(text):
        if tok.kind == "float":
            out.append(text[pos:tok.offset])
            out.append(str(int(Decimal(tok.text) * FACTOR)))
            pos = tok.offset + len(tok.text)
    out.append(text[pos:])
    return "".join(out)


def absence_tested(text: str) -> set[str]:
    """The data paths ``text`` tests for absence (``has(x)``, ``x == null``, ``x != null``): it
    reads them knowing they may be absent."""
    try:
        return {n.path for n in absent_names(_parse(text))}
    except p.ParseError:
        return set()


def parse(text: str) -> p.Node:
    """The syntax tree of ``text`` (cached; raises ``ParseError``): what targets translate."""
    return _parse(text)


@functools.lru_cache(maxsize=8192)
def _prefixes(text: str) -> tuple[str, ...]:
    """Every name ``text`` could mean: each dotted name in it and each of its leading parts
    (``a.b.c`` may be the variable ``a.b`` with a field ``c``)."""
    found: set[str] = set()

    def walk(n: p.Node) -> None:
        if isinstance(n, p.Name):
            parts = n.path.split(".")
            found.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
        for child in _children(n):
            walk(child)

    walk(_parse(text))
    return tuple(sorted(found))


# Checked expressions by what their result depends on: the text, the wanted type and the types
# of the names it can mean. Products of one line share most of their conditions, rules and
# derived values, so each is type-checked once per build instead of once per product.
_CHECKED: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], Condition | tuple[ExprProblem, ...]] = {}
_CHECKED_MAX = 65536


def check(text: str, scope: Mapping[str, str], want: str | None = "boolean") -> Condition | list[ExprProblem]:
    """Type-check ``text`` against ``scope`` (name -> productkit type).

    ``want`` is the type the result must have (None: any). The result depends only on the
    types of the names the text can mean, so it is remembered under those: an unknown name's
    hint (did you mean ...) reads the whole scope and is never remembered.
    """
    try:
        key = (text, want, tuple((n, scope[n]) for n in _prefixes(text) if n in scope))
    except p.ParseError:
        return _check(text, scope, want)
    hit = _CHECKED.get(key)
    if hit is not None:
        return hit if isinstance(hit, Condition) else list(hit)
    result = _check(text, scope, want)
    if isinstance(result, Condition) or not any(problem.code == "PK302" for problem in result):
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = result if isinstance(result, Condition) else tuple(result)
    return result


def _check(text: str, scope: Mapping[str, str], want: str | None) -> Condition | list[ExprProblem]:
    try:
        tree = _parse(text)
    except p.LimitError as exc:  # the official checker is not even asked: it could be slow or deep
        return [ExprProblem("PK301", exc.message, min(exc.offset, len(text)),
                            "split the expression into derived values or simpler rules")]
    except p.ParseError as exc:
        tree = None
        parse_problem = ExprProblem("PK301", f"syntax error: {exc.message}", exc.offset)
    rw = rewrite(text, tree, scope) if tree is not None else None
    try:
        program = _check_env(scope).compile(rw.check if rw is not None else text)
    except RuntimeError as exc:
        return _cel_problems(str(exc), scope, text, rw)
    if tree is None or rw is None:
        return [parse_problem]
    problems = _fixed_point_problems(tree, scope)
    if problems:
        return problems
    rtype = program.return_type().name()
    kind = _RESULT.get(rtype, rtype.lower())
    if want is not None and not _compatible(kind, want):
        code = "PK304" if want == "boolean" else "PK303"
        return [ExprProblem(code, f"the expression has type {kind}, expected {want}", 0)]
    names = _names(tree, scope)
    decimals = [n for n in names if scope.get(n) in DECIMAL_TYPES]
    return Condition(cel=text, exec=_exec_text(rw.run), scale=SCALE, type=kind, names=names,
                     decimals=decimals)


def _compatible(kind: str, want: str) -> bool:
    wanted = get(want)
    return kind == (wanted.expr_kind if wanted is not None else want)


