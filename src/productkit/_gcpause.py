"""Cyclic garbage collection held off while one unit of work builds many lasting objects.

Loading a file or checking a product allocates tens of thousands of objects that mostly live
on (the document, its marks, the model). With the collector running, every few hundred
allocations trigger a collection, and the oldest generation, which holds the whole catalogue
loaded so far, is traversed again and again: a third of a cold validation's CPU time. Held off
for the unit and switched back on after it, the collector runs once per unit instead; garbage
cycles are still collected, a unit later at the latest.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_frozen", "gc_paused", "hold_collection", "promote", "resume"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collection off for the block; back on after it only if it was on before (a caller that
    switched it off keeps it off)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@contextmanager
def gc_frozen() -> Iterator[None]:
    """Every object that exists now left out of collections during the block (they are what
    the block reads: the loaded catalogue), and given back to the collector after it. Forked
    workers inherit the frozen state, and so do not touch, and copy, the pages of those objects."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def promote() -> None:
    """Hand every tracked object to the oldest generation at once. Objects made while collection
    was off all sit in the youngest generation, so the first collection after the pause would
    walk every one of them (0.4 s after a cold build); the oldest is walked only when it has
    grown by a quarter. Not for use inside :func:`gc_frozen`, which it would end early."""
    gc.freeze()
    gc.unfreeze()


def hold_collection() -> None:
    """Cyclic collection off while the command line starts: what it imports (modules, classes)
    lives until the process ends, and each collection would only walk it again (89 collections
    of a one-product build happened before its command began). The command turns it back on as
    it starts (:func:`resume`, from :func:`productkit.cli.started`): a build's units of work hold
    it off themselves, and collect between them."""
    gc.disable()


def resume() -> None:
    """Collection back on when the process held it off from its start (see
    :func:`productkit.console.main`), with everything made so far handed to the oldest
    generation (:func:`promote`): the modules and objects of start-up live until the end."""
    if not gc.isenabled():
        promote()
        gc.enable()
