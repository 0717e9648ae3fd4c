"""Parameter-driven screens: one UI component (ui.cd-amount 1.1.0) whose maximum and step are
product parameters gives each product its own bounds, in the definition the forms and the
engine read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from productkit.compile import compile_product
from productkit.ir import FieldDef
from productkit.options import Options
from productkit.runtime import _values
from productkit.validate import validate

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def amounts() -> dict[str, FieldDef]:
    result = validate([REPO], Options())
    assert result.context is not None and not result.failed()
    out = {}
    for key, asm in result.context.assemblies.items():
        if key[1] in ("deposit.large-cd-2026-01", "deposit.large-cd-2026-02"):
            out[key[1]] = compile_product(asm).steps["amount"].fields["deposit.amount"]
    return out


def test_each_product_gets_its_own_bounds(amounts: dict[str, FieldDef]) -> None:
    assert (amounts["deposit.large-cd-2026-01"].max, amounts["deposit.large-cd-2026-01"].step) == \
        ("50000000.00", "10000.00")
    assert (amounts["deposit.large-cd-2026-02"].max, amounts["deposit.large-cd-2026-02"].step) == \
        ("20000000.00", "50000.00")


@pytest.mark.parametrize(("product", "amount", "codes"), [
    ("deposit.large-cd-2026-01", "310000.00", []),
    ("deposit.large-cd-2026-02", "310000.00", ["step"]),
    ("deposit.large-cd-2026-02", "350000.00", []),
    ("deposit.large-cd-2026-01", "30000000.00", []),
    ("deposit.large-cd-2026-02", "30000000.00", ["maximum"]),
])
def test_the_engine_checks_the_product_bounds(amounts: dict[str, FieldDef], product: str, amount: str,
                                              codes: list[str]) -> None:
    fd = amounts[product]
    assert [p.code for p in _values.check(fd, _values.coerce(fd, Decimal(amount)))] == codes
