"""The README documents every diagnostic code, and the runtime's codes are in the one table."""

from __future__ import annotations

import re
from pathlib import Path

from productkit.diagnostics import CODES
from productkit.runtime.errors import CATALOG_CODES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_code_is_in_the_readme_table() -> None:
    listed = set(re.findall(r"^\| (PK\d{3}) \|", README, flags=re.M))
    assert listed == set(CODES)


def test_each_code_has_one_meaning() -> None:
    from productkit.diagnostics import _TABLE

    codes = [code for code, _ in _TABLE]
    assert sorted({c for c in codes if codes.count(c) > 1}) == []


def test_runtime_codes_are_registered() -> None:
    assert set(CATALOG_CODES) <= set(CODES)
    assert all(CODES[c].stage == "runtime" for c in CATALOG_CODES)
