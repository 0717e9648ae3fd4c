"""What the engine works out once instead of at every call, and answers as before: application
ids (``uuid.uuid4().hex``, built without the UUID object), the context lent to its executors
(made again when a part is replaced), and the business date of a start (once per minute)."""

from __future__ import annotations

import datetime as dt
import random
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


def test_the_business_date_is_the_catalogues_around_midnight(make_engine: MakeEngine) -> None:
    engine = make_engine([loan()], loan_recorder().handlers)
    midnight = dt.datetime(2026, 3, 2, 16, 0, tzinfo=dt.UTC)  # midnight in Beijing
    zones = [dt.UTC, CST, dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
    rng = random.Random(7)
    moments = [midnight + dt.timedelta(microseconds=d) for d in (-60_000_001, -1, 0, 1, 59_999_999)]
    moments += [midnight + dt.timedelta(seconds=rng.uniform(-200_000, 200_000)) for _ in range(300)]
    for at in moments + sorted(moments) + moments[::-1]:
        shown = at.astimezone(rng.choice(zones))
        assert engine._today(shown) == engine.catalog.business_date(shown), shown
