"""A document with shape errors still defines what could be read: id, kind, interface."""

from __future__ import annotations

from productkit.loader import load_text
from productkit.model import ProcessComponent, Product
from productkit.shape import to_model

COMPONENT = """\
apiVersion: productkit/v1
kind: ProcessComponent
id: notify.push
version: 1.0.0
title: {zh-CN: 推送通知, eng: Push}
retyr: {max_attempts: 3}
timeout: soon
handler: notify.push.send
inputs:
  customer.id: {type: string}
  customer.mobile: {type: strng}
outputs:
  notify.push_id: {type: string}
"""


def _model(text: str) -> tuple[object, list[tuple[str, int, int]]]:
    doc, problems = load_text(text, "x.yaml")
    assert doc is not None and not problems
    model, found = to_model(doc)
    return model, [(d.code, d.location.line, d.location.col) for d in found]


def test_a_component_with_shape_errors_keeps_its_interface() -> None:
    model, found = _model(COMPONENT)
    assert isinstance(model, ProcessComponent)
    assert (model.id, model.version, model.handler) == ("notify.push", "1.0.0", "notify.push.send")
    assert list(model.inputs) == ["customer.id"]  # the input with a bad type is left out
    assert list(model.outputs) == ["notify.push_id"]
    assert model.title.en == "推送通知"  # filled from the other language, never shown: the run fails
    assert model.retry is None and model.timeout is None
    assert sorted(found) == [("PK103", 5, 22), ("PK103", 6, 1), ("PK108", 7, 10), ("PK108", 11, 27)]  # no PK110


def test_a_product_step_with_an_error_is_left_out_and_the_rest_kept() -> None:
    model, found = _model("apiVersion: productkit/v1\nkind: Product\nid: a.b\nversion: 1.0.0\n"
                          "name: {zh-CN: 甲, en: A}\nsteps:\n  - {id: one, use: x.y@^1}\n"
                          "  - {id: two, use: x.z@^1, end: completed}\n  - {id: three, end: completed}\n")
    assert isinstance(model, Product)
    assert [s.id for s in model.steps] == ["one", "three"]
    assert [c for c, _, _ in found] == ["PK109"]


def test_a_document_whose_required_header_is_wrong_defines_nothing() -> None:
    model, found = _model("apiVersion: productkit/v1\nkind: Product\nid: Bad Id\nversion: 1.0.0\n"
                          "name: {zh-CN: 甲, en: A}\n")
    assert model is None and [c for c, _, _ in found] == ["PK106"]
