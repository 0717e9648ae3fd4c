"""CEL conditions of a workflow definition translated to FEEL, the expression language of Camunda 8.

The workflow definition carries each expression as its CEL source; only targets that run on
Camunda need FEEL, so the translation lives here. Parameters are constants of a product version,
not process variables: their values are inlined as exact literals. A derived value is inlined as
its own translation (Zeebe has no such variables). Data paths stay variables; a date-typed path
is read through ``date()`` since process variables hold dates as ISO text, and a decimal,
percent or money path through ``number()``, since they hold decimals as exact text (the Zeebe
convention of the BPMN target: a JSON number would be a double). Null (an input absent) gives
null wherever CEL fails, so a condition Zeebe refuses is one the engine fails on::

    feel = FeelScope.of_definition(defn)
    text = feel.of(step.when)      # None when FEEL cannot say what the CEL says
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._celparse import Call, Cond, ListLit, Lit, Name, Node, Op, ParseError, Unary
from ..expr import BUILTINS, SCALE, parse
from ..ir import APPLICATION_DATE_VARIABLE, Condition, FieldDef, ParamValue, WorkflowDefinition
from ..types import TYPES, get

__all__ = ["FeelScope", "feel_literal"]

# '/' is handled apart: a checked expression divides only integers ('/' on decimals is PK305),
# and CEL's integer division truncates toward zero (7 / 2 == 3) where FEEL's is exact (3.5).
_OPS = {"==": "=", "!=": "!=", "&&": "and", "||": "or", "<": "<", "<=": "<=", ">": ">",
        ">=": ">=", "+": "+", "-": "-", "*": "*"}

# dec_mul/dec_div round half-even to SCALE places, as FEEL's decimal(n, scale) does.
_CALLS = {"dec_mul": f"decimal({{0}} * {{1}}, {SCALE})", "dec_div": f"decimal({{0}} / {{1}}, {SCALE})",
          "dec": "{0}", "startsWith": "starts with({0}, {1})", "endsWith": "ends with({0}, {1})",
          "contains": "contains({0}, {1})", "matches": "matches({0}, {1})", "date": "date({0})",
          "days_between": "(({1}) - ({0})).days",
          "add_days": '(({0}) + duration(if {1} < 0 then "-P" + string(-({1})) + "D" else "P" + string({1}) + "D"))',
          "add_months": '(({0}) + duration(if {1} < 0 then "-P" + string(-({1})) + "M" else "P" + string({1}) + "M"))'}

class _NoFeel(Exception):
    """The expression uses something FEEL cannot express the same way."""


def feel_literal(kind: str, value: Any) -> str:
    """A parameter value as a definition holds it (decimals as text), typed ``kind``, in FEEL."""
    if kind.startswith("list:") and isinstance(value, list):
        return "[" + ", ".join(feel_literal(kind[5:], v) for v in value) + "]"
    vtype = get(kind) or TYPES["string"]
    return vtype.feel_literal(vtype.from_ir(value))


_KEY, _FOUND = "_productkit_key", "_productkit_found"  # names of the table lookup's own context


def _computed(n: Node) -> bool:
    """Whether ``n`` computes a value that is null when an input is absent (CEL fails there)."""
    if isinstance(n, Op):
        return n.op in ("+", "-", "*", "/", "%")
    return (isinstance(n, Unary) and n.op == "-") or (isinstance(n, Call) and n.func not in ("has", "date"))


def _type_of(spec: FieldDef) -> str:
    if spec.type == "list":
        return "list:" + (_type_of(spec.items) if spec.items is not None else "string")
    return spec.type


class FeelScope:
    """What a translation needs from one definition: the type of every name, the parameter
    literals to inline, and the derived values (translated once, on first use)."""

    def __init__(self, types: Mapping[str, str], parameters: Mapping[str, ParamValue] | None = None,
                 derived: Mapping[str, Condition] | None = None) -> None:
        self.types = {**BUILTINS, **types}
        self._params: Mapping[str, ParamValue] = parameters or {}
        self._derived: Mapping[str, Condition] = derived or {}
        self._inline: dict[str, str | None] = {}

    @classmethod
    def of_definition(cls, defn: WorkflowDefinition) -> FeelScope:
        """The names of one product version: its data, context, parameters and derived values."""
        types = {path: _type_of(f) for path, f in {**defn.context, **defn.data}.items()}
        types.update((name, pv.type) for name, pv in defn.parameters.items())
        types.update((name, d.type) for name, d in defn.derived.items())
        return cls(types, defn.parameters, {name: d.condition for name, d in defn.derived.items()})

    def of(self, cond: Condition) -> str | None:
        """The FEEL expression meaning exactly what ``cond`` means, or None."""
        try:
            return self._node(parse(cond.cel))
        except (_NoFeel, ParseError, RecursionError):
            return None

    def _name(self, path: str) -> str:
        param = self._params.get(path)
        if param is not None and param.value is not None:
            return self._param(param)
        if path in self._derived:
            text = self._derived_text(path)
            if text is not None:
                return f"({text})"
        return (get(self.types.get(path)) or TYPES["string"]).feel_name(path)

    def _param(self, param: ParamValue) -> str:
        """A parameter's value as a literal; a dated value (a campaign) chosen by the application
        date, which every process instance starts with."""
        text = feel_literal(param.type, param.value)
        if not param.schedule:
            return text
        day = TYPES["date"].feel_name(APPLICATION_DATE_VARIABLE)
        for s in reversed(param.schedule):
            window = f"{day} >= date(\"{s.from_}\")" + (f" and {day} <= date(\"{s.until}\")" if s.until else "")
            text = f"if {window} then {feel_literal(param.type, s.value)} else {text}"
        return f"({text})"

    def _derived_text(self, name: str) -> str | None:
        if name not in self._inline:
            self._inline[name] = None  # a derived value that reads itself is left as a variable
            self._inline[name] = self.of(self._derived[name])
        return self._inline[name]

    def _node(self, n: Node) -> str:
        if isinstance(n, Lit):
            return self._literal(n)
        if isinstance(n, Name):
            return self._name(n.path)
        if isinstance(n, Op):
            return self._op(n)
        if isinstance(n, Unary):
            inner = self._node(n.operand)
            return f"not({inner})" if n.op == "!" else f"(-{inner})"
        if isinstance(n, Cond):
            return self._cond(n)
        if isinstance(n, ListLit):
            return "[" + ", ".join(self._node(i) for i in n.items) + "]"
        if isinstance(n, Call):
            return self._call(n)
        raise _NoFeel(type(n).__name__)

    def _cond(self, n: Cond) -> str:
        # FEEL takes the else branch when the test is null (an input absent); CEL fails: so does
        # this, giving null, which Zeebe refuses as a condition just as the engine fails.
        test = self._node(n.test)
        return (f"(if {test} = true then {self._node(n.then)} "
                f"else if {test} = false then {self._node(n.other)} else null)")

    @staticmethod
    def _literal(n: Lit) -> str:
        if n.kind == "string":
            return TYPES["string"].feel_literal(n.text)
        if n.kind == "int" and n.text.lower().startswith("0x"):
            return str(int(n.text, 16))  # FEEL has no hexadecimal literals
        if n.kind in ("int", "float", "bool", "null"):
            return n.text
        raise _NoFeel(n.kind)

    def _op(self, n: Op) -> str:
        absent = self._null_test(n)
        if absent is not None:
            return absent
        left, right = self._node(n.left), self._node(n.right)
        if n.op == "%":
            # CEL's remainder truncates (the sign of the dividend); FEEL's modulo floors (the sign
            # of the divisor): they differ by the divisor when the signs differ.
            mod = f"modulo({left}, {right})"
            return f"(if {mod} != 0 and {left} * {right} < 0 then {mod} - {right} else {mod})"
        if n.op == "in":
            return f"(list contains({right}, {left}))"
        if n.op == "/":
            quotient = f"({left} / {right})"
            return f"(if {quotient} >= 0 then floor({quotient}) else ceiling({quotient}))"
        if n.op not in _OPS:
            raise _NoFeel(n.op)
        guarded = [text for side, text in ((n.left, left), (n.right, right)) if _computed(side)]
        if n.op in ("==", "!=") and guarded:
            # FEEL says null = 0 is false where CEL fails on an absent operand of arithmetic.
            test = " or ".join(f"{g} = null" for g in guarded)
            return f"(if {test} then null else ({left} {_OPS[n.op]} {right}))"
        return f"({left} {_OPS[n.op]} {right})"

    @staticmethod
    def _null_test(n: Op) -> str | None:
        """``x == null`` / ``x != null`` on data, read as the variable itself (absent is null)."""
        if n.op not in ("==", "!="):
            return None
        for side, other in ((n.left, n.right), (n.right, n.left)):
            if isinstance(side, Name) and isinstance(other, Lit) and other.kind == "null":
                return f"({side.path} {_OPS[n.op]} null)"
        return None

    def _table(self, func: str, table: str, key_node: Node) -> str:
        """A table inlined as a list of contexts, filtered on the key (null when it is absent)."""
        # Inside a FEEL filter a row's entries (item, low, high, key, value) are names too, so the
        # key is computed first, outside the filter, under a name no parameter or data path can
        # have (parameters start with a letter, data paths are dotted).
        rows, key = self._name(table), self._node(key_node)
        if self.types.get(table, "").startswith("table:enum:"):
            match = f"{rows}[item.key = {_KEY}]"
        else:
            match = (f"{rows}[(item.low = null or item.low <= {_KEY}) and "
                     f"(item.high = null or {_KEY} < item.high)]")
        found = f"{match}[1].value" if func == "lookup" else f"count({match}) > 0"
        return f"{{{_KEY}: {key}, {_FOUND}: if {_KEY} = null then null else {found}}}.{_FOUND}"

    def _call(self, n: Call) -> str:
        if n.func == "has" and len(n.args) == 1 and isinstance(n.args[0], Name):
            return f"({n.args[0].path} != null)"
        if n.func in ("lookup", "covers") and len(n.args) == 2 and isinstance(n.args[0], Name):
            return self._table(n.func, n.args[0].path, n.args[1])
        args = [self._node(a) for a in n.args]
        if n.target is not None:
            args.insert(0, self._node(n.target))
        if n.func in _CALLS:
            return _CALLS[n.func].format(*args)
        if n.func == "size" and len(args) == 1:
            arg = n.target if n.target is not None else n.args[0]
            is_list = isinstance(arg, ListLit) or (isinstance(arg, Name) and
                                                   self.types.get(arg.path, "").startswith("list:"))
            return f"count({args[0]})" if is_list else f"string length({args[0]})"
        raise _NoFeel(n.func)
