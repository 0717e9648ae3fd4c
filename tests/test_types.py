"""The value-type registry: every type has every facet, every sample survives the whole trip
(source text -> form JSON Schema -> runtime coerce -> storage), the new ``time`` type flows
through shape, expressions, forms, BPMN and the runtime, and values the build accepts stay
within the ranges the runtime can hold."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import networkx as nx
import pytest

from productkit import cel, expr, ir
from productkit.assemble import type_name
from productkit.build import build
from productkit.compile import field_def, typed_json
from productkit.diagnostics import Severity
from productkit.forms import form
from productkit.model import TypeSpec
from productkit.options import Options
from productkit.runtime import _codec, _durations, _values
from productkit.targets.feel import FeelScope
from productkit.types import TYPES, FieldProblem, Plain, ValueProblem, ValueType, field_schema, of
from test_architecture import BUILD_SIDE, import_graph

FACETS = ("parse", "key", "bound", "check_decl", "violations", "to_json", "feel_literal", "feel_name",
          "json_schema", "from_ir", "coerce", "check", "encode", "decode", "example")


def _source(sample: Any) -> Any:
    """A sample as the loader hands it over: plain scalars, lists and mappings of them."""
    if isinstance(sample, dict):
        return {k: _source(v) for k, v in sample.items()}
    return [_source(x) for x in sample] if isinstance(sample, tuple) else Plain(sample)


def _decl(kind: ValueType) -> TypeSpec:
    return TypeSpec.model_validate({"type": kind.name, **kind.sample_decl})


@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_type_has_every_facet(name: str) -> None:
    kind = TYPES[name]
    assert kind.name == name
    assert all(callable(getattr(kind, facet)) for facet in FACETS)
    assert isinstance(kind.cel, str) and isinstance(kind.expr_kind, str) and kind.sample != ""
    assert kind.check_decl(_decl(kind)) == []


@pytest.mark.parametrize("name", sorted(n for n, t in TYPES.items() if t.data))
def test_sample_round_trips_from_source_text_to_storage(name: str) -> None:
    kind, decl = TYPES[name], _decl(TYPES[name])
    value = kind.parse(_source(kind.sample), decl)
    assert kind.violations(decl, value) == []
    sent = typed_json(decl, value)  # what the definition holds and a channel sends
    fd = field_def(decl)
    jsonschema.Draft202012Validator(field_schema(kind, fd),
                                    format_checker=jsonschema.FormatChecker()).validate(sent)
    coerced = _values.coerce(fd, sent)
    assert _values.check(fd, coerced) == []
    assert kind.decode(json.loads(json.dumps(kind.encode(coerced)))) == coerced
    assert _codec.decode(_codec.encode({"v": coerced})) == {"v": coerced}
    assert of(name).feel_literal(value)


@pytest.mark.parametrize("name", sorted(n for n, t in TYPES.items() if not t.data))
def test_a_parameter_only_sample_round_trips_through_the_definition(name: str) -> None:
    """Types only a parameter can have (tables): source text -> definition JSON -> run time."""
    decl = _decl(TYPES[name])
    kind = of(type_name(decl))
    value = kind.parse(_source(TYPES[name].sample), decl)
    assert kind.violations(decl, value) == []
    held = json.loads(json.dumps(typed_json(decl, value)))
    assert kind.from_ir(held) == value
    assert kind.feel_literal(value)


def test_cel_types_are_known_to_the_checker() -> None:
    dyn = cel.cel_type("no-such-type")
    assert all(cel.cel_type(name) != dyn for name in TYPES if name not in ("list", "table"))
    assert cel.cel_type("list:integer") != dyn
    assert cel.cel_type("table:integer:percent") != dyn


@pytest.mark.parametrize("root", ["productkit.types", "productkit.runtime"])
def test_neither_types_nor_the_runtime_import_the_build_side(root: str) -> None:
    graph = import_graph()
    starts = {n for n in graph if n == root or n.startswith(root + ".")}
    reached = starts.union(*(nx.descendants(graph, s) for s in starts))
    build_side = tuple(f"productkit.{name}" for name in BUILD_SIDE)
    bad = sorted(m for m in reached if m in build_side or m.startswith(tuple(b + "." for b in build_side)))
    assert bad == [], f"{root} reaches {bad}"


# ---------------------------------------------------------------- the new type: time of day


def _time_decl(**kw: Any) -> TypeSpec:
    return TypeSpec.model_validate({"type": "time", **kw})


def test_time_reads_source_text_and_checks_bounds() -> None:
    kind = TYPES["time"]
    assert kind.parse(Plain("15:30")) == "15:30"  # YAML 1.1 would read 15:30 as 930
    with pytest.raises(ValueProblem) as bad:
        kind.parse(Plain("9:30"))
    assert bad.value.code == "PK108" and bad.value.hint == "write 09:30"
    decl = _time_decl(min=Plain("08:00"), max=Plain("17:00"), default=Plain("18:30"))
    assert [(p.code, p.field) for p in kind.check_decl(decl)] == [("PK111", "default")]
    assert [(p.code, p.field) for p in kind.check_decl(_time_decl(step=Plain("00:15")))] == [("PK109", "step")]


def test_time_in_expressions_is_checked_and_twinned_in_feel() -> None:
    scope = {"order.placed_at": "time", "cutoff_time": "time"}
    cond = expr.check("order.placed_at > cutoff_time", scope)
    assert isinstance(cond, ir.Condition)
    params = {"cutoff_time": ir.ParamValue(type="time", value="15:30")}
    assert FeelScope(scope, params).of(cond) == '(order.placed_at > "15:30")'
    assert expr.evaluate(cond, {"order.placed_at": "16:05", "cutoff_time": "15:30"}) is True
    wrong = expr.check("cutoff_time > 5", scope)
    assert isinstance(wrong, list) and wrong[0].code == "PK303"


def test_time_form_schema_accepts_only_times_of_day() -> None:
    fd = ir.FieldDef(type="time", min="08:00", max="17:00")
    validator = jsonschema.Draft202012Validator(field_schema(TYPES["time"], fd))
    assert validator.is_valid("09:05")
    assert not validator.is_valid("9:05") and not validator.is_valid("24:00")


def test_time_at_run_time_coerces_checks_and_stores() -> None:
    fd = ir.FieldDef(type="time", min="08:00", max="17:00")
    assert _values.coerce(fd, dt.time(9, 5)) == "09:05"
    with pytest.raises(FieldProblem):
        _values.coerce(fd, "25:00")
    assert [p.code for p in _values.check(fd, "17:30")] == ["maximum"]
    assert _values.param_value(ir.ParamValue(type="time", value="15:30")) == "15:30"
    assert _codec.decode(_codec.encode("15:30")) == "15:30"


CATALOGUE = {
    "components/dictionary.yaml": """\
apiVersion: productkit/v1
kind: ParameterDictionary
id: dict.cutoff
version: 1.0.0
title: {zh-CN: 截止时间, en: Cut-off times}
parameters:
  cutoff_time: {type: time, min: 08:00, max: 17:00, title: {zh-CN: 截止时间, en: Cut-off time}}
""",
    "components/order.yaml": """\
apiVersion: productkit/v1
kind: UIComponent
id: ui.order
version: 1.0.0
title: {zh-CN: 下单, en: Order}
channels: [web]
fields:
  order.placed_at: {type: time, label: {zh-CN: 下单时间, en: Placed at}}
""",
    "components/book.yaml": """\
apiVersion: productkit/v1
kind: ProcessComponent
id: core.book
version: 1.0.0
title: {zh-CN: 记账, en: Book}
handler: core.book
inputs:
  order.placed_at: {type: time}
""",
    "products/same-day.yaml": """\
apiVersion: productkit/v1
kind: Product
id: demo.same-day
version: 1.0.0
name: {zh-CN: 当日, en: Same day}
channels: [web]
parameters:
  cutoff_time: 15:30
steps:
  - id: order
    use: ui.order@^1
  - id: too-late
    end: referred
    when: order.placed_at > cutoff_time
  - id: book
    use: core.book@^1
""",
}


def test_time_flows_through_a_build_to_bpmn_forms_and_the_definition(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    for rel, text in CATALOGUE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    result = build([root], tmp_path / "out", Options(release_date=dt.date(2026, 12, 1)))
    assert [d for d in result.diagnostics if d.severity is Severity.ERROR] == []
    bpmn = (tmp_path / "out/bpmn/demo.same-day@1.0.0.bpmn").read_text(encoding="utf-8")
    assert "(order.placed_at &gt; &quot;15:30&quot;)" in bpmn or '(order.placed_at &gt; "15:30")' in bpmn
    defn = ir.WorkflowDefinition.model_validate_json(
        (tmp_path / "out/definitions/demo.same-day@1.0.0.json").read_text(encoding="utf-8"))
    assert defn.parameters["cutoff_time"].value == "15:30"
    schema = form(defn.steps["order"], "web")["schema"]
    assert schema["properties"]["order"]["properties"]["placed_at"]["pattern"].startswith("^")
    assert _values.coerce(defn.steps["order"].fields["order.placed_at"], "16:00") == "16:00"


# ---------------------------------------------------------------- value ranges (issue 11)


@pytest.mark.parametrize("text", ["P99999999999D", "P101Y", "PT99999999999999999999S", "P1201M", "P36501D"])
def test_durations_beyond_100_years_are_refused_at_build_and_run_time(text: str) -> None:
    with pytest.raises(ValueProblem) as bad:
        TYPES["duration"].parse(Plain(text))
    assert bad.value.code == "PK108"
    with pytest.raises(ValueError, match="longer than 100 years"):
        _durations.parse(text)
    assert TYPES["duration"].parse(Plain("P100Y")).months_total == 1200


def test_the_longest_duration_adds_to_the_latest_date() -> None:
    moment = dt.datetime(9799, 12, 31, 23, 59, tzinfo=dt.UTC)
    assert _durations.add(moment, "P100YT876000H").year == 9999


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "9800-01-01", "9999-12-31"])
def test_dates_outside_the_range_are_refused(text: str) -> None:
    with pytest.raises(ValueProblem) as bad:
        TYPES["date"].parse(Plain(text))
    assert bad.value.code == "PK108"
    with pytest.raises(FieldProblem):
        _values.coerce(ir.FieldDef(type="date"), text)


@pytest.mark.parametrize("name", ["decimal", "percent"])
@pytest.mark.parametrize("text", ["12345678901234567890", "0.1234567", "1000000000000"])
def test_decimals_beyond_the_fixed_point_are_refused_where_written(name: str, text: str) -> None:
    with pytest.raises(ValueProblem) as bad:
        TYPES[name].parse(Plain(text))
    assert bad.value.code == "PK108"
    assert TYPES[name].parse(Plain("999999999999.999999")) == Decimal("999999999999.999999")


def test_money_beyond_the_fixed_point_is_refused() -> None:
    decl = TypeSpec(type="money", currency="CNY")
    with pytest.raises(ValueProblem) as bad:
        TYPES["money"].parse(Plain("12345678901234567890.00"), decl)
    assert bad.value.code == "PK108"


def test_percent_beyond_its_scale_is_refused() -> None:
    decl = TypeSpec(type="percent", scale=2)
    assert TYPES["percent"].parse(Plain("1.75"), decl) == Decimal("1.75")
    with pytest.raises(ValueProblem) as bad:
        TYPES["percent"].parse(Plain("1.755"), decl)
    assert bad.value.code == "PK111"
    assert [p.code for p in _values.check(ir.FieldDef(type="percent", scale=2), Decimal("1.755"))] == ["scale"]


def test_runtime_refuses_decimals_it_cannot_hold_exactly() -> None:
    fd = ir.FieldDef(type="decimal")
    assert [p.code for p in _values.check(fd, Decimal("0.1234567"))] == ["scale"]
    assert [p.code for p in _values.check(fd, Decimal("12345678901234567890"))] == ["maximum"]
