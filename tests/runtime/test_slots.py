"""The hand-written ``__init__`` of the records, events, commands, calls and views the engine
builds per step (see productkit.runtime._slots): each takes the dataclass's fields in their
order with their defaults, sets every one of them, and the class stays frozen."""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any

import pytest

from productkit.runtime import _protocol, _slots, handlers, views
from productkit.runtime.status import RecordKind, StepStatus

HAND_WRITTEN = [views.Attempt, views.StepRecord, views.AuditEvent, views.Application, views.Screen,
                _protocol.Submitted, _protocol.HandlerAnswered, _protocol.RecordStep,
                _protocol.RecordAudit, _protocol.Save, _protocol.CallHandler, _protocol.Decision,
                handlers.StepCall]


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_the_signature_is_the_fields_in_order_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    for p, f in zip(params, fields, strict=True):
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        assert (p.default is not inspect.Parameter.empty) == has_default, f.name
        if f.default is not dataclasses.MISSING:
            assert p.default == f.default, f.name


def _sentinels(cls: type) -> dict[str, Any]:
    return {f.name: object() for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_every_field_is_set_by_position_and_by_name(cls: type) -> None:
    values = _sentinels(cls)
    for made in (cls(*values.values()), cls(**values)):
        assert {name: getattr(made, name) for name in values} == values
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, next(iter(values)), None)


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_defaults_are_those_of_the_dataclass(cls: type) -> None:
    fields = dataclasses.fields(cls)
    required = {f.name: object() for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    first, second = cls(**required), cls(**required)
    for f in fields:
        if f.default is not dataclasses.MISSING:
            assert getattr(first, f.name) == f.default, f.name
        elif f.default_factory is not dataclasses.MISSING:
            made = getattr(first, f.name)
            assert made == f.default_factory() and type(made) is type(f.default_factory()), f.name
            assert made is not getattr(second, f.name), f.name  # a new one each time, as before


def test_replace_and_equality_still_work() -> None:
    record = views.StepRecord("s", RecordKind.STEP, StepStatus.DONE, None)  # type: ignore[arg-type]
    changed = dataclasses.replace(record, detail="why")
    assert changed.detail == "why" and changed.step_id == "s" and changed != record
    assert dataclasses.replace(changed, detail=None) == record


# The builders of the objects made on every step (see productkit.runtime._slots): each fills in
# an instance through its class's filler. Each must make exactly what the class makes.
BUILDERS = [(views.Screen, views.build_screen), (_protocol.Submitted, _protocol.build_submitted),
            (views.Application, views.build_application), (views.Attempt, views.build_attempt),
            (views.StepRecord, views.build_step_record), (views.AuditEvent, views.build_audit_event),
            (_protocol.HandlerAnswered, _protocol.build_handler_answered),
            (_protocol.RecordStep, _protocol.build_record_step),
            (_protocol.RecordAudit, _protocol.build_record_audit), (_protocol.Save, _protocol.build_save),
            (_protocol.CallHandler, _protocol.build_call_handler),
            (_protocol.Decision, _protocol.build_decision), (handlers.StepCall, handlers.build_step_call)]


@pytest.mark.parametrize(("cls", "build"), BUILDERS, ids=lambda c: getattr(c, "__name__", ""))
def test_a_builder_makes_what_its_class_makes(cls: type, build: Any) -> None:
    values = _sentinels(cls)
    params = list(inspect.signature(build).parameters)
    assert params == list(values)  # every field, in order, none left to a default
    built, made = build(*values.values()), cls(*values.values())
    assert type(built) is cls
    assert built == made and hash(built) == hash(made) and repr(built) == repr(made)
    assert {name: getattr(built, name) for name in values} == values  # each field in its own slot
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, next(iter(values)), None)
    assert dataclasses.replace(built) == made and copy.copy(built) == made


def test_a_filler_refuses_a_class_of_another_layout() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        x: int

    with pytest.raises(TypeError):
        _slots.filler(Unslotted)
