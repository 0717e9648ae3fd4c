"""The runtime's door to :mod:`productkit.expr`, imported on first use.

Everything in the runtime evaluates through :func:`evaluate` (looked up at call time), so a
test can replace it, and the runtime imports without the CEL bindings until a condition runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from ..ir import Condition, Derived
from .errors import ConditionError

__all__ = ["Env", "evaluate", "holds"]

Env = Mapping[str, object]


def _backend() -> ModuleType:
    try:
        return importlib.import_module("productkit.expr")
    except ImportError as exc:  # pragma: no cover - productkit.expr ships with productkit
        raise ConditionError("<any>", f"productkit.expr is not available: {exc}") from None


def evaluate(cond: Condition, env: Env) -> object:
    """The value of ``cond`` in ``env``; ConditionError on a missing name or evaluation error."""
    backend = _backend()
    try:
        value: object = backend.evaluate(cond, env)
        return value
    except (backend.ExprError, TypeError, ValueError, ArithmeticError) as exc:
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
    """``env`` plus every derived value ``cond`` names (recursively, to a bounded depth)."""
    wanted = [n for n in cond.names if n in derived and n not in env]
    if not wanted or depth > 8:
        return env
    out = dict(env)
    for name in wanted:
        inner = derived[name].condition
        out[name] = evaluate(inner, with_derived(inner, out, derived, depth + 1))
    return out
