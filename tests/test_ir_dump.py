"""The definition file (format 4) is compact and leaves out fields equal to their defaults; it
loads to exactly the definition the full, pretty-printed form (format 3's way of writing) loads
to, and its digest does not depend on how it is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productkit import ir

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ir"
DEFINITIONS = [ir.load(p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*.json"))]


def _full(defn: ir.WorkflowDefinition) -> dict[str, Any]:
    """Every field written out, as format 3 wrote the file."""
    return defn.model_dump(mode="json", by_alias=True, exclude_none=False)


def _pretty(defn: ir.WorkflowDefinition) -> str:
    return ir.pretty_json(_full(defn))


def _within(written: Any, full: Any) -> bool:
    """``written`` is ``full`` with some object members left out, at any depth."""
    if isinstance(written, dict):
        return isinstance(full, dict) and all(k in full and _within(v, full[k]) for k, v in written.items())
    if isinstance(written, list):
        return isinstance(full, list) and len(written) == len(full) and all(map(_within, written, full))
    return bool(written == full)


_labels = st.builds(lambda t: ir.Label(**{"zh-CN": t, "en": t}), st.text(max_size=6))
_retries = st.none() | st.builds(ir.Retry, max_attempts=st.integers(1, 4),
                                 backoff=st.none() | st.just("PT1S"),
                                 multiplier=st.sampled_from(["2", "1.5"]))


@st.composite
def _variants(draw: st.DrawFn) -> ir.WorkflowDefinition:
    """A fixture definition with its defaulted fields set to defaults or to other values."""
    defn = draw(st.sampled_from(DEFINITIONS))
    steps = {}
    for sid, step in defn.steps.items():
        steps[sid] = step.model_copy(update={
            "critical": draw(st.booleans()), "interruptible": draw(st.booleans()),
            "retry": draw(_retries), "timeout": draw(st.none() | st.just("PT30S")),
            "candidate_groups": draw(st.lists(st.sampled_from(["ops", "risk"]), max_size=2)),
            "message": draw(st.none() | _labels),
            "fields": {p: f.model_copy(update={"required": draw(st.booleans()),
                                               "readonly": draw(st.booleans()),
                                               "default": draw(st.none() | st.integers(0, 3) | st.text(max_size=3))})
                       for p, f in step.fields.items()}})
    return defn.model_copy(update={
        "steps": steps,
        "description": draw(st.none() | st.text(max_size=8)),
        "utc_offset": draw(st.sampled_from(["+08:00", "+00:00", "-05:30"])),
        "compensate_on": draw(st.sampled_from([list(ir.COMPENSATING_OUTCOMES), [], ["failed"]])),
        "finally_steps": draw(st.sampled_from([[], list(defn.steps)[:1]])),
        "source": draw(st.sampled_from(["", "products/p.yaml"])),
        "lines": draw(st.lists(st.sampled_from(["line.a@1.0.0", "line.b@2.0.0"]), max_size=2)),
    })


@settings(max_examples=150, deadline=None)
@given(_variants())
def test_the_compact_file_loads_to_what_the_pretty_full_one_loads_to(defn: ir.WorkflowDefinition) -> None:
    text = ir.dump(defn)
    assert ir.load(text) == defn == ir.load(_pretty(defn))
    assert "\n" not in text[:-1] and text.endswith("\n")
    written = orjson.loads(text)
    assert written["format"] == ir.FORMAT
    # What was left out is exactly what equals its default; what stays is as the full form says.
    assert _within(written, _full(defn))
    assert text == json.dumps(written, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


@settings(max_examples=60, deadline=None)
@given(_variants())
def test_the_digest_is_that_of_the_full_form_whichever_way_the_file_is_written(
        defn: ir.WorkflowDefinition) -> None:
    sealed = ir.with_digest(defn)
    assert ir.with_digest(ir.load(ir.dump(sealed))).digest == sealed.digest
    assert ir.with_digest(ir.load(_pretty(sealed))).digest == sealed.digest
    assert ir.load(ir.dump(sealed)).digest == sealed.digest


@pytest.mark.parametrize("defn", DEFINITIONS, ids=lambda d: d.id)
def test_the_file_is_smaller_and_leaves_defaults_out(defn: ir.WorkflowDefinition) -> None:
    text = ir.dump(defn)
    assert len(text) * 2 < len(_pretty(defn))
    written = orjson.loads(text)
    assert defn.utc_offset == "+08:00" and "utc_offset" not in written
    assert ("digest" in written) == bool(defn.digest)
    for step in written["steps"].values():
        assert "critical" not in step or step["critical"] is False
        assert not any(v is None for v in step.values())


def test_the_format_is_written_even_though_it_is_the_default() -> None:
    """An older runtime reads ``format`` first and says to rebuild; without it, it would not."""
    written = orjson.loads(ir.dump(DEFINITIONS[0]))
    assert written["format"] == ir.FORMAT == "productkit.workflow/4"
    old = {**_full(DEFINITIONS[0]), "format": "productkit.workflow/3"}
    with pytest.raises(ValueError):
        ir.load(json.dumps(old))


@settings(max_examples=60, deadline=None)
@given(_variants())
def test_readers_of_the_data_get_every_field_back(defn: ir.WorkflowDefinition) -> None:
    """What explain and the docs site read: the file's data with the left-out fields restored."""
    restored = ir.expanded(orjson.loads(ir.dump(defn)))
    assert restored == ir.full_json(defn) == _full(defn)
    assert all("fields" in s and "critical" in s for s in restored["steps"].values())
