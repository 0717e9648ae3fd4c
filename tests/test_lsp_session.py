"""The language server's in-memory catalogue reports exactly what ``productkit validate`` reports
for the same files on disk, after every edit of a sequence that breaks a product, its line, a
component it uses, a dictionary, the YAML itself, and removes and adds files."""

from __future__ import annotations

from pathlib import Path

import pytest

from productkit.diagnostics import Diagnostic, diagnostic_to_data
from productkit.lsp._session import Session
from productkit.options import Options
from productkit.validate import validate

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = "products/deposit/time-deposit-1y.yaml"
LINE = "products/deposit/time-deposit-line.yaml"
COMPONENT = "components/process/notify/app-push.yaml"
DICTIONARY = "components/parameters/risk.yaml"
DATA = "components/data/applicant.yaml"
DEMAND = "products/deposit/demand-class-ii.yaml"


def _edit(rel: str, old: str, new: str) -> tuple[str, str | None]:
    return rel, (ROOT / rel).read_text(encoding="utf-8").replace(old, new, 1)


# (file, its new text or None for removed); each step starts from the state the last one left.
EDITS: list[tuple[str, str | None]] = [
    _edit(PRODUCT, "    use: notify.app-push@^1\n", "    use: notify.app-push@^1\n    after: [nowhere]\n"),
    _edit(LINE, "annual_rate: {min: 0.50, max: 2.50}", "annual_rate: {min: 0.50, max: 1.00}"),
    _edit(COMPONENT, "\nversion: 1.", "\nversion: 9."),
    _edit(DICTIONARY, "  face_match_threshold:\n", "  face_match_limit:\n"),
    _edit(PRODUCT, "\nkind: Product\n", "\nkind: Product\n  bad: [indent\n"),
    _edit(DEMAND, "  applicant.age: {type: integer, min: 0, max: 120}", "  applicant.age: {type: string}"),
    _edit(DATA, "  applicant.age:\n    type: integer", "  applicant.age_years:\n    type: integer"),
    (LINE, None),
    (PRODUCT.replace("1y.yaml", "1y-copy.yaml"), (ROOT / PRODUCT).read_text(encoding="utf-8")),
    (LINE, (ROOT / LINE).read_text(encoding="utf-8")),
    (PRODUCT, (ROOT / PRODUCT).read_text(encoding="utf-8")),
    (COMPONENT, (ROOT / COMPONENT).read_text(encoding="utf-8")),
    (DICTIONARY, (ROOT / DICTIONARY).read_text(encoding="utf-8")),
    (DATA, (ROOT / DATA).read_text(encoding="utf-8")),
    (DEMAND, (ROOT / DEMAND).read_text(encoding="utf-8")),
    (PRODUCT.replace("1y.yaml", "1y-copy.yaml"),
     (ROOT / PRODUCT).read_text(encoding="utf-8").replace("\nversion: 1.0.0\n", "\nversion: 1.1.0\n", 1)),
    (PRODUCT.replace("1y.yaml", "1y-copy.yaml"), None),
]


@pytest.fixture()
def catalogue(repo_catalogue: Path) -> Path:
    return repo_catalogue


def apply_edit(root: Path, rel: str, text: str | None) -> Path:
    """Write ``text`` to file ``rel`` of ``root`` (None: remove it); the file's path."""
    path = root / rel
    if text is None:
        path.unlink()
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _validated(root: Path) -> list[Diagnostic]:
    return validate([root], Options(cache=None)).diagnostics


def _data(found: list[Diagnostic]) -> list[object]:
    return [diagnostic_to_data(d) for d in found]


def test_every_edit_reports_what_validate_reports_on_disk(catalogue: Path) -> None:
    session = Session(catalogue, Options(cache=None))
    session.load()
    clean = _data(_validated(catalogue))
    assert _data(session.diagnostics()) == clean
    seen: set[str] = set()
    elsewhere = False
    for rel, text in EDITS:
        path = apply_edit(catalogue, rel, text)
        session.change(session.name_of(path), text)
        expected = _validated(catalogue)
        assert _data(session.diagnostics()) == _data(expected), rel
        seen |= {d.code for d in expected}
        elsewhere |= any(d.location.file != session.name_of(path) for d in expected if d.code != "PK201")
    # The sequence did break things, in the edited files and in others, and undoing it cleared them.
    assert {"PK202", "PK203", "PK005", "PK201", "PK223", "PK216", "PK218"} <= seen and elsewhere
    assert _data(session.diagnostics()) == clean


def test_an_edit_rechecks_only_the_products_it_can_affect(catalogue: Path) -> None:
    session = Session(catalogue, Options(cache=None))
    session.load()
    before = {name: id(found) for name, found in session.products.items()}
    rel, text = EDITS[0]
    session.change(session.name_of(catalogue / rel), text)
    redone = {name for name, found in session.products.items() if id(found) != before.get(name)}
    assert redone == {session.name_of(catalogue / PRODUCT)}
    rel, text = EDITS[2]  # a component: every product that uses notify.app-push, and no other
    session.change(session.name_of(catalogue / rel), text)
    users = {name for name, e in session.entries.items()
             if e.key[0] == "Product" and "notify.app-push" in session.refs[name]}
    redone = {name for name, found in session.products.items() if id(found) != before.get(name)}
    assert users and redone == users | {session.name_of(catalogue / PRODUCT)}
