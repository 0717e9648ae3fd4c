"""Every form of the repo catalogue renders in headless Chromium with JSON Forms (React, vanilla
renderers, its own ajv) and react-jsonschema-form (@rjsf/validator-ajv8), in zh-CN and en, with
no console error; each field shows its label in the language asked for, and an empty form shows
its fields' own messages in that language. The schemas also compile under a strict draft-07 ajv."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from forms_support import ROOT, built_forms, chromium, node
from productkit.forms import MESSAGES

LANGS = ("zh-CN", "en")


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return built_forms(tmp_path_factory.mktemp("render") / "build")


@pytest.fixture(scope="module")
def rendered(forms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = node("render.js", {"forms": {**forms, **_mistyped(forms)}, "chromium": chromium()})
    return result


def _mistyped(forms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each form with a loan amount, filled with one the pattern refuses (below the minimum)."""
    out = {}
    for name, form in forms.items():
        if "loan.amount.error.pattern" in form["i18n"]["en"]:
            out["mistyped:" + name] = {**form, "data": {"loan": {"amount": "999.99"}}}
    return out


def test_a_refused_amount_says_why_in_both_languages(forms: dict[str, Any], rendered: dict[str, Any]) -> None:
    names = list(_mistyped(forms))
    silent = [f"{name} {renderer} {lang}" for name in names for renderer in ("jsonforms", "rjsf") for lang in LANGS
              if forms[name.removeprefix("mistyped:")]["i18n"][lang]["loan.amount.error.pattern"]
              not in rendered["text"][name][renderer][lang]]
    assert names and silent == []


def _labels(form: dict[str, Any], lang: str) -> list[str]:
    texts = form["i18n"][lang]
    return [texts[c["i18n"] + ".label"] for c in form["uischema"]["elements"] if c["i18n"] + ".label" in texts]


def test_every_form_renders_in_both_renderers_without_console_errors(
        forms: dict[str, Any], rendered: dict[str, Any]) -> None:
    assert rendered["console"] == []
    assert set(forms) <= set(rendered["text"]) and len(forms) > 150


def test_every_field_shows_its_label_in_both_languages(forms: dict[str, Any], rendered: dict[str, Any]) -> None:
    missing = [f"{name} {renderer} {lang}: {label}"
               for name, form in forms.items() for renderer in ("jsonforms", "rjsf") for lang in LANGS
               for label in _labels(form, lang) if label not in rendered["text"][name][renderer][lang]]
    checked = sum(len(_labels(form, lang)) for form in forms.values() for lang in LANGS) * 2
    print(f"{len(forms)} forms, {checked} field labels checked")
    assert checked > 600 and missing == []


def test_an_empty_form_shows_required_messages_in_its_language(
        forms: dict[str, Any], rendered: dict[str, Any]) -> None:
    wanting = [name for name, form in forms.items() if _needs_input(form)]
    silent = [f"{name} {renderer} {lang}" for name in wanting for renderer in ("jsonforms", "rjsf")
              for lang in LANGS if MESSAGES[lang]["required"] not in rendered["text"][name][renderer][lang]]
    assert len(wanting) > 50 and silent == []


def _needs_input(form: dict[str, Any]) -> bool:
    """Whether a required text field without a default is on the form (it must say so)."""
    def walk(node: dict[str, Any]) -> bool:
        props = node.get("properties", {})
        return any(
            (props[k].get("type") == "string" and "oneOf" not in props[k] and "default" not in props[k]
             and not props[k].get("readOnly")) or (props[k].get("type") == "object" and walk(props[k]))
            for k in node.get("required", []) if k in props)
    return walk(form["schema"])


def test_schemas_compile_under_strict_draft_07_ajv(forms: dict[str, Any]) -> None:
    names = sorted(forms)
    errors = node("validate.js", {"cases": [], "schemas": [forms[n]["schema"] for n in names]})["strict"]
    assert [(n, e) for n, e in zip(names, errors, strict=True) if e] == []


def test_form_texts_exist_in_both_languages(forms: dict[str, Any]) -> None:
    for name, form in forms.items():
        assert set(form["i18n"]["zh-CN"]) == set(form["i18n"]["en"]), name
        assert form["i18n"]["zh-CN"][form["step"] + ".label"], name


def test_fields_keep_their_declared_order(forms: dict[str, Any]) -> None:
    declared = yaml.safe_load((ROOT / "components" / "ui" / "credit" / "loan-request.yaml").read_text("utf-8"))
    order = list(declared["fields"])
    found = [form for form in forms.values()
             if {c["i18n"] for c in form["uischema"]["elements"]} == set(order)]
    assert found
    for form in found:
        assert [c["i18n"] for c in form["uischema"]["elements"]] == order
        for lang in LANGS:
            assert form["rjsf"][lang]["loan"]["ui:order"] == [p.split(".")[1] for p in order]


def _declared(form: dict[str, Any], widget: str) -> int:
    """How many fields of the form ask for ``widget`` (read from the RJSF UI schema)."""
    def walk(node: dict[str, Any]) -> int:
        own = 1 if node.get("ui:widget") == widget else 0
        return own + sum(walk(v) for k, v in node.items() if isinstance(v, dict) and not k.startswith("ui:"))
    return walk(form["rjsf"]["en"])


@pytest.mark.parametrize(("widget", "element"), [("radio", "radio"), ("textarea", "textarea"),
                                                 ("checkbox", "checkbox")])
def test_widgets_render_as_declared_in_both_renderers(forms: dict[str, Any], rendered: dict[str, Any],
                                                      widget: str, element: str) -> None:
    wanting = [name for name, form in forms.items() if _declared(form, widget)]
    wrong = [f"{name} {renderer}" for name in wanting for renderer in ("jsonforms", "rjsf")
             if rendered["widgets"][name][renderer][element] < _declared(forms[name], widget)]
    assert wanting and wrong == []
