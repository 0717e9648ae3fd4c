"""The runtime's door to exact CEL evaluation (:mod:`productkit.cel`, shared with the build):
conditions, rules and derived values, with evaluation errors as ConditionError."""

from __future__ import annotations

from collections.abc import Mapping

from ..cel import ExprError
from ..cel import evaluate as cel_evaluate
from ..ir import Condition, Derived
from .errors import ConditionError

__all__ = ["Env", "evaluate", "holds"]

Env = Mapping[str, object]


def evaluate(cond: Condition, env: Env) -> object:
    """The value of ``cond`` in ``env``; ConditionError on a missing name or evaluation error."""
    try:
        value: object = cel_evaluate(cond, env)
        return value
    except (ExprError, TypeError, ValueError, ArithmeticError) as exc:
        raise ConditionError(cond.cel, str(exc)) from None


def holds(cond: Condition, env: Env, derived: Mapping[str, Derived] | None = None) -> bool:
    """Evaluate a boolean condition, computing the derived values it names first."""
    if derived:
        env = with_derived(cond, env, derived)
    value = evaluate(cond, env)
    if not isinstance(value, bool):
        raise ConditionError(cond.cel, f"expected true or false, got {value!r}")
    return value


def with_derived(cond: Condition, env: Env, derived: Mapping[str, Derived],
                 depth: int = 0) -> Env:
    """``env`` plus every derived value ``cond`` names (recursively, to a bounded depth).

    A derived value that cannot be computed (an input absent) stays absent, so it reads as null
    where ``cond`` reaches it, as in FEEL, which inlines it: ``flag || big`` is true when ``flag``
    is, whatever ``big`` reads."""
    wanted = [n for n in cond.names if n in derived and n not in env]
    if not wanted or depth > 8:
        return env
    out = dict(env)
    for name in wanted:
        inner = derived[name].condition
        try:
            out[name] = evaluate(inner, with_derived(inner, out, derived, depth + 1))
        except ConditionError:
            continue
    return out
