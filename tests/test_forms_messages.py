"""A form carries exactly the validation messages its own schema can produce: every error that
JSON Forms' ajv or RJSF's validator reports, for values made to break each keyword of the
schema, finds its message in the form's i18n table in both languages, and each ``error.*``
message the table holds is reported for some such value. Checked over every form of the repo
catalogue and over forms of generated fields."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from forms_support import built_forms, node
from productkit.forms import LANGUAGES, MESSAGES, form
from productkit.ir import FieldDef, Label, Step

_ODD = "~"  # no pattern, format or option of a form accepts it


def _broken(schema: dict[str, Any]) -> list[Any]:
    """Values for ``schema`` that break each of its keywords (or one inside it) in turn."""
    out: list[Any] = [_ODD if schema.get("type") != "string" else 0]
    if "properties" in schema:
        out.append({})
        out += [{name: bad} for name, sub in schema["properties"].items() for bad in _broken(sub)]
    if schema.get("type") == "array":
        out += [[], [None] * (schema.get("maxItems", 0) + 1)]
        out += [[bad] for bad in _broken(schema.get("items") or {})]
    out += [schema["minimum"] - 1] if "minimum" in schema else []
    out += [schema["maximum"] + 1] if "maximum" in schema else []
    out += [schema["multipleOf"] + 0.5] if "multipleOf" in schema else []
    out += ["x" * (schema["maxLength"] + 1)] if "maxLength" in schema else []
    out += ["", _ODD] if schema.get("type") == "string" else []
    out += [not schema["const"]] if isinstance(schema.get("const"), bool) else []
    return out


def _reported(forms: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, str, str]]]:
    """form name -> (renderer, keyword, data path) of every error reported for its broken values."""
    # A form's data is an object: the root's own type is never broken.
    cases = [(name, [f["schema"], value]) for name, f in forms.items() for value in _broken(f["schema"])[1:]]
    errors = node("validate.js", {"cases": [case for _, case in cases]})["errors"]
    out: dict[str, list[tuple[str, str, str]]] = {name: [] for name in forms}
    for (name, _), found in zip(cases, errors, strict=True):
        out[name] += [tuple(e) for e in found]
    return out


def _unsaid(f: dict[str, Any], reported: list[tuple[str, str, str]]) -> list[str]:
    """The reported errors the form has no message for, and the messages no error needs."""
    problems = []
    for lang in LANGUAGES:
        texts = f["i18n"][lang]
        problems += [f"{lang}: {renderer} reports '{word}' at {path!r}, no message"
                     for renderer, word, path in reported if "error." + word not in texts]
        said = {key.removeprefix("error.") for key in texts if key.startswith("error.")}
        problems += [f"{lang}: error.{word} is never reported" for word in sorted(said - {w for _, w, _ in reported})]
        options = "oneOf" in orjson.dumps(f["schema"]).decode()
        if ("enum.none" in texts) != options:
            problems.append(f"{lang}: enum.none written {'enum.none' in texts}, options on the form {options}")
    return problems


@pytest.fixture(scope="module")
def catalogue_forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return built_forms(tmp_path_factory.mktemp("messages") / "build")


def test_every_catalogue_form_has_exactly_the_messages_its_errors_need(
        catalogue_forms: dict[str, dict[str, Any]]) -> None:
    reported = _reported(catalogue_forms)
    unsaid = {name: p for name, f in catalogue_forms.items() if (p := _unsaid(f, reported[name]))}
    words = {w for found in reported.values() for _, w, _ in found}
    # Formats and list sizes appear in the generated forms below, not in the repo catalogue.
    assert words == set(MESSAGES["en"]) - {"enum", "format", "minItems", "maxItems"}, words
    assert len(catalogue_forms) > 150
    assert unsaid == {}


def test_a_form_without_fields_has_no_error_messages() -> None:
    step = Step(id="done", kind="user", title=Label(**{"zh-CN": "完成", "en": "Done"}), channels=["web"])
    texts = form(step, "web")["i18n"]
    assert texts == {"zh-CN": {"done.label": "完成"}, "en": {"done.label": "Done"}}


_LABEL = Label(**{"zh-CN": "项", "en": "Item"})
_bounds = st.one_of(st.none(), st.integers(-50, 50))


@st.composite
def _field(draw: st.DrawFn, depth: int = 0) -> FieldDef:
    kind = draw(st.sampled_from(["integer", "decimal", "money", "percent", "string", "enum", "boolean",
                                 "date", "duration", "list"] if depth == 0 else ["integer", "string", "enum"]))
    low, span = draw(_bounds), draw(st.one_of(st.none(), st.integers(0, 100)))
    decl: dict[str, Any] = {"type": kind, "required": draw(st.booleans()), "readonly": draw(st.booleans())}
    if kind in ("integer", "decimal", "money", "percent"):
        decl |= {"min": None if low is None else str(low),
                 "max": None if span is None else str((low or 0) + span),
                 "step": draw(st.sampled_from([None, "1", "5", "10"]))}
        decl |= {"currency": "CNY"} if kind == "money" else {}
    elif kind == "string":
        decl |= {"min_length": draw(st.one_of(st.none(), st.integers(0, 3))),
                 "max_length": draw(st.one_of(st.none(), st.integers(3, 9))),
                 "pattern": draw(st.sampled_from([None, "[a-z]+", "^[0-9]{6}$"])),
                 "widget": draw(st.sampled_from([None, "email", "date", "textarea"]))}
    elif kind == "enum":
        decl |= {"values": draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, unique=True)),
                 "widget": draw(st.sampled_from([None, "radio", "select"]))}
    elif kind == "boolean":
        decl |= {"widget": draw(st.sampled_from([None, "consent"]))}
    elif kind == "list":
        decl |= {"items": draw(st.one_of(st.none(), _field(depth=1))),
                 "min_length": draw(st.one_of(st.none(), st.integers(0, 2))),
                 "max_length": draw(st.one_of(st.none(), st.integers(2, 4)))}
    return FieldDef(label=_LABEL, **decl)


_paths = st.sampled_from(["a", "b", "c", "g.a", "g.b", "g.h.a", "h.c"])
_steps = st.dictionaries(_paths, _field(), max_size=5).filter(
    lambda fields: not any(p.startswith(q + ".") for p in fields for q in fields))


# Each example runs node once; a failure names the forms, so shrinking is not worth its minutes.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(_steps, min_size=10, max_size=10))
def test_generated_forms_have_exactly_the_messages_their_errors_need(steps: list[dict[str, FieldDef]]) -> None:
    forms = {str(i): form(Step(id=f"s{i}", kind="user", title=_LABEL, channels=["web"], fields=fields), "web")
             for i, fields in enumerate(steps)}
    reported = _reported(forms)
    unsaid = {name: (p, f["schema"]) for name, f in forms.items() if (p := _unsaid(f, reported[name]))}
    assert unsaid == {}


def test_channels_showing_the_same_fields_get_the_forms_each_would_alone() -> None:
    """forms_of shares one form among channels that show the same fields; each still equals
    the form made for its channel alone, with its own channel name."""
    from productkit.forms import form, forms_of
    from productkit.ir import FieldDef, Label, Step, WorkflowDefinition

    fields = {"x.amount": FieldDef(type="decimal", min="1", max="9", label=Label(**{"zh-CN": "金额", "en": "Amount"})),
              "x.note": FieldDef(type="string", channels=["counter"])}
    step = Step(id="apply", kind="user", actor="customer", title=Label(**{"zh-CN": "申请", "en": "Apply"}),
                channels=["web", "counter", "mobile"], fields=fields)
    made = forms_of(WorkflowDefinition.model_construct(steps={"apply": step}))["apply"]
    assert made == {c: form(step, c) for c in ["web", "counter", "mobile"]}
    assert made["web"]["channel"] == "web" and made["mobile"]["channel"] == "mobile"
    assert "note" in made["counter"]["schema"]["properties"]["x"]["properties"]
    assert "note" not in made["web"]["schema"]["properties"]["x"]["properties"]
