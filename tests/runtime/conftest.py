"""Fixtures of the runtime tests: a fake clock and an engine over a freshly written build."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from productkit import ir
from productkit.runtime import Catalog, Engine, Handlers, MemoryStore, Store

from .buildfixture import write_build

CST = dt.timezone(dt.timedelta(hours=8))


class FakeClock:
    """Time that moves only when told to; ``sleep`` advances it and remembers for how long."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)

    def advance(self, **kw: float) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeBuild = Callable[..., Path]
MakeEngine = Callable[..., Engine]


@pytest.fixture
def make_build(tmp_path: Path) -> MakeBuild:
    counter = itertools.count(1)

    def make(defs: Sequence[ir.WorkflowDefinition], **kw: Any) -> Path:
        return write_build(tmp_path / f"build{next(counter)}", defs, **kw)

    return make


@pytest.fixture
def make_engine(make_build: MakeBuild, clock: FakeClock) -> MakeEngine:
    def make(defs: Sequence[ir.WorkflowDefinition], handlers: Handlers, store: Store | None = None,
             **kw: Any) -> Engine:
        catalog = Catalog.load(make_build(defs, **kw))
        return Engine(catalog, handlers=handlers, store=store or MemoryStore(), clock=clock,
                      sleep=clock.sleep)

    return make
