"""What a check or a build made is freed when it returns, not left for the collector.

A reference cycle anywhere above a catalogue's checked products (the context that assembles them
and the assemblies that call back into it) keeps every object of the run alive until a full
collection walks them: about a million objects and a second at the benchmark's scale, paid by
the next collection in a channel service or at the exit of a script that built.
"""

from __future__ import annotations

import gc
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from productkit.build import build
from productkit.options import Options
from productkit.validate import validate

CASES = Path(__file__).resolve().parent / "cases" / "valid"


@pytest.fixture
def cyclic_garbage() -> Iterator[Callable[[], list[str]]]:
    """Call it after the operation: the productkit objects that only a collection would free."""
    gc.collect()
    flags = gc.get_debug()

    def found() -> list[str]:
        gc.set_debug(flags | gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            kinds = {f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage}
        finally:
            gc.set_debug(flags)
            gc.garbage.clear()
        return sorted(k for k in kinds if k.startswith("productkit."))

    yield found


def test_validate_leaves_no_cycle(cyclic_garbage: Callable[[], list[str]]) -> None:
    report = validate([CASES / "deposit_line"], Options(cache=None))
    assert not [d for d in report.diagnostics if d.severity.value == "error"]
    del report
    assert cyclic_garbage() == []


def test_build_leaves_no_cycle(tmp_path: Path, cyclic_garbage: Callable[[], list[str]]) -> None:
    root = tmp_path / "cat"
    shutil.copytree(CASES / "deposit_line", root)
    result = build([root], out=tmp_path / "out", options=Options(cache=tmp_path / "cache"))
    assert result.out is not None and result.compiled
    del result
    assert cyclic_garbage() == []


def test_assemblies_kept_alone_still_make_products(tmp_path: Path) -> None:
    """A caller may keep only a validation's assemblies: the products whose checks came from the
    cache (none assembled yet) are still made on first use once the result is dropped."""
    root = tmp_path / "cat"
    shutil.copytree(CASES / "deposit_line", root)
    options = Options(cache=tmp_path / "cache")
    validate([root], options)
    result = validate([root], options)  # every check answered from the cache
    assert result.context is not None
    assemblies = result.context.assemblies
    del result
    gc.collect()
    made = dict(assemblies.items())
    assert made and all(asm.product.entry.key == key for key, asm in made.items())
