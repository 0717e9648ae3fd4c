"""The compiled yes/no check asked before a form's Python validator never accepts what that
validator refuses (so the engine's field errors are unchanged), and accepts what it accepts
for the forms of the repo catalogue (so it is worth asking). Instances are generated from each
form's schema: values that fit, values around the limits, and values of the wrong kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from forms_support import built_catalogue
from productkit.runtime import Catalog
from productkit.runtime._quick import quick_check
from productkit.runtime.views import Form

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=12),
                 st.floats(allow_nan=False), st.lists(st.integers(), max_size=2))


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> list[Form]:
    catalogue: Catalog = built_catalogue(tmp_path_factory.mktemp("quick") / "build")
    return [form for pv in catalogue for _, form in sorted(pv.forms.items())]


def _string(node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    options: list[st.SearchStrategy[Any]] = [st.text(max_size=20)]
    if isinstance(node.get("pattern"), str):
        options.append(st.from_regex(node["pattern"], fullmatch=True))
    if node.get("format") == "date":
        options.append(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(dt.date.isoformat))
        options.append(st.sampled_from(["2026-02-30", "2026-13-01", "2026-1-1", "20260101"]))
    if node.get("format") == "email":
        options.append(st.sampled_from(["a@b.cn", "li.lei@bank.example", "no-at", "@", "a@", "a b@c"]))
    return st.one_of(options)


def _number(node: Mapping[str, Any], whole: bool) -> st.SearchStrategy[Any]:
    lo, hi = node.get("minimum", -10**6), node.get("maximum", 10**6)
    ints = st.integers(int(lo) - 2, int(hi) + 2)
    return ints if whole else st.one_of(ints, st.floats(lo - 2, hi + 2, allow_nan=False))


def _instance(node: Any) -> st.SearchStrategy[Any]:
    """Values for the schema ``node``: mostly of its shape, sometimes anything."""
    if not isinstance(node, Mapping):
        return JUNK
    kind = node.get("type")
    fitting: st.SearchStrategy[Any]
    if "enum" in node:
        fitting = st.sampled_from(list(node["enum"]))
    elif "const" in node:
        fitting = st.just(node["const"])
    elif kind == "object" or "properties" in node:
        props = node.get("properties", {})
        fitting = st.fixed_dictionaries({}, optional={k: _instance(v) for k, v in props.items()})
    elif kind == "array":
        fitting = st.lists(_instance(node.get("items", {})), max_size=3)
    elif kind == "string":
        fitting = _string(node)
    elif kind in ("integer", "number"):
        fitting = _number(node, kind == "integer")
    elif kind == "boolean":
        fitting = st.booleans()
    else:
        return JUNK
    return st.one_of(fitting, fitting, fitting, JUNK)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_quick_check_never_accepts_what_the_validator_refuses(forms: list[Form], data: st.DataObject) -> None:
    checked = 0
    for form in forms:
        quick = quick_check(form.schema)
        if quick is None:
            continue
        checked += 1
        validator = Draft7Validator(form.schema, format_checker=Draft7Validator.FORMAT_CHECKER)
        instance = data.draw(_instance(form.schema), label=form.path)
        if quick(instance):
            assert list(validator.iter_errors(instance)) == [], (form.path, instance)
    assert checked > len(forms) // 2  # most forms are checked quickly, or it is not worth it


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_quick_check_accepts_what_the_validator_accepts(forms: list[Form], data: st.DataObject) -> None:
    """Stricter would be safe (the Python validator then finds nothing), but slower: an instance
    both judge valid is the common case the quick check is for."""
    for form in forms:
        quick = quick_check(form.schema)
        validator = Draft7Validator(form.schema, format_checker=Draft7Validator.FORMAT_CHECKER)
        instance = data.draw(_instance(form.schema), label=form.path)
        if quick is not None and validator.is_valid(instance):
            assert quick(instance), (form.path, instance)


def test_schemas_where_the_checks_could_disagree_get_no_quick_check() -> None:
    assert quick_check({"type": "number", "multipleOf": 0.1}) is None
    assert quick_check({"properties": {"a": {"type": "string", "format": "uri"}}}) is None
    assert quick_check({"type": "integer", "multipleOf": 5}) is not None
    check = quick_check({"type": "object", "properties": {"format": {"type": "string", "format": "date"}},
                         "required": ["format"]})
    assert check is not None
    assert check({"format": "2026-02-28"}) and not check({"format": "2026-02-30"}) and not check({})


def test_an_instance_it_cannot_read_is_left_to_the_validator() -> None:
    check = quick_check({"type": "integer"})
    assert check is not None
    assert check(5) and not check("5")
