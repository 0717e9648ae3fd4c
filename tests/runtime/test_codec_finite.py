"""The store codec refuses NaN and the infinities wherever they are (JSON cannot spell them;
written as null they would read back as a different value), and still writes None as null."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit.runtime import _codec

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_finite = st.one_of(st.none(), st.booleans(), _text, st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.decimals(allow_nan=False, allow_infinity=False, places=3))
_bad = st.one_of(st.sampled_from([float("nan"), float("inf"), float("-inf"), -float("nan")]),
                 st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")]))


def _nest(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``leaf`` somewhere inside lists, tuples and dicts of finite values."""
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.lists(_finite, max_size=3), inner).map(lambda p: [*p[0], p[1]]),
        st.tuples(_finite, inner),
        st.tuples(st.dictionaries(_text, _finite, max_size=3), _text, inner).map(lambda p: {**p[0], p[1]: p[2]}),
    ), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(_nest(_bad))
def test_a_non_finite_number_anywhere_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"finite|JSON compliant"):
        _codec.encode(value)


@settings(max_examples=200, deadline=None)
@given(_nest(st.none()))
def test_none_is_still_written_as_null(value: object) -> None:
    assert _codec.decode(_codec.encode(value)) == _codec.decode(_codec._json_encode(value))


@pytest.mark.parametrize("value", [{"a": float("nan")}, {"a": [1, {"b": float("inf")}]},
                                   {"a": Decimal("NaN")}, {1: float("-inf")}, {"a": (1.0, float("nan"))}])
def test_these_are_refused_not_written_as_null(value: object) -> None:
    with pytest.raises(ValueError, match=r"finite|JSON compliant"):
        _codec.encode(value)


@settings(max_examples=200, deadline=None)
@given(_nest(_finite), st.integers(min_value=0, max_value=3))
def test_counted_nulls_never_let_a_nan_through(value: object, extra: int) -> None:
    """``nulls`` only spares the search when every null is a None counted: a NaN beside Nones
    (counted exactly, or under-counted) is still refused."""
    nones = _codec.encode(value).count("null")
    poisoned = {"v": value, "n": float("nan"), "k": [None] * extra}
    with pytest.raises(ValueError, match=r"finite|JSON compliant"):
        _codec.encode(poisoned, None, nones + extra)
    assert _codec.encode({"v": value, "k": [None] * extra}, None, nones + extra).count("null") >= extra


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_text, st.one_of(st.none(), _finite), max_size=6), st.booleans())
def test_nones_counted_only_when_needed_never_let_a_nan_through(values: dict[str, object], nan: bool) -> None:
    """The Nones of ``nones`` mappings are counted once the text has more nulls than ``nulls``:
    exactly, so a NaN beside them is refused, and the text is what the plain encoding writes."""
    value = {"m": values, "n": float("nan") if nan else None, "x": [values, None]}
    if nan:
        with pytest.raises(ValueError, match=r"finite|JSON compliant"):
            _codec.encode(value, None, 1, (values, values))
    else:
        assert _codec.encode(value, None, 2, (values, values)) == _codec.encode(value)


def test_a_state_row_refuses_a_nan_beside_nones_in_its_data() -> None:
    import datetime as dt

    from productkit.runtime._state import AppState
    from productkit.runtime.status import Outcome, Status

    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    state = AppState("A", "p", "1.0.0", "sha256:x", "web", Status.ENDED, at, at, outcome=Outcome.COMPLETED,
                     data={"a": None, "b": None, "c": 1.5})
    assert _codec.decode(state.to_row().state)["data"] == {"a": None, "b": None, "c": 1.5}
    state.undo["s"] = {"x": float("nan")}
    with pytest.raises(ValueError, match="finite"):
        state.to_row()
