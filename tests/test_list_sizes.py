"""A data field's list size bounds (``min_items``/``max_items``) reach the form schema and the
engine's payload check; they are not documentary."""

from __future__ import annotations

import pytest

from productkit.compile import field_def
from productkit.model.common import TypeSpec
from productkit.runtime import _values
from productkit.types import of

DECL = TypeSpec.model_validate({"type": "list", "items": {"type": "string"}, "min_items": 1, "max_items": 2})


def test_list_size_bounds_are_in_the_form_schema() -> None:
    fd = field_def(DECL)
    schema = of("list").json_schema(fd)
    assert (schema["minItems"], schema["maxItems"]) == (1, 2)


@pytest.mark.parametrize(("value", "codes"), [([], ["length"]), (["a"], []), (["a", "b"], []),
                                              (["a", "b", "c"], ["length"])])
def test_the_engine_refuses_a_list_outside_its_size_bounds(value: list[str], codes: list[str]) -> None:
    fd = field_def(DECL)
    assert [p.code for p in _values.check(fd, _values.coerce(fd, value))] == codes
