"""Product-line policies in pieces: data paths a document uses, dead channel comparisons, and
which version a command means."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from productkit.channel_exprs import dead_channel_comparisons
from productkit.checks.data import data_uses
from productkit.validate import validate
from productkit.versions import ProductRef, VersionWindow, parse_ref, pick_version

PRODUCT = """apiVersion: productkit/v1
kind: Product
id: demo.p
version: 1.0.0
name: {zh-CN: 演示, en: Demo}
channels: [web]
context:
  applicant.age: {type: integer}
steps:
  - id: check
    use: demo.check@^1
    inputs: {subject.id: customer.id}
    outputs: {check.result: screening.result}
    when: applicant.tags.exists(t, t == "vip") || customer.segment == "private"
rules:
  - id: adult
    expr: applicant.age >= 18
    message: {zh-CN: 成年, en: Adults only}
derived:
  older:
    type: boolean
    expr: applicant.age > 60
"""
SCREEN = """apiVersion: productkit/v1
kind: UIComponent
id: ui.demo
version: 1.0.0
title: {zh-CN: 演示, en: Demo}
channels: [web]
fields:
  loan.amount: {type: money, currency: CNY, label: {zh-CN: 金额, en: Amount}}
shows: [annual_rate, credit.approved_limit]
"""


def _uses(tmp_path: Path, text: str, name: str) -> list[tuple[str, str]]:
    folder = tmp_path / ("products" if "Product" in text else "components")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    entry = next(e for e in validate([tmp_path]).catalog.entries if e.file.endswith(name))
    return [(u.path, f"{u.at.line}:{u.at.col}") for u in data_uses(entry)]


def test_a_product_uses_its_context_renames_and_the_names_its_expressions_read(tmp_path: Path) -> None:
    uses = _uses(tmp_path, PRODUCT, "p.yaml")
    assert sorted(uses) == sorted([
        ("applicant.age", "8:3"),                                   # context
        ("customer.id", "12:26"), ("screening.result", "13:29"),    # product side of the renames
        ("applicant.tags", "14:11"), ("customer.segment", "14:51"),  # not the macro's own t
        ("applicant.age", "17:11"), ("applicant.age", "22:11"),
    ])


def test_a_screen_uses_its_fields_and_the_data_it_shows_not_parameters(tmp_path: Path) -> None:
    assert _uses(tmp_path, SCREEN, "s.yaml") == [("loan.amount", "8:3"), ("credit.approved_limit", "9:22")]


@pytest.mark.parametrize(("text", "dead"), [
    ('channel == "web"', []),
    ('channel == "partner"', ["partner"]),
    ('"mini-program" != channel', ["mini-program"]),
    ('channel in ["web", "mini-program", "pc"]', ["mini-program", "pc"]),
    ('applicant.city == "partner"', []),                 # not a comparison of channel
    ('channel ==', []),                                  # does not parse: the expression checks say so
])
def test_dead_channel_comparisons(text: str, dead: list[str]) -> None:
    assert sorted(d.value for d in dead_channel_comparisons(text, ["web", "mobile"])) == sorted(dead)


def test_a_dead_comparison_points_at_its_literal() -> None:
    [dead] = dead_channel_comparisons('amount > 5 && channel == "open-api"', ["web"])
    assert 'amount > 5 && channel == "open-api"'[dead.offset:].startswith('"open-api"')
    assert "does not launch on" in dead.message


def test_parse_ref() -> None:
    assert parse_ref("deposit.time-1y") == ProductRef("deposit.time-1y")
    assert parse_ref("deposit.time-1y@1.1.0") == ProductRef("deposit.time-1y", "1.1.0")
    with pytest.raises(ValueError, match="not a version"):
        parse_ref("deposit.time-1y@latest")


DAY = dt.date(2026, 1, 1)
windows = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400), st.integers(0, 400) | st.none()),
                   max_size=5, unique_by=lambda t: t[0])


@given(windows, st.integers(0, 400))
def test_the_version_picked_for_a_date_is_the_newest_on_sale_that_day(spec: list[tuple[int, int, int | None]],
                                                                     offset: int) -> None:
    known = [VersionWindow(f"1.{minor}.0", DAY + dt.timedelta(days=start),
                           None if length is None else DAY + dt.timedelta(days=start + length))
             for minor, start, length in spec]
    day = DAY + dt.timedelta(days=offset)
    picked = pick_version(ProductRef("p"), known, day)
    on_sale = [w for w in known if w.on_sale(day)]
    if not on_sale:
        assert picked is None
    else:
        assert picked == max(on_sale, key=lambda w: int(w.version.split(".")[1])).version
        assert all(int(w.version.split(".")[1]) <= int(picked.split(".")[1]) for w in on_sale)


def test_a_named_version_must_be_on_sale_on_the_date_given() -> None:
    known = [VersionWindow("1.0.0", DAY, DAY + dt.timedelta(days=9)), VersionWindow("1.10.0", DAY, None)]
    assert pick_version(ProductRef("p", "1.0.0"), known, None) == "1.0.0"
    assert pick_version(ProductRef("p", "1.0.0"), known, DAY + dt.timedelta(days=10)) is None
    assert pick_version(ProductRef("p"), known, None) == "1.10.0"  # semantic order, not text
    assert pick_version(ProductRef("p", "2.0.0"), known, None) is None
