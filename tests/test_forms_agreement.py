"""Standard validators decide what the engine decides: for every field of every form of the
repo catalogue, values generated around its limits (hypothesis) get the same verdict from the
runtime's exact field check and from the form's schema under python-jsonschema, the ajv JSON
Forms creates by default and the validator react-jsonschema-form exports (tools/forms)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from forms_support import built_catalogue, node
from productkit.ir import FieldDef
from productkit.runtime import Catalog
from productkit.runtime._coerce import checked
from productkit.runtime._submit import check_submission
from productkit.runtime._values import Problem
from productkit.runtime.views import ProductVersion
from productkit.types import get

EXAMPLES = 100  # values per distinct field


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return built_catalogue(tmp_path_factory.mktemp("forms") / "build")


Site = tuple[ProductVersion, str, str, str]  # product version, step, channel, field path


def _fields(catalogue: Catalog) -> Iterator[tuple[FieldDef, dict[str, Any], Site]]:
    """Each distinct (declaration, schema) pair of every form's fields, with one place it is."""
    seen: set[str] = set()
    for pv in catalogue:
        for (sid, channel), form in sorted(pv.forms.items()):
            for path, fd in pv.definition.steps[sid].fields.items():
                prop = _property(form.schema, path)
                key = json.dumps([fd.model_dump(mode="json"), prop], sort_keys=True)
                if prop is not None and key not in seen:
                    seen.add(key)
                    yield fd, prop, (pv, sid, channel, path)


def _property(schema: Any, path: str) -> dict[str, Any] | None:
    for part in path.split("."):
        schema = schema.get("properties", {}).get(part) if isinstance(schema, dict) else None
    return schema if isinstance(schema, dict) else None


def _decimal_text(fd: FieldDef) -> st.SearchStrategy[str]:
    """Canonical decimal text around the field's bounds, steps, zero and the 12-digit limit."""
    anchors = [Decimal(x) for x in (fd.min, fd.max, fd.step) if x is not None]
    anchors += [Decimal(0), Decimal(10) ** 12]
    step = Decimal(fd.step) if fd.step else Decimal(1)
    near = st.builds(lambda a, n, k, j: a + n * step + k * Decimal(1).scaleb(-j), st.sampled_from(anchors),
                     st.integers(-3, 3), st.integers(-3, 3), st.integers(0, 8))
    wide = st.decimals(min_value=-10 ** 13, max_value=10 ** 13, places=3, allow_nan=False)
    value = st.one_of(near, wide, st.sampled_from(anchors)).map(lambda d: d * 1)
    return st.builds(_written, value, st.integers(0, 8), st.booleans())


def _written(value: Decimal, places: int, negate: bool) -> str:
    value = -value if negate and value else value
    shown = max(places, -value.as_tuple().exponent if isinstance(value.as_tuple().exponent, int) else 0)
    return format(value.quantize(Decimal(1).scaleb(-min(shown, 9))), "f")


def _integers(fd: FieldDef) -> st.SearchStrategy[int]:
    anchors = [int(Decimal(x)) for x in (fd.min, fd.max, fd.step) if x is not None] + [0]
    near = st.builds(lambda a, k: a + k, st.sampled_from(anchors), st.integers(-3, 3))
    return st.one_of(near, st.integers(-10 ** 6, 10 ** 6))


def _texts(fd: FieldDef) -> st.SearchStrategy[str]:
    alphabet = st.sampled_from("0123456789Xab-:@. 中文")
    some = st.text(alphabet, min_size=1, max_size=(fd.max_length or 20) + 2)
    if fd.pattern:
        some = st.one_of(some, st.from_regex(fd.pattern, fullmatch=True).filter(lambda s: 0 < len(s) < 64))
    return some


def _values(fd: FieldDef) -> st.SearchStrategy[Any]:
    kind = get(fd.type)
    if kind is not None and kind.decimal:
        return _decimal_text(fd)
    if fd.type == "integer":
        return _integers(fd)
    if fd.type == "boolean":
        return st.booleans()
    if fd.type == "enum":
        return st.one_of(st.sampled_from(fd.values or ["x"]), st.text(max_size=4).filter(bool))
    if fd.type == "time":
        return st.one_of(st.times().map(lambda t: t.strftime("%H:%M")), st.text("0123456789:", min_size=1))
    if fd.type == "date":
        return st.one_of(st.dates().map(lambda d: d.isoformat()), st.text("0123456789-", min_size=1))
    return _texts(fd)


def _engine(fd: FieldDef, value: Any) -> bool:
    """The runtime's verdict on one submitted field (coerce, then its exact checks)."""
    try:
        _, problems = checked(fd, value)
    except Problem:
        return False
    return not problems


def _submitted(catalogue: Catalog, site: Site, value: Any) -> bool:
    """The engine's verdict on a submission of ``value`` alone: no error on its field."""
    pv, sid, channel, path = site
    step, form = pv.definition.steps[sid], pv.forms[(sid, channel)]
    _, errors = check_submission(step, channel, form, catalogue.validator(pv, form), {path: value},
                                 {}, {}, [], {})
    return all(e.path != path for e in errors)


def _noisy(fd: FieldDef) -> st.SearchStrategy[str]:
    """Decimal text as people and programs mistype it: signs, zeros, spaces, %, exponents."""
    edits = st.sampled_from([lambda t: "+" + t, lambda t: "0" + t, lambda t: " " + t, lambda t: t + " ",
                             lambda t: t + "%", lambda t: t + "e0", lambda t: t + ".",
                             lambda t: t.replace(".", ","), lambda t: t + " CNY", lambda t: "." + t])
    return st.builds(lambda t, edit: edit(t), _decimal_text(fd), edits)


def _examples(fd: FieldDef, values: st.SearchStrategy[Any] | None = None) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(values if values is not None else _values(fd))
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def test_engine_and_standard_validators_agree(catalogue: Catalog) -> None:
    cases: list[tuple[dict[str, Any], Any]] = []
    verdicts: list[bool] = []
    disagreements: list[str] = []
    fields = list(_fields(catalogue))
    for fd, prop, site in fields:
        schema = Draft7Validator(prop, format_checker=Draft7Validator.FORMAT_CHECKER)
        for value in _examples(fd):
            engine = _engine(fd, value)
            if schema.is_valid(value) != engine:
                disagreements.append(f"jsonschema {fd.type} {value!r}: engine says {engine}")
            if not fd.readonly and _submitted(catalogue, site, value) != engine:
                disagreements.append(f"submit {fd.type} {value!r}: the field check says {engine}")
            cases.append((prop, value))
            verdicts.append(engine)
    ajv = node("validate.js", {"cases": cases})
    for (prop, value), engine, jf, rj in zip(cases, verdicts, ajv["jsonforms"], ajv["rjsf"], strict=True):
        if jf != engine or rj != engine:
            disagreements.append(f"ajv {prop} {value!r}: engine {engine}, JSON Forms {jf}, RJSF {rj}")
    print(f"{len(fields)} distinct fields, {len(cases)} cases, {sum(verdicts)} accepted, "
          f"{len(disagreements)} disagreements")
    assert len(fields) > 40 and 0 < sum(verdicts) < len(cases)
    assert disagreements == []


def test_mistyped_decimal_text_is_refused_alike(catalogue: Catalog) -> None:
    """On submit the engine (exact checks plus the form's pattern on the text as sent) and the
    standard validators agree on text no form would send."""
    cases: list[tuple[dict[str, Any], Any]] = []
    verdicts: list[bool] = []
    for fd, prop, site in _fields(catalogue):
        kind = get(fd.type)
        if kind is None or not kind.decimal:
            continue
        schema = Draft7Validator(prop, format_checker=Draft7Validator.FORMAT_CHECKER)
        for value in _examples(fd, _noisy(fd)):
            engine = _submitted(catalogue, site, value)
            assert schema.is_valid(value) == engine, (prop, value, engine)
            cases.append((prop, value))
            verdicts.append(engine)
    ajv = node("validate.js", {"cases": cases})
    print(f"{len(cases)} mistyped decimal texts, {sum(verdicts)} accepted")
    assert ajv["jsonforms"] == verdicts and ajv["rjsf"] == verdicts
    assert len(cases) > 300


def _started(catalogue: Catalog) -> tuple[Any, Any]:
    from productkit.runtime import Engine, Handlers
    handlers = Handlers()
    for need in Engine(catalogue, handlers=handlers).readiness("mobile", ["deposit.time-1y"]).needs:
        handlers.add(need.handler, lambda call: {"deposit.certificate_number": "TD1", "fraud.risk_level": "low"})
    engine = Engine(catalogue, handlers=handlers)
    app = engine.start("deposit.time-1y", "mobile", {
        "application.id": "APP20261201000001", "customer.id": "C2026000101",
        "applicant.id_number": "110105199003071234", "applicant.mobile": "13812345678",
        "applicant.age": 36, "session.device_id": "dev-7f3a9c2e4b1d"})
    return engine, app


def _walk_to(engine: Any, app: Any, stop: str) -> Any:
    answers = {"amount": {"deposit.amount": "100000.00"},
               "funding": {"funding.account_number": "6222021234567890123"}}
    while app.screen is not None and app.screen.step_id != stop:
        app = engine.submit(app.id, app.screen.step_id, answers.get(app.screen.step_id, {}))
    return app


def test_the_engine_refuses_consent_not_given(catalogue: Catalog) -> None:
    engine, app = _started(catalogue)
    app = _walk_to(engine, app, "terms")
    refused = engine.submit(app.id, "terms", {"consent.terms_accepted": False})
    assert refused.screen is not None and refused.screen.step_id == "terms"
    assert [(e.path, e.code) for e in refused.errors] == [("consent.terms_accepted", "enum")]
    accepted = engine.submit(app.id, "terms", {"consent.terms_accepted": True})
    assert accepted.screen is None or accepted.screen.step_id != "terms"


def test_a_read_only_field_comes_back_with_its_default(catalogue: Catalog) -> None:
    pv = catalogue.entry("deposit.large-cd-2026-01")
    site = (pv, "amount", "mobile", "deposit.currency")
    assert _submitted(catalogue, site, "CNY") and not _submitted(catalogue, site, "USD")


@pytest.mark.parametrize("text", ["+100000.00", "0100000.00", " 100000.00", "100000.001", "1e5"])
def test_the_engine_refuses_amount_text_the_form_refuses(catalogue: Catalog, text: str) -> None:
    engine, app = _started(catalogue)
    app = _walk_to(engine, app, "amount")
    refused = engine.submit(app.id, "amount", {"deposit.amount": text})
    assert refused.screen is not None and refused.screen.step_id == "amount"
    assert [e.path for e in refused.errors] == ["deposit.amount"]


def test_each_form_submitted_as_it_starts_gets_one_verdict(catalogue: Catalog) -> None:
    """The form's initial data (parents and defaults) submitted as is: required fields, defaults
    and read-only fields decided alike by the engine and the standard validators."""
    cases: list[tuple[dict[str, Any], Any]] = []
    verdicts: list[bool] = []
    for pv in catalogue:
        for (sid, channel), form in sorted(pv.forms.items()):
            data = form.extra["data"]
            step = pv.definition.steps[sid]
            _, errors = check_submission(step, channel, form, catalogue.validator(pv, form), data, {}, {}, [], {})
            engine = not errors
            assert Draft7Validator(form.schema).is_valid(data) == engine, (pv.key, sid, channel, errors)
            cases.append((dict(form.schema), data))
            verdicts.append(engine)
    ajv = node("validate.js", {"cases": cases})
    assert ajv["jsonforms"] == verdicts and ajv["rjsf"] == verdicts
    assert 0 < sum(verdicts) < len(verdicts)
