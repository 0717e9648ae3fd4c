"""Application ids the engine draws (``uuid.uuid4().hex`` as it was, built without the UUID
object), and the context the engine lends its executors, made again when a part is replaced."""

from __future__ import annotations

import datetime as dt
import uuid

from productkit.runtime.engine import _new_id

from .conftest import CST, FakeClock, MakeEngine
from .products import START, loan, loan_recorder


def test_ids_are_version_4_uuids_in_hex() -> None:
    ids = [_new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text and len(text) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every one of the 122 random bits is set in some id and clear in another
    ones = 0
    zeros = 0
    for text in ids:
        bits = int(text, 16)
        ones |= bits
        zeros |= ~bits & ((1 << 128) - 1)
    fixed = (0xF000 << 64) | (0xC000 << 48)
    assert ones | fixed == (1 << 128) - 1 and zeros | fixed == (1 << 128) - 1


def test_a_replaced_clock_is_used_from_the_next_call(make_engine: MakeEngine, clock: FakeClock) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    first = engine.start("loan.personal", "web", START)
    later = FakeClock(dt.datetime(2026, 5, 1, 9, 0, tzinfo=CST))
    engine.clock = later
    second = engine.start("loan.personal", "web", START)
    assert first.created == clock.now and second.created == later.now
    assert len(first.id) == 32 and first.id != second.id
    # the handler calls (timed by the executor's clock) read the clock of their time
    for app, now in ((first, clock.now), (second, later.now)):
        attempts = [a for r in engine.steps(app.id) for a in r.attempts]
        assert attempts and {a.started for a in attempts} == {now}
