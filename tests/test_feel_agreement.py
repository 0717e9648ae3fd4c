"""FEEL and CEL agree: every emitted condition, evaluated both ways on generated data.

CEL runs in productkit's exact fixed-point evaluator; FEEL runs in feelin, the bpmn.io FEEL
interpreter, on Node.js. feelin computes with binary doubles (Camunda's own FEEL uses
BigDecimal), so generated decimals lie on a quarter grid, where doubles are exact: a
disagreement is then a translation bug, not a rounding artefact.
"""

from __future__ import annotations

import datetime as dt
import json
import random
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
from productkit.validate import validate
from productkit.values import Money

REPO = Path(__file__).resolve().parents[1]
FEEL_DIR = REPO / "tools" / "feel"
SAMPLES = 40

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


def _value(kind: str, rng: random.Random, strings: list[str], numbers: list[Decimal],
           values: list[str] | None) -> Any:
    near = rng.choice(numbers) if numbers and rng.random() < 0.7 else Decimal(rng.randint(0, 2000))
    if kind == "integer":
        return int(near) + rng.randint(-2, 2)
    if kind in expr.DECIMAL_TYPES:
        return near.to_integral_value() + Decimal(rng.randint(-8, 8)) / 4
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
        if isinstance(value, Money):
            value = value.amount
        if isinstance(value, Decimal):
            value = float(value)  # exact: quarter grid
        elif isinstance(value, dt.date):
            value = value.isoformat()
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


def _cases(cond: ir.Condition, scope: Mapping[str, str], enums: Mapping[str, list[str]],
           seed: int, names: Sequence[str] | None = None, text: str | None = None) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    strings, numbers = _literals(text or cond.cel)
    wanted = list(names if names is not None else cond.names)
    for _ in range(SAMPLES):
        env = {n: _value(scope.get(n, "string"), rng, strings, numbers, enums.get(n)) for n in wanted}
        if "channel" in wanted:
            env["channel"] = rng.choice(["mobile", "web", "counter", "mini-program", "open-api"])
        yield env


Item = tuple[str, ir.Condition, str, dict[str, Any]]  # where, condition, its FEEL, the data


def _agree(node: str, items: list[Item]) -> list[str]:
    lines = [json.dumps({"expr": feel, "context": _feel_context(c, env)}) for _, c, feel, env in items]
    proc = subprocess.run([node, str(FEEL_DIR / "eval.js")], input="\n".join(lines), text=True,
                          capture_output=True, check=True, timeout=300)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(items)
    problems = []
    for (where, cond, feel, env), got in zip(items, results, strict=True):
        want = expr.evaluate(cond, env)
        if "error" in got or got["value"] != want:
            problems.append(f"{where}: CEL {cond.cel!r} = {want!r}, FEEL {feel!r} = {got} on {env}")
    return problems


def test_corpus_conditions_mean_the_same_in_feel(node: str) -> None:
    items = []
    for i, (text, scope) in enumerate(CORPUS):
        cond = expr.check(text, scope)
        assert isinstance(cond, ir.Condition), cond
        feel = FeelScope(scope).of(cond)
        assert feel is not None, text
        enums = {n: ["passed", "failed", "manual_review", "hit", "clear"] for n, k in scope.items() if k == "enum"}
        items += [(f"corpus[{i}]", cond, feel, env) for env in _cases(cond, scope, enums, seed=i)]
    assert _agree(node, items) == []


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
        scope = dict(asm.scope)
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
        # Parameters and derived values are inlined in FEEL; CEL reads the same parameter values
        # and computes the derived values as the engine does.
        names, text = _closure(cond, derived)
        for env in _cases(cond, scope, enums, 1000 + i, names, text):
            env.update({n: params[n] for n in names if n in params})
            items.append((where, cond, feel, with_derived(cond, env, derived)))
    assert _agree(node, items) == []
