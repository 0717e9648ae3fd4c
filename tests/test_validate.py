"""validate(): which files are read and which diagnostics are reported for a selection."""

from __future__ import annotations

from pathlib import Path

from casekit import INVALID, VALID, Case
from productkit.diagnostics import Diagnostic
from productkit.options import Options
from productkit.validate import validate


def located(diagnostics: list[Diagnostic], root: Path) -> list[tuple[str, str, int, int]]:
    return [(d.code, Path(d.location.file).resolve().relative_to(root.resolve()).as_posix(),
             d.location.line, d.location.col) for d in diagnostics]


def test_a_file_alone_is_checked_against_its_whole_catalogue(tmp_path: Path) -> None:
    root = Case(INVALID / "PK201_duplicate_definition").install(tmp_path)
    only_first = validate([root / "components" / "a.yaml"])
    assert only_first.diagnostics == [], "a.yaml is the first definition; b.yaml is reported"
    only_second = validate([root / "components" / "b.yaml"])
    assert located(only_second.diagnostics, root) == [("PK201", "components/b.yaml", 5, 5)]
    assert len(only_second.catalog.entries) == 2, "the rest of the catalogue is loaded"


def test_a_subfolder_selects_its_files(tmp_path: Path) -> None:
    root = Case(INVALID / "PK203_no_version_satisfies").install(tmp_path)
    assert validate([root / "components"]).diagnostics == []
    assert [d.code for d in validate([root / "products"]).diagnostics] == ["PK203"]


def test_several_roots_in_one_run(tmp_path: Path) -> None:
    good = Case(VALID / "deposit_line").install(tmp_path / "good")
    bad = Case(INVALID / "PK009_duplicate_key.yaml").install(tmp_path / "bad")
    result = validate([good, bad])
    assert [d.code for d in result.diagnostics] == ["PK009"]
    assert len(result.catalog.entries) == 6


def test_missing_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "products").mkdir()
    missing = tmp_path / "products" / "nothere.yaml"
    result = validate([missing])
    assert {d.code for d in result.diagnostics} == {"PK001"}
    assert not result.ok


def test_missing_file_is_reported_once(tmp_path: Path) -> None:
    missing = tmp_path / "products" / "nothere.yaml"
    assert [d.code for d in validate([missing]).diagnostics] == ["PK001"]


def test_non_yaml_file_named_explicitly_is_pk014(tmp_path: Path) -> None:
    notes = tmp_path / "products" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("just some notes\n", encoding="utf-8")
    assert [d.code for d in validate([notes]).diagnostics] == ["PK014"]


_REPEATED_DECLARATIONS = """\
apiVersion: productkit/v1
kind: ProcessComponent
id: demo.repeated
version: 1.0.0
title: {zh-CN: 演示, en: Repeated declarations}
handler: demo.run
parameters:
  plain_a: {type: boolean, default: true}
  quoted_a: {type: boolean, default: "true"}
  plain_b: {type: boolean, default: true}
  quoted_b: {type: boolean, default: "true"}
  rate_a: {type: decimal, min: 1.0000000}
  rate_b: {type: decimal, min: 1.000000}
  rate_c: {type: decimal, min: 1.0000000}
"""


def test_declarations_written_alike_are_each_reported_and_quoting_tells_them_apart(tmp_path: Path) -> None:
    # the check works a declaration out once per way it is written: every place is still reported,
    # and a quoted "true" is never taken for a plain true (nor 1.0000000 for 1.000000)
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "repeated.yaml").write_text(_REPEATED_DECLARATIONS, encoding="utf-8")
    found = validate([tmp_path], Options(cache=None)).diagnostics
    assert sorted((d.code, d.location.line) for d in found) == [("PK104", 9), ("PK104", 11), ("PK108", 12),
                                                                 ("PK108", 14)]
