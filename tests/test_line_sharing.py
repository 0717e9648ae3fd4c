"""Work shared between the products of a line (the parts of their definitions made once, the
line's parameters resolved once) changes no output: a build of a line whose members override
different things writes, byte for byte, what a build that shares nothing writes; and no product
changes what it was given to share (its line's other products would inherit the change)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from productkit import compile as compile_mod
from productkit import ir
from productkit.build import build
from productkit.checks import CheckContext
from productkit.compile import Shared, compile_product
from productkit.options import Options
from productkit.sources import load_catalog
from productkit.validate import validate

RELEASE = dt.date(2026, 9, 30)
HEAD = """apiVersion: productkit/v1
kind: Product
id: deposit.time-{name}
version: 1.0.0
owner: retail-deposits
name: {{zh-CN: 定期{name}, en: Time deposit {name}}}
extends: {line}@^1
"""
# Members of deposit.time, each overriding something else of the line (or nothing).
MEMBERS = {
    "as-is-a": "parameters:\n  term_months: {value: 6, locked: true}\n  annual_rate: 1.10\n",
    "as-is-b": "parameters:\n  term_months: {value: 6, locked: true}\n  annual_rate: 1.10\n",
    "rate": "parameters:\n  term_months: {value: 12, locked: true}\n  annual_rate: 1.45\n",
    "sms": "parameters:\n  term_months: {value: 6, locked: true}\n  annual_rate: 1.10\n"
           "  sms_template: SMS_TIME_DEPOSIT_OWN\n",
    "narrowed": "parameters:\n  term_months: {value: 24, locked: true}\n"
                "  annual_rate: {value: 1.75, min: 1.50, max: 2.00}\n",
    "mobile-notice": "parameters:\n  term_months: {value: 6, locked: true}\n  annual_rate: 1.10\n"
                     "steps:\n  - id: notify\n    use: notify.sms@^1\n    critical: false\n    channels: [mobile]\n"
                     "    inputs:\n      notify.reference: deposit.certificate_number\n",
    "replaced": "parameters:\n  term_months: {value: 6, locked: true}\n  annual_rate: 1.10\n"
                "steps:\n  - id: notify\n    use: notify.sms@^1\n    critical: true\n"
                "    inputs:\n      notify.reference: deposit.certificate_number\n",
    "own-step": "parameters:\n  term_months: {value: 6, locked: true}\n  annual_rate: 1.10\n"
                "steps:\n  - id: notify-again\n    use: notify.sms@^1\n    critical: false\n"
                "    after: [notify]\n    inputs:\n      notify.reference: deposit.certificate_number\n",
}


# Members of a line made of the large CD of issue 2, whose amount screen takes its maximum and
# step from the product ({param: ...} bounds): the same screen with other bounds.
CD_MEMBERS = {
    "cd-as-is-a": "", "cd-as-is-b": "",
    "cd-smaller": "parameters:\n  max_deposit_amount: 10000000.00\n  deposit_step_amount: 100000.00\n",
}


@pytest.fixture()
def line_catalogue(repo_catalogue: Path) -> Path:
    deposit = repo_catalogue / "products" / "deposit"
    cd = (deposit / "large-cd-2026-02.yaml").read_text(encoding="utf-8")
    head = "kind: Product\nid: deposit.large-cd-2026-02\n"
    assert head in cd
    line = cd.replace(head, "kind: ProductLine\nid: deposit.cd-line\n").replace(
        "effective: {from: 2026-12-01, until: 2026-12-31}\n", "")  # (a member may then run on)
    (deposit / "cd-line.yaml").write_text(line, encoding="utf-8")
    for line, members in (("deposit.time", MEMBERS), ("deposit.cd-line", CD_MEMBERS)):
        for name, body in members.items():
            (deposit / f"member-{name}.yaml").write_text(HEAD.format(name=name, line=line) + body,
                                                         encoding="utf-8")
    return repo_catalogue


def _tree(out: Path) -> dict[str, bytes]:
    base = out.resolve()
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def _forget(ctx: CheckContext) -> None:
    """Nothing resolved for one product is left for the next: the context's per-line, per-component
    and per-declaration memos."""
    ctx.line_params.clear()
    ctx.component_params.clear()
    ctx.effective_specs.clear()
    ctx.dictionary_params.clear()
    ctx.line_steps.clear()


def test_a_line_whose_members_override_different_things_builds_alike_without_sharing(
        line_catalogue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = Options(release_date=RELEASE, cache=tmp_path / "cache")
    checked = validate([line_catalogue], options)
    assert not [d for d in checked.diagnostics if d.severity.value == "error"], checked.diagnostics
    made = _counted(monkeypatch, "_make_step")
    shared = build([line_catalogue], tmp_path / "shared" / "build", options)  # compiles from the check index
    assert not shared.failed() and len(shared.compiled) > len(MEMBERS)
    steps = sum(len(ir.load(data).steps) for name, data in _tree(tmp_path / "shared" / "build").items()
                if name.startswith("definitions/"))
    assert made["calls"] < steps * 3 // 4  # most steps were shared, not made per product

    to_compile = CheckContext.to_compile

    def alone(self: CheckContext, key: tuple[str, str, str]) -> Any:
        _forget(self)
        return to_compile(self, key)

    monkeypatch.setattr(CheckContext, "to_compile", alone)
    monkeypatch.setattr(Shared, "get", lambda self, key, keep, make: make())
    monkeypatch.setattr(ir.DumpedSteps, "__call__", lambda self, step, defaults: step.model_dump(
        mode="json", by_alias=True, exclude_defaults=not defaults))
    unshared = build([line_catalogue], tmp_path / "alone" / "build", options)
    assert unshared.compiled == shared.compiled
    first, second = _tree(tmp_path / "shared" / "build"), _tree(tmp_path / "alone" / "build")
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def _counted(monkeypatch: pytest.MonkeyPatch, name: str) -> dict[str, int]:
    calls = {"calls": 0}
    original = getattr(compile_mod, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls["calls"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(compile_mod, name, counting)
    return calls


def _members(ctx: CheckContext) -> Iterator[tuple[str, str, str]]:
    for entry in ctx.catalog.entries:
        if entry.key[0] == "Product":
            ctx.assemblies.add(entry)
            yield entry.key


def test_no_product_changes_what_it_shares(line_catalogue: Path) -> None:
    """Each definition is written as soon as it is made, and again once every other product of
    the catalogue was made with the same shared parts: a product that changed a part it shares
    (a step, a parameter value, their JSON, its line's resolved parameters) would change the
    definitions made before it."""
    catalog, _ = load_catalog(line_catalogue, Options(cache=None))
    ctx, shared = CheckContext.build(catalog, Options(release_date=RELEASE)), Shared()
    made = [(key, compile_product(ctx.to_compile(key), shared=shared)) for key in list(_members(ctx))]
    first = {key: ir.dump(defn, shared.steps) for key, defn in made}
    again = {key: ir.dump(defn, shared.steps) for key, defn in made}
    assert again == first
    fresh = CheckContext.build(catalog, Options(release_date=RELEASE))
    for key in list(_members(fresh)):
        _forget(fresh)
        assert ir.dump(compile_product(fresh.to_compile(key))) == first[key], key


def test_a_changed_shared_part_is_seen(line_catalogue: Path) -> None:
    """The comparison above notices a change to a shared part: the JSON of a step two members
    share, changed after both were made, changes the first member's file."""
    catalog, _ = load_catalog(line_catalogue, Options(cache=None))
    ctx, shared = CheckContext.build(catalog, Options(release_date=RELEASE)), Shared()
    keys = [key for key in _members(ctx) if key[1].startswith("deposit.time-as-is-")]
    a, b = (compile_product(ctx.to_compile(key), shared=shared) for key in keys)
    before = ir.dump(a, shared.steps)
    ir.dump(b, shared.steps)  # the second dump of a shared step remembers its JSON
    alike = [sid for sid in a.steps if a.steps[sid] is b.steps[sid]]
    assert alike, "the two members share no step"  # (the JSON is remembered at its second dump)
    shared.steps(a.steps[alike[0]], False)["title"] = {"en": "changed", "zh-CN": "changed"}
    assert ir.dump(a, shared.steps) != before
