"""FEEL and CEL agree: every emitted condition, evaluated both ways on generated data.

CEL runs in productkit's exact fixed-point evaluator; FEEL runs in feelin, the bpmn.io FEEL
interpreter, on Node.js. The data is what Zeebe holds: decimals as exact text, as the forms send
them (the BPMN reads them through ``number()``), dates as ISO text; inputs are absent in some
cases; values sit at each bound (the expression's literals, the parameters it compares with,
the data's declared min and max), one cent or one unit either side, or anywhere.

Agreement: the same value, or CEL failing where FEEL gives null (Zeebe refuses a null
condition, an incident, as the engine fails the application). feelin computes with binary
doubles where Zeebe's FEEL uses BigDecimal: decimals with two places compare exactly as
doubles, but a sum or product of them may not, so where an expression does arithmetic on
decimals, generated decimals lie on a quarter grid, where doubles are exact: a disagreement is
then a translation bug, not a rounding artefact. At least ``MIN_CASES`` cases run per test run.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from productkit import _celparse, expr, ir
from productkit.options import Options
from productkit.runtime._expr import with_derived
from productkit.targets.feel import FeelScope
from productkit.types import Money, get
from productkit.types.table import Table
from productkit.validate import validate

REPO = Path(__file__).resolve().parents[1]
FEEL_DIR = REPO / "tools" / "feel"
SAMPLES = 160
MIN_CASES = 20_000
ABSENT = 0.12  # the share of inputs left out of a case

CORPUS: list[tuple[str, dict[str, str]]] = [
    ("applicant.age >= 18 && applicant.resident", {"applicant.age": "integer", "applicant.resident": "boolean"}),
    ('kyc.status == "passed" || kyc.status == "manual_review"', {"kyc.status": "enum"}),
    ('!(aml.result == "hit")', {"aml.result": "enum"}),
    ("loan.amount <= max_amount && loan.amount >= min_amount",
     {"loan.amount": "money", "max_amount": "money", "min_amount": "money"}),
    ("loan.amount + fee.amount > 1000.5", {"loan.amount": "money", "fee.amount": "money"}),
    ("dec_mul(loan.amount, 2.0) > limit.amount", {"loan.amount": "money", "limit.amount": "money"}),
    ('channel in ["mobile", "web"] && score.value > 600', {"score.value": "integer"}),
    ("score.value - 50 < 600 ? applicant.resident : !applicant.resident",
     {"score.value": "integer", "applicant.resident": "boolean"}),
    ('applicant.name.startsWith("Li") || size(applicant.name) > 5', {"applicant.name": "string"}),
    ("dec(term.months) >= rate.value", {"term.months": "integer", "rate.value": "percent"}),
    ("-risk.delta < 2 && risk.delta != 0", {"risk.delta": "integer"}),
    ("applicant.age + (term.months + 11) / 12 > 60", {"applicant.age": "integer", "term.months": "integer"}),
    ("(risk.delta - 1000) / 7 < -100", {"risk.delta": "integer"}),
    ("dec_div(loan.amount, 3.0) > fee.amount", {"loan.amount": "money", "fee.amount": "money"}),
    ("dec_mul(loan.amount, rate.value) >= dec_div(fee.amount, 7.0)",
     {"loan.amount": "money", "rate.value": "percent", "fee.amount": "money"}),
    # Issue 12: two decimals sent as text, compared as text by the old translation.
    ("loan.amount > credit.approved_limit", {"loan.amount": "money", "credit.approved_limit": "money"}),
    ("loan.amount == credit.approved_limit || kyc.status != \"passed\"",
     {"loan.amount": "money", "credit.approved_limit": "money", "kyc.status": "enum"}),
    ("applicant.age > 60 ? loan.amount <= 50000.0 : loan.amount <= 200000.0",
     {"applicant.age": "integer", "loan.amount": "money"}),
    # Issue 14: decimal and integer remainders (truncated, as CEL's integer '%'), negative operands.
    ("deposit.amount % 250.0 == 0.0", {"deposit.amount": "money"}),
    ("loan.amount % fee.amount > 0.5 || loan.amount % fee.amount < -0.5",
     {"loan.amount": "money", "fee.amount": "money"}),
    ("risk.delta % 7 == -1 || risk.delta % -3 == 2", {"risk.delta": "integer"}),
    # Issue 14: dates, the application date, absent data.
    ("days_between(risk.assessed_on, application_date) > 365",
     {"risk.assessed_on": "date", "application_date": "date"}),
    ("add_months(risk.assessed_on, 12) < application_date",
     {"risk.assessed_on": "date", "application_date": "date"}),
    ("add_months(risk.assessed_on, term.months) >= application_date",
     {"risk.assessed_on": "date", "application_date": "date", "term.months": "integer"}),
    ("add_days(risk.assessed_on, term.months) > add_days(application_date, -30)",
     {"risk.assessed_on": "date", "application_date": "date", "term.months": "integer"}),
    ("!has(risk.assessed_on) || days_between(application_date, risk.assessed_on) < -90",
     {"risk.assessed_on": "date", "application_date": "date"}),
    ("kyc.status == null || null != score.value", {"kyc.status": "enum", "score.value": "integer"}),
    ("loan.amount != null && has(applicant.resident)", {"loan.amount": "money", "applicant.resident": "boolean"}),
]

# Derived values: FEEL inlines them, CEL computes them first; with an input absent both must
# still say the same (``vip || big`` is true for a VIP whatever the amount reads).
DERIVED: dict[str, tuple[str, str]] = {"big": ("boolean", "loan.amount > 100000.0"),
                                       "total": ("money", "loan.amount + fee.amount")}
DERIVED_CORPUS: list[tuple[str, dict[str, str]]] = [
    ("applicant.vip || big", {"applicant.vip": "boolean", "big": "boolean", "loan.amount": "money"}),
    ("!big && applicant.vip", {"applicant.vip": "boolean", "big": "boolean", "loan.amount": "money"}),
    ("total >= 1000.25 || applicant.vip",
     {"applicant.vip": "boolean", "total": "money", "loan.amount": "money", "fee.amount": "money"}),
]


def _node() -> str | None:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        return None
    if not (FEEL_DIR / "node_modules" / "feelin").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=FEEL_DIR, check=True,
                       capture_output=True, timeout=300)
    return node


@pytest.fixture(scope="module")
def node() -> str:
    found = _node()
    if found is None:
        pytest.skip("Node.js and npm are needed to run the FEEL interpreter")
    return found


def _literals(text: str) -> tuple[list[str], list[Decimal]]:
    strings, numbers = [], []
    for tok in _celparse.tokenize(text):
        if tok.kind == "string":
            strings.append(_celparse._unquote(tok.text))
        elif tok.kind in ("int", "float"):
            numbers.append(Decimal(tok.text))
    return strings, numbers


def _decimal(rng: random.Random, near: Decimal, grid: bool) -> Decimal:
    """A decimal at ``near``, a step either side, or a way off: cents, or quarters (``grid``)."""
    step = Decimal("0.25") if grid else Decimal("0.01")
    base = (near / step).to_integral_value() * step
    return base + step * rng.choice([0, 0, -1, 1, rng.randint(-400, 400)])


def _value(kind: str, rng: random.Random, strings: list[str], numbers: list[Decimal],
           values: list[str] | None, grid: bool = True) -> Any:
    near = rng.choice(numbers) if numbers and rng.random() < 0.7 else Decimal(rng.randint(0, 2000))
    if kind == "integer":
        return int(near) + rng.choice([0, 0, -1, 1, rng.randint(-50, 50)])
    if kind in expr.DECIMAL_TYPES:
        return _decimal(rng, near, grid)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "date":
        return dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(-400, 400))
    pool = list(values or []) + strings + ["Li Lei", "Wang", "x"]
    return rng.choice(pool)


def _feel_context(cond: ir.Condition, env: Mapping[str, Any]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for name in sorted(env):
        value = env[name]
        if isinstance(value, Table):
            continue  # a parameter: FEEL has it inlined
        if isinstance(value, Money):
            value = value.amount
        if isinstance(value, Decimal):
            value = str(value)  # as forms send decimals and Zeebe keeps them: exact text
        elif isinstance(value, dt.date):
            value = value.isoformat()
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


_ARITHMETIC = re.compile(r"[-+*/%]|dec_mul|dec_div")


def _cases(cond: ir.Condition, scope: Mapping[str, str], enums: Mapping[str, list[str]],
           seed: int, names: Sequence[str] | None = None, text: str | None = None,
           bounds: Sequence[Decimal] = ()) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    strings, numbers = _literals(text or cond.cel)
    numbers += bounds
    grid = bool(_ARITHMETIC.search(text or cond.cel))
    wanted = list(names if names is not None else cond.names)
    for _ in range(SAMPLES):
        env = {n: _value(scope.get(n, "string"), rng, strings, numbers, enums.get(n), grid) for n in wanted}
        if "channel" in wanted:
            env["channel"] = rng.choice(["mobile", "web", "counter", "mini-program", "open-api"])
        yield {n: v for n, v in env.items() if n == "channel" or rng.random() >= ABSENT}


Item = tuple[str, ir.Condition, str, dict[str, Any]]  # where, condition, its FEEL, the data


def _agree(node: str, items: list[Item]) -> list[str]:
    lines = [json.dumps({"expr": feel, "context": _feel_context(c, env)}) for _, c, feel, env in items]
    proc = subprocess.run([node, str(FEEL_DIR / "eval.js")], input="\n".join(lines), text=True,
                          capture_output=True, check=True, timeout=300)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(items)
    problems = []
    for (where, cond, feel, env), got in zip(items, results, strict=True):
        want = _cel(cond, env)
        if not _same(want, got):
            problems.append(f"{where}: CEL {cond.cel!r} = {want!r}, FEEL {feel!r} = {got} on {env}")
    return problems


def _cel(cond: ir.Condition, env: Mapping[str, Any]) -> object:
    """The CEL value, or the failure when the engine would fail the application."""
    try:
        return expr.evaluate(cond, env)
    except Exception as exc:  # the evaluator's error, whatever its class: compared as a failure
        return _Failed(str(exc))


class _Failed(str):
    """CEL could not evaluate the expression."""


def _same(want: object, got: Mapping[str, Any]) -> bool:
    if isinstance(want, _Failed):
        return got.get("value") is None  # FEEL's null or error: Zeebe refuses it as CEL fails
    return "error" not in got and got["value"] == want and type(got["value"]) is type(want)


def _corpus_items() -> list[Item]:
    items = []
    for i, (text, scope) in enumerate(CORPUS):
        cond = expr.check(text, scope)
        assert isinstance(cond, ir.Condition), cond
        feel = FeelScope(scope).of(cond)
        assert feel is not None, text
        enums = {n: ["passed", "failed", "manual_review", "hit", "clear"] for n, k in scope.items() if k == "enum"}
        items += [(f"corpus[{i}]", cond, feel, env) for env in _cases(cond, scope, enums, seed=i)]
    return items


def _derived_items() -> list[Item]:
    inputs = {"loan.amount": "money", "fee.amount": "money"}
    derived = {}
    for name, (kind, text) in DERIVED.items():
        inner = expr.check(text, inputs, want=None)
        assert isinstance(inner, ir.Condition), inner
        derived[name] = ir.Derived(type=kind, condition=inner)
    items = []
    for i, (text, scope) in enumerate(DERIVED_CORPUS):
        cond = expr.check(text, scope)
        assert isinstance(cond, ir.Condition), cond
        feel = FeelScope(scope, derived={n: d.condition for n, d in derived.items()}).of(cond)
        assert feel is not None, text
        names, closure = _closure(cond, derived)
        items += [(f"derived[{i}]", cond, feel, dict(with_derived(cond, env, derived)))
                  for env in _cases(cond, scope, {}, 500 + i, names, closure)]
    return items


def test_corpus_conditions_mean_the_same_in_feel(node: str) -> None:
    items = _corpus_items() + _derived_items()
    assert _agree(node, items) == []


def test_decimal_text_compared_as_numbers() -> None:
    """The case of issue 12: as text "182105.03" < "487.31"; as numbers it is the other way."""
    cond = expr.check("loan.amount > credit.approved_limit",
                      {"loan.amount": "money", "credit.approved_limit": "money"})
    assert isinstance(cond, ir.Condition)
    feel = FeelScope({"loan.amount": "money", "credit.approved_limit": "money"}).of(cond)
    assert feel == "(number(loan.amount) > number(credit.approved_limit))"


Catalogued = tuple[str, ir.Condition, str | None, dict[str, str], dict[str, list[str]], dict[str, Any],
                   dict[str, ir.Derived]]


def _closure(cond: ir.Condition, derived: Mapping[str, ir.Derived]) -> tuple[list[str], str]:
    """The names a condition reads through the derived values it names, and all their text."""
    names, text, todo = set(), [cond.cel], list(cond.names)
    while todo:
        name = todo.pop()
        if name in derived:
            text.append(derived[name].condition.cel)
            todo += [n for n in derived[name].condition.names if n not in names]
        else:
            names.add(name)
    return sorted(names), " ".join(text)


def _catalogue_conditions() -> list[Catalogued]:
    from productkit.compile import compile_product

    result = validate([REPO], Options())
    if result.failed() or result.context is None:
        pytest.skip("the repo catalogue has errors; test_cases reports them")
    out = []
    for key, asm in sorted(result.context.assemblies.items()):
        defn = compile_product(asm)
        scope = {expr.APPLICATION_DATE: "date", **asm.scope}
        enums = {p: list(f.values or []) for p, f in defn.data.items() if f.values}
        conds = [(f"{key[1]}:{sid}", s.when) for sid, s in defn.steps.items() if s.when is not None]
        conds += [(f"{key[1]}:rule:{r.id}", r.condition) for r in defn.rules]
        params = {n: p.value for n, p in asm.product.params.items() if p.value is not None}
        feel = FeelScope.of_definition(defn)
        out += [(w, c, feel.of(c), scope, enums, params, dict(defn.derived)) for w, c in conds if c.type == "boolean"]
    return out


def test_every_catalogue_condition_means_the_same_in_feel(node: str) -> None:
    conds = _catalogue_conditions()
    items = []
    for i, (where, cond, feel, scope, enums, params, derived) in enumerate(conds):
        assert feel is not None, f"{where}: no FEEL translation of {cond.cel!r}"
        bounds = [Decimal(str(v.amount if isinstance(v, Money) else v)) for v in params.values()
                  if isinstance(v, int | Decimal | Money) and not isinstance(v, bool)]
        # Parameters and derived values are inlined in FEEL; CEL reads the same parameter values
        # and computes the derived values as the engine does.
        names, text = _closure(cond, derived)
        for env in _cases(cond, scope, enums, 1000 + i, names, text, bounds):
            env.update({n: params[n] for n in names if n in params})
            items.append((where, cond, feel, dict(with_derived(cond, env, derived))))
    assert len(items) + len(_corpus_items()) + len(_derived_items()) >= MIN_CASES
    assert _agree(node, items) == []


# Issue 14: tables, inlined in FEEL as a list of contexts and filtered on the key.
TABLES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "rate_by_score": ("table:integer:percent", [
        {"from": None, "to": "600", "value": "7.25"}, {"from": "600", "to": "700", "value": "6.5"},
        {"from": "700", "to": "800", "value": "5.75"}]),
    "rate_by_amount": ("table:money:percent", [
        {"from": "10000.00", "to": "50000.25", "value": "1.5"}, {"from": "50000.25", "to": None, "value": "1.75"}]),
    "fee_by_tier": ("table:enum:money", [
        {"key": "gold", "value": "0.00"}, {"key": "silver", "value": "25.00"}, {"key": "basic", "value": "50.25"}]),
    "open_from": ("table:date:boolean", [
        {"from": None, "to": "2026-01-01", "value": False}, {"from": "2026-01-01", "to": None, "value": True}]),
}
TABLE_SCOPE = {**{name: kind for name, (kind, _) in TABLES.items()}, "credit.score": "integer",
               "loan.amount": "money", "customer.tier": "enum", "risk.assessed_on": "date",
               "application_date": "date", "value.score": "integer", "item.tier": "enum", "low.amount": "money"}
TABLE_CORPUS = [
    "lookup(rate_by_score, credit.score) >= 6.5",
    "!covers(rate_by_score, credit.score) || lookup(rate_by_score, credit.score) < 7.0",
    "lookup(rate_by_amount, loan.amount) == 1.75",
    "covers(rate_by_amount, loan.amount) && lookup(rate_by_amount, loan.amount) > 1.5",
    "lookup(fee_by_tier, customer.tier) > 10.0",
    "lookup(open_from, risk.assessed_on) || lookup(open_from, application_date)",
    # keys whose data paths start like a row's own entries (value, item, low): the filter must not
    # read the row's entry instead of the data
    "lookup(rate_by_score, value.score) >= 6.5",
    "lookup(fee_by_tier, item.tier) > 10.0",
    "covers(rate_by_amount, low.amount)",
]


def _table_items() -> list[Item]:
    params = {name: ir.ParamValue(type=kind, value=rows) for name, (kind, rows) in TABLES.items()}
    values = {name: get(kind).from_ir(rows) for name, (kind, rows) in TABLES.items()}  # type: ignore[union-attr]
    enums = {"customer.tier": ["gold", "silver", "basic", "black"], "item.tier": ["gold", "silver", "black"]}
    bounds = [Decimal(b) for _, rows in TABLES.values() for r in rows for b in (r.get("from"), r.get("to"))
              if isinstance(b, str) and "-" not in b]
    items = []
    for i, text in enumerate(TABLE_CORPUS):
        cond = expr.check(text, TABLE_SCOPE)
        assert isinstance(cond, ir.Condition), cond
        feel = FeelScope(TABLE_SCOPE, params).of(cond)
        assert feel is not None, text
        data = [n for n in cond.names if n not in TABLES]
        for env in _cases(cond, TABLE_SCOPE, enums, 2000 + i, data, text, bounds):
            items.append((f"tables[{i}]", cond, feel, {**env, **{n: values[n] for n in cond.names if n in TABLES}}))
    return items


def test_table_lookups_mean_the_same_in_feel(node: str) -> None:
    items = _table_items()
    assert len(items) >= SAMPLES * len(TABLE_CORPUS)
    assert _agree(node, items) == []
