"""Build files are written by orjson; the bytes must be what the standard library would write
(pretty for files people read, compact for what machines read, both parsing to the same value)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from productkit.ir import canonical_bytes, canonical_json, compact_json, pretty_json

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_pretty_json_is_byte_identical_to_the_standard_library(data: Any) -> None:
    assert pretty_json(data) == json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def test_values_orjson_refuses_still_come_out() -> None:
    big = {"n": 2**70, "s": "雨"}
    assert pretty_json(big) == json.dumps(big, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


@settings(max_examples=300, deadline=None)
@given(_json)
def test_canonical_json_is_byte_identical_to_the_standard_library(data: Any) -> None:
    # definition digests are taken of these bytes: they must not depend on the encoder
    assert canonical_json(data) == json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    big = {"n": 2**70, "s": data}
    assert canonical_json(big) == json.dumps(big, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for value in (data, big):  # the bytes digests are taken of are that text's UTF-8
        assert canonical_bytes(value) == json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                    separators=(",", ":")).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(_json)
def test_compact_json_is_the_standard_librarys_compact_form_and_parses_as_the_pretty_one(data: Any) -> None:
    compact = compact_json(data)
    assert compact == json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    assert json.loads(compact) == json.loads(pretty_json(data)) == data


def test_values_orjson_refuses_still_come_out_compact() -> None:
    big = {"n": 2**70, "s": "雨"}
    assert compact_json(big) == '{"n":1180591620717411303424,"s":"雨"}\n'
