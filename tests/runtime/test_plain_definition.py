"""The definition the decision core reads (Program.plain): the definition and each of its steps as
plain objects holding the very values of the pydantic models, field for field."""

from __future__ import annotations

from productkit import ir
from productkit.runtime._protocol import Program, plain_copy

from .products import loan


def _same_fields(plain: object, model: ir.Step | ir.WorkflowDefinition | ir.FieldDef | ir.Condition, *,
                 but: tuple[str, ...] = ()) -> None:
    names = type(model).model_fields
    assert set(type(plain).__slots__) == set(names)  # type: ignore[attr-defined]
    for name in names:
        if name not in but:
            assert getattr(plain, name) is getattr(model, name), name


def test_the_plain_definition_holds_the_models_values() -> None:
    defn = loan()
    plain = Program.of(defn).plain()
    _same_fields(plain, defn, but=("steps", "data"))
    assert list(plain.steps) == list(defn.steps) and list(plain.data) == list(defn.data)
    conditions = 0
    for sid, step in defn.steps.items():
        assert not isinstance(plain.steps[sid], ir.Step)
        _same_fields(plain.steps[sid], step, but=("when",))
        if step.when is None:
            assert plain.steps[sid].when is None
        else:
            conditions += 1
            assert not isinstance(plain.steps[sid].when, ir.Condition)
            _same_fields(plain.steps[sid].when, step.when)
    assert conditions  # the product has conditional steps
    for path, fd in defn.data.items():
        assert not isinstance(plain.data[path], ir.FieldDef)
        _same_fields(plain.data[path], fd)


def test_it_is_made_once_per_program() -> None:
    program = Program.of(loan())
    assert program.plain() is program.plain()


def test_a_field_given_replaces_the_models() -> None:
    step = next(iter(loan().steps.values()))
    copied = plain_copy(step, id="other")
    assert copied.id == "other" and copied.kind is step.kind
