"""Conditions of the simplest shape evaluated directly, without the official CEL evaluator's
round trip through its bindings (a few microseconds each, twice per application or more).

The shape: names and literals (whole numbers, text, booleans) compared with ``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, and such comparisons joined by ``&&``, ``||`` and ``!``. That is
most guards a product writes (``aml.result == "hit" || credit.score < min_score``). The
evaluator :func:`evaluator` builds for one is exact under two conditions the caller
(:func:`productkit.cel.evaluate`) makes sure of: every name holds a whole number within 64 bits,
text or a boolean, and the official checker accepts the expression for those types (so no
comparison meets operands of two types, whichever operands ``&&`` and ``||`` leave unread).
Anything else is :class:`Unsure`, and the caller asks the official evaluator, which remains the
authority on everything else: null, decimals beyond the scaled whole numbers, dates, lists,
arithmetic and functions. The parse tree is :mod:`productkit._celparse`'s, shared with the build.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ._celparse import Lit, Name, Node, Op, ParseError, Unary, parse

__all__ = ["Evaluator", "Unsure", "evaluator"]

Values = Mapping[str, object]
Evaluator = Callable[[Values], object]
_Part = tuple[str, object]  # ("lit", value), ("name", path) or ("fn", Evaluator)

_EQUALITY = frozenset({"==", "!="})
_ORDER = frozenset({"<", "<=", ">", ">="})
_LOGIC = frozenset({"&&", "||"})
_COMPARED = frozenset({int, str, bool})  # the types ``==`` and ``!=`` are taken over


class Unsure(Exception):
    """The direct evaluator met a value it does not judge: ask the official evaluator."""


@functools.lru_cache(maxsize=4096)
def evaluator(text: str, names: frozenset[str]) -> Evaluator | None:
    """A function of the values of ``names`` giving the boolean ``text`` has, or None when
    ``text`` is not of the shape above (or names anything but ``names``)."""
    if "\\" in text:  # an escape in a literal: the official parser decodes more than _celparse
        return None
    try:
        tree = parse(text)
    except ParseError:
        return None
    if not _boolean(tree):
        return None
    part = _part(tree, names)
    if part is None:
        return None
    return _as_fn(part)


def _boolean(node: Node) -> bool:
    """Whether ``node``'s value is a comparison's or a logical operator's (a boolean)."""
    if isinstance(node, Op):
        return node.op in _EQUALITY or node.op in _ORDER or node.op in _LOGIC
    return isinstance(node, Unary) and node.op == "!"


def _part(node: Node, names: Collection[str]) -> _Part | None:
    if isinstance(node, Lit):
        return _literal(node)
    if isinstance(node, Name):
        return ("name", node.path) if node.path in names else None
    if isinstance(node, Unary):
        return _unary(node, names)
    if isinstance(node, Op):
        left, right = _part(node.left, names), _part(node.right, names)
        if left is None or right is None:
            return None
        if node.op in _LOGIC:
            return ("fn", _logic(node.op, _as_fn(left), _as_fn(right)))
        if node.op in _EQUALITY or node.op in _ORDER:
            compared = _comparison(node.op, left, right)
            return None if compared is None else ("fn", compared)
    return None


def _literal(node: Lit) -> _Part | None:
    if node.kind == "string":
        return ("lit", node.text)
    if node.kind == "bool":
        return ("lit", node.text == "true")
    if node.kind == "int" and node.text.isdigit():  # decimal digits: no hex, no uint, no float
        return ("lit", int(node.text))
    return None


def _unary(node: Unary, names: Collection[str]) -> _Part | None:
    inner = _part(node.operand, names)
    if inner is None:
        return None
    if node.op == "-":  # a negative literal; negating a name could overflow 64 bits
        kind, value = inner
        return ("lit", -value) if kind == "lit" and type(value) is int else None
    if node.op == "!":
        operand = _as_fn(inner)

        def negation(values: Values) -> object:
            return not _truth(operand(values))

        return ("fn", negation)
    return None


def _as_fn(part: _Part) -> Evaluator:
    kind, what = part
    if kind == "fn":
        return what  # type: ignore[return-value]
    if kind == "name":
        path = what
        return lambda values: values[path]  # type: ignore[index]
    return lambda values: what


def _truth(value: object) -> bool:
    if type(value) is not bool:
        raise Unsure()
    return value


def _logic(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    """``&&`` or ``||``. Reading the left operand first and stopping when it decides gives
    CEL's value: neither operand can be an error here (see the module)."""
    if op == "&&":
        def both(values: Values) -> object:
            return _truth(left(values)) and _truth(right(values))

        return both

    def either(values: Values) -> object:
        return _truth(left(values)) or _truth(right(values))

    return either


def _comparison(op: str, left: _Part, right: _Part) -> Evaluator | None:
    """A comparison, specialised for a name against a literal (the common guard)."""
    test, ordering = _TESTS[op], op in _ORDER
    if left[0] == "name" and right[0] == "lit":
        path, literal = left[1], right[1]
        wanted = type(literal)
        if wanted not in _COMPARED or (ordering and wanted is not int):
            return None  # every value would be refused

        def against(values: Values) -> object:
            value = values[path]  # type: ignore[index]
            if type(value) is not wanted:
                raise Unsure()
            return test(value, literal)

        return against
    lhs, rhs = _as_fn(left), _as_fn(right)

    def compare(values: Values) -> object:
        a, b = lhs(values), rhs(values)
        kind = type(a)
        if kind is not type(b) or (kind is not int if ordering else kind not in _COMPARED):
            raise Unsure()
        return test(a, b)

    return compare


_TESTS: dict[str, Callable[[Any, Any], object]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge}
