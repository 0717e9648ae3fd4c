"""The definition the decision core reads (Program.plain): the definition and each of its steps as
plain objects holding the very values of the pydantic models, field for field."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import ir
from productkit.runtime._protocol import Program, plain_copy
from productkit.runtime._submit import check_submission, fields_on

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


_VALUES = st.one_of(st.none(), st.text(max_size=12), st.integers(-10**6, 10**9), st.booleans(),
                    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True),
                    st.sampled_from(["5000.00", "5000.00 CNY", " 12 ", "6", "car", "1e3", "80000.001"]),
                    st.fixed_dictionaries({"amount": st.sampled_from(["5000", "x"]),
                                           "currency": st.sampled_from(["CNY", "USD"])}))
_PATHS = st.sampled_from(["loan.amount", "loan.term_months", "loan.purpose", "loan.other"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_PATHS, _VALUES, max_size=4))
def test_a_submission_is_checked_alike_against_plain_fields(raw: dict[str, object]) -> None:
    """The engine checks submissions against its plain copies of the step's fields (Engine._form)."""
    defn = loan()
    step = defn.steps["apply"]
    fields = fields_on(step, "mobile")
    plain = {path: plain_copy(fd) for path, fd in fields.items()}
    assert not any(isinstance(fd, ir.FieldDef) for fd in plain.values())

    def check(declared: dict[str, ir.FieldDef]) -> object:
        try:
            return check_submission(step, "mobile", None, None, raw, {}, {}, [], {}, None, declared)
        except Exception as exc:  # the same failure, if any
            return type(exc), str(exc)

    assert check(plain) == check(fields)
