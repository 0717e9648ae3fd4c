"""validate => build => run: a generated product that validate accepts, build compiles without
a diagnostic, and one happy path runs on the embedded engine to an outcome, never to a failure
of an expression (hypothesis, bounded).

The products vary where the consumers of a build disagreed before: conditions over decimals
sent as text, durations in the context (which validate refuses in an expression: they would be
compared as text), integers and enums, inputs a condition reaches or not.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productkit.build import build
from productkit.options import Options
from productkit.runtime import Catalog, Engine, Handlers, MemoryStore
from productkit.validate import validate

COMPONENTS = {
    "customer.yaml": """\
apiVersion: productkit/v1
kind: ProcessComponent
id: core.customer
version: 1.0.0
title: {zh-CN: 建立客户, en: Create customer}
handler: core.customer.create
outputs:
  customer.id: {type: string}
""",
    "amount.yaml": """\
apiVersion: productkit/v1
kind: UIComponent
id: ui.amount
version: 1.0.0
title: {zh-CN: 金额, en: Amount}
channels: [web]
fields:
  loan.amount: {type: money, currency: CNY, min: 0.01, max: 1000000, label: {zh-CN: 金额, en: Amount}}
""",
    "risk.yaml": """\
apiVersion: productkit/v1
kind: ProcessComponent
id: risk.check
version: 1.0.0
title: {zh-CN: 风险检查, en: Risk check}
handler: risk.check
inputs:
  customer.id: {type: string}
  loan.amount: {type: money, currency: CNY}
outputs:
  risk.level: {type: enum, values: [low, high]}
""",
}

ATOMS = st.one_of(
    st.integers(0, 120).map(lambda n: f"applicant.age >= {n}"),
    st.decimals("0.01", "1000000", places=2).map(lambda d: f"loan.amount > {d}"),
    st.just("loan.amount <= max_amount"),
    st.just("application.cooling > min_cooling"),
    st.sampled_from(['risk.level == "high"', 'risk.level != "low"']),
)
CONDITIONS = st.recursive(ATOMS, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda c: f"!({c})")), max_leaves=4)


def _product(reject: str, refer: str, max_amount: str, min_cooling: str) -> str:
    return f"""\
apiVersion: productkit/v1
kind: Product
id: demo.loan
version: 1.0.0
name: {{zh-CN: 演示贷款, en: Demo loan}}
channels: [web]
context:
  applicant.age: {{type: integer, min: 0, max: 150}}
  application.cooling: {{type: duration}}
parameters:
  max_amount: {{type: money, currency: CNY, value: {max_amount}}}
  min_cooling: {{type: duration, value: {min_cooling}}}
steps:
  - id: customer
    use: core.customer@^1
  - id: amount
    use: ui.amount@^1
  - id: risk
    use: risk.check@^1
  - id: reject
    end: rejected
    after: [risk]
    when: '{reject}'
  - id: refer
    end: referred
    after: [reject]
    when: '{refer}'
  - id: high-risk
    end: referred
    after: [refer]
    when: risk.level == "high"
"""


def _catalogue(root: Path, product: str) -> None:
    (root / "components").mkdir(parents=True)
    (root / "products").mkdir()
    for name, text in COMPONENTS.items():
        (root / "components" / name).write_text(text, encoding="utf-8")
    (root / "products" / "demo.yaml").write_text(product, encoding="utf-8")


def _new(found: list[Any], known: list[Any]) -> list[Any]:
    """What build said that validate did not (notes such as PK213 are said by both)."""
    return [d for d in found if d not in known]


def _run(out: Path, age: int, cooling: str, amount: str, level: str) -> Any:
    handlers = Handlers()
    handlers.add("core.customer.create", lambda call: {"customer.id": "C1"})
    handlers.add("risk.check", lambda call: {"risk.level": level})
    engine = Engine(Catalog.load(out), handlers=handlers, store=MemoryStore(),
                    clock=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))
    app = engine.start("demo.loan", "web", {"applicant.age": age, "application.cooling": cooling})
    while app.screen is not None:
        app = engine.submit(app.id, app.screen.step_id, {"loan.amount": amount})
    engine.close()
    return app


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reject=CONDITIONS, refer=CONDITIONS,
       max_amount=st.decimals("0.01", "1000000", places=2).map(str),
       min_cooling=st.sampled_from(["PT12H", "P1D", "P14D"]),
       age=st.integers(0, 150), cooling=st.sampled_from(["PT1H", "P1D", "P30D"]),
       amount=st.decimals("0.01", "1000000", places=2).map(str), level=st.sampled_from(["low", "high"]))
def test_validate_clean_then_build_clean_then_a_run_ends(reject: str, refer: str, max_amount: str,
                                                          min_cooling: str, age: int, cooling: str,
                                                          amount: str, level: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cat"
        _catalogue(root, _product(reject, refer, max_amount, min_cooling))
        options = Options(cache=None)
        checked = validate([root], options)
        if checked.failed(strict=True):
            return  # not a product validate accepts: nothing to promise
        built = build([root], Path(tmp) / "build", options)
        assert _new(built.diagnostics, checked.diagnostics) == [] and not built.failed(strict=True)
        app = _run(Path(tmp) / "build", age, cooling, amount, level)
        assert app.outcome is not None and app.outcome.value in ("completed", "rejected", "referred"), \
            (app.outcome, app.reason, reject, refer)


def test_the_generated_products_are_mostly_valid() -> None:
    """The property is not vacuous: the template itself validates and builds clean."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cat"
        _catalogue(root, _product('risk.level == "high"', "loan.amount > max_amount", "5000.00", "P1D"))
        checked = validate([root], Options(cache=None))
        assert not checked.failed(strict=True), checked.diagnostics
        built = build([root], Path(tmp) / "build", Options(cache=None))
        assert _new(built.diagnostics, checked.diagnostics) == [] and not built.failed(strict=True)
        app = _run(Path(tmp) / "build", 30, "P1D", "6000.00", "low")
        assert app.outcome is not None and app.outcome.value == "referred"
