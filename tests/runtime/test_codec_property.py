"""The store codec writes through orjson: whatever the engine stores reads back exactly as the
standard library's encoder (the codec before) wrote it, and the text is the same wherever
numbers are spelled alike."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from productkit.runtime import _codec
from productkit.runtime.status import Status, StepStatus


def _reference(value: object) -> str:
    """The codec as it was: the standard library's encoder with the same tags."""
    return json.dumps(value, default=_codec._default, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


_zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))])
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalars = st.one_of(
    st.none(), st.booleans(), _text,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(), st.datetimes(timezones=_zones),
    st.sampled_from([*Status, *StepStatus]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(_text, inner, max_size=4)),
    max_leaves=20)
_no_floats = st.recursive(
    st.one_of(st.none(), st.booleans(), _text, st.integers(min_value=-(2**80), max_value=2**80),
              st.decimals(allow_nan=False, allow_infinity=False, places=2), st.dates(),
              st.datetimes(timezones=_zones)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_text, _values, max_size=6))
def test_what_the_codec_writes_reads_back_as_the_old_codec_wrote_it(value: dict[str, Any]) -> None:
    text = _codec.encode(value)
    assert _codec.decode(text) == _codec.decode(_reference(value))
    assert _codec.encode(_codec.decode(text)) == text  # a stable round trip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_text, _no_floats, max_size=6))
def test_without_floats_the_text_is_the_old_codecs(value: dict[str, Any]) -> None:
    assert _codec.encode(value) == _reference(value)


def test_what_orjson_cannot_write_is_written_as_before() -> None:
    for value in ({"big": 2**200}, {"keys": {1: "a", 2: "b"}}, {"nested": [{"n": -(2**70)}]}):
        assert _codec.encode(value) == _reference(value)
        assert _codec.decode(_codec.encode(value)) == _codec.decode(_reference(value))


def test_values_that_are_no_data_are_refused_as_before() -> None:
    for bad in (object(), {"x": {1, 2}.__iter__()}, {"x": dt.time(9, 0)}):
        for encode in (_codec.encode, _reference):
            try:
                encode(bad)
            except TypeError as exc:
                assert "cannot store" in str(exc)
            else:
                raise AssertionError(f"{bad!r} was written")
    assert _codec.decode(_codec.encode({"d": Decimal("0.10")}))["d"].as_tuple() == Decimal("0.10").as_tuple()


def test_a_row_holds_every_field_of_the_state_but_the_revision() -> None:
    from productkit.runtime._state import _FIELDS, AppState

    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    state = AppState("A", "p", "1.0.0", "sha256:x", "web", Status.RUNNING, at, at, revision=3)
    body = _codec.decode(state.to_row().state)
    assert sorted(body) == sorted(f for f in _FIELDS if f not in ("revision", "calls"))
    state.calls["kyc"] = {"attempts": [], "deadline": None, "due": None}
    assert sorted(_codec.decode(state.to_row().state)) == sorted(f for f in _FIELDS if f != "revision")
    back = AppState.from_row(state.to_row())
    assert back == state and back.revision == 3


_offsets = st.integers(min_value=-86_399, max_value=86_399).map(lambda s: dt.timezone(dt.timedelta(seconds=s)))
_minute_offsets = st.integers(min_value=-1439, max_value=1439).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.datetimes(), st.datetimes(timezones=st.sampled_from([dt.UTC])),
                 st.datetimes(timezones=_minute_offsets), st.datetimes(timezones=_offsets),
                 st.datetimes(timezones=st.timezones())))
def test_a_time_is_written_as_isoformat_writes_it(moment: dt.datetime) -> None:
    """orjson writes the times it writes as isoformat does (others, such as offsets with seconds,
    which orjson rounds, go through isoformat), as tags and inside values alike."""
    assert _codec._datetime_text(moment) == moment.isoformat()
    assert _codec.tagged(moment) == {"$datetime": moment.isoformat()}
    assert _codec.encode({"t": moment}) == _reference({"t": moment})
