"""Loader hazards that cannot be committed as case files, and what the loader keeps exact."""

from __future__ import annotations

import codecs
import datetime as dt
import os
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from casekit import VALID, Case
from productkit.diagnostics import Diagnostic
from productkit.loader import LoadLimits, Plain, load_file, load_text
from productkit.model import ProcessComponent, Product
from productkit.options import Options
from productkit.validate import ValidationResult, validate

COMPONENT = """\
apiVersion: productkit/v1
kind: ProcessComponent
id: demo.step
version: 1.0.0
title: {zh-CN: 演示, en: Demo}
handler: demo.run
"""


def where(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.location.line, d.location.col) for d in diagnostics]


def catalogue(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def validate_with_guard(paths: list[Path], options: Options = Options()) -> ValidationResult:
    """validate() in a thread, so a read that blocks fails the test instead of hanging it."""
    box: list[ValidationResult] = []
    worker = threading.Thread(target=lambda: box.append(validate(paths, options)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "validate() blocked on a non-regular file"
    return box[0]


def codes_of(result: ValidationResult, file: Path) -> list[str]:
    return [d.code for d in result.diagnostics if Path(d.location.file) == file]


# --- files that are not regular, empty, or too large -------------------------------------


def test_symlink_to_dev_zero_is_refused_without_reading(tmp_path: Path) -> None:
    root = catalogue(tmp_path, {"components/ok.yaml": COMPONENT.encode()})
    link = root / "products" / "zero.yaml"
    link.parent.mkdir()
    link.symlink_to("/dev/zero")
    result = validate_with_guard([root])
    assert codes_of(result, link) == ["PK015"]  # outside the catalogue: never opened
    assert len(result.catalog.entries) == 1, "the other files are still checked"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "products" / "pipe.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    result = validate_with_guard([tmp_path])
    assert codes_of(result, fifo) == ["PK002"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_named_explicitly_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "products" / "pipe.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    result = validate_with_guard([fifo])
    assert codes_of(result, fifo) == ["PK002"]


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    doc, diagnostics = load_file(folder)
    assert doc is None
    assert [d.code for d in diagnostics] == ["PK002"]


def test_dangling_symlink_cannot_be_read(tmp_path: Path) -> None:
    link = tmp_path / "products" / "gone.yaml"
    link.parent.mkdir()
    link.symlink_to(tmp_path / "nowhere.yaml")
    result = validate_with_guard([tmp_path])
    assert codes_of(result, link) == ["PK001"]


def test_zero_byte_file_is_an_empty_document(tmp_path: Path) -> None:
    root = catalogue(tmp_path, {"products/empty.yaml": b""})
    result = validate([root])
    assert where(result.diagnostics) == [("PK006", 1, 1)]


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    limit = Options().max_file_bytes
    body = COMPONENT.encode() + b"description: " + b"x" * limit + b"\n"
    big = tmp_path / "products" / "big.yaml"
    catalogue(tmp_path, {"products/big.yaml": body})
    result = validate([tmp_path])
    assert codes_of(result, big) == ["PK003"]


def test_size_limit_boundary(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(COMPONENT.encode())
    size = path.stat().st_size
    doc, at_limit = load_file(path, limits=LoadLimits(max_bytes=size))
    assert doc is not None and at_limit == []
    _, over = load_file(path, limits=LoadLimits(max_bytes=size - 1))
    assert [d.code for d in over] == ["PK003"]


def test_node_count_limit() -> None:
    text = "a: [" + ", ".join(["1"] * 50) + "]\n"
    doc, diagnostics = load_text(text, "f.yaml", LoadLimits(max_nodes=20))
    assert doc is None
    assert [d.code for d in diagnostics] == ["PK003"]


def test_very_deep_nesting_stops_at_the_limit_without_recursing() -> None:
    depth = 100_000  # far beyond Python's recursion limit
    limit = LoadLimits().max_depth
    doc, diagnostics = load_text("- " * depth + "x\n", "f.yaml")
    assert doc is None
    assert where(diagnostics) == [("PK012", 1, 2 * limit + 1)]
    doc, diagnostics = load_text("[" * 500 + "]" * 500, "f.yaml")
    assert where(diagnostics) == [("PK012", 1, limit + 1)]


def test_flow_nesting_beyond_libyaml_limit_is_a_diagnostic() -> None:
    # libyaml's scanner looks ahead and stops at its own limit (1000 levels) before the
    # loader sees level 33: either way one located load diagnostic, never an exception.
    doc, diagnostics = load_text("[" * 100_000 + "]" * 100_000, "f.yaml")
    assert doc is None
    assert len(diagnostics) == 1
    assert diagnostics[0].code in ("PK005", "PK012") and diagnostics[0].location.line == 1


def test_alias_bomb_is_refused_at_the_first_anchor() -> None:
    """A behaviour check only: the elapsed time is recorded, never asserted."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghijklmnop":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    start = time.perf_counter()
    doc, diagnostics = load_text("\n".join(lines) + "\n", "bomb.yaml")
    elapsed = time.perf_counter() - start
    print(f"alias bomb refused in {elapsed * 1e3:.2f} ms")
    assert doc is None
    assert where(diagnostics) == [("PK010", 1, 4)]


# --- encodings and line ends ----------------------------------------------------------


def test_bom_and_crlf_load_like_plain_lf(tmp_path: Path) -> None:
    plain = tmp_path / "lf.yaml"
    plain.write_bytes(COMPONENT.encode())
    windows = tmp_path / "crlf.yaml"
    windows.write_bytes(codecs.BOM_UTF8 + COMPONENT.replace("\n", "\r\n").encode())
    a, da = load_file(plain)
    b, db = load_file(windows)
    assert da == db == []
    assert a is not None and b is not None
    assert a.data == b.data
    assert a.marks.values == b.marks.values


def test_invalid_byte_after_a_bom_is_located_in_characters(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(codecs.BOM_UTF8 + "a: 1\nb: 值\xff\n".encode()[:-3] + b"\xff\n")
    _, diagnostics = load_file(path)
    assert where(diagnostics) == [("PK004", 2, 5)]
    assert "0xff" in diagnostics[0].message  # the byte named is the bad one, not a neighbour


def test_nul_byte_in_a_file_with_cr_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "cr.yaml"
    path.write_bytes(b"a: 1\rb: 2\rc: x\x00\r")
    _, diagnostics = load_file(path)
    assert where(diagnostics) == [("PK004", 3, 5)]


def test_cr_only_line_ends_count_as_lines() -> None:
    _, diagnostics = load_text("a: 1\rb: 2\ra: 3\r", "f.yaml")
    assert where(diagnostics) == [("PK009", 3, 1)]


def test_utf16_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_bytes(COMPONENT.encode("utf-16"))
    doc, diagnostics = load_file(path)
    assert doc is None
    assert [d.code for d in diagnostics] == ["PK004"]


def test_lone_surrogate_in_text_is_a_diagnostic() -> None:
    doc, diagnostics = load_text("a: 1\nb: x\ud800\n", "f.yaml")
    assert doc is None
    assert where(diagnostics) == [("PK004", 2, 5)]


def test_control_character_is_located() -> None:
    _, diagnostics = load_text("a: 1\nbb: 名字\x1b\n", "f.yaml")
    assert where(diagnostics) == [("PK005", 2, 7)]


# --- what the strict loader keeps -----------------------------------------------------


def test_plain_scalars_stay_text_until_a_type_is_asked_for() -> None:
    text = "on: yes\nno: NO\noct: 010\nsep: 1_000\nsexa: 1:20\nversion: 1.10\nrate: 0.1\n" \
           "date: 2024-01-31\nexp: 1.0e+3\nquoted: 'yes'\nnothing: ~\n"
    doc, diagnostics = load_text(text, "f.yaml")
    assert diagnostics == [] and doc is not None
    assert doc.data == {"on": "yes", "no": "NO", "oct": "010", "sep": "1_000", "sexa": "1:20",
                        "version": "1.10", "rate": "0.1", "date": "2024-01-31",
                        "exp": "1.0e+3", "quoted": "yes", "nothing": None}
    assert all(isinstance(v, Plain) for k, v in doc.data.items() if k not in ("quoted", "nothing"))
    assert not isinstance(doc.data["quoted"], Plain)


def test_marks_of_values_and_keys() -> None:
    doc, _ = load_text("a:\n  bb: [x, {c: 1}]\n", "f.yaml")
    assert doc is not None
    assert doc.loc(("a", "bb")).line == 2 and doc.loc(("a", "bb")).col == 7
    assert (doc.loc(("a", "bb"), key=True).line, doc.loc(("a", "bb"), key=True).col) == (2, 3)
    assert (doc.loc(("a", "bb", 1, "c")).line, doc.loc(("a", "bb", 1, "c")).col) == (2, 15)
    # A path that does not exist falls back to its nearest ancestor.
    assert doc.loc(("a", "bb", 7)).col == 7


def test_decimal_is_exact(tmp_path: Path) -> None:
    root = catalogue(tmp_path, {"components/c.yaml": (COMPONENT + "retry: {multiplier: 0.1}\n").encode()})
    result = validate([root])
    assert result.diagnostics == []
    model = result.catalog.entries[0].model
    assert isinstance(model, ProcessComponent) and model.retry is not None
    assert type(model.retry.multiplier) is Decimal
    assert model.retry.multiplier == Decimal("0.1")
    assert model.retry.multiplier * 3 == Decimal("0.3")  # a binary float would give 0.3000...04


def test_unquoted_date_is_a_date_where_a_date_is_wanted(tmp_path: Path) -> None:
    root = Case(VALID / "unquoted_dates").install(tmp_path)
    result = validate([root])
    assert result.diagnostics == []
    by_kind = {e.model.kind: e.model for e in result.catalog.entries}
    component = by_kind["ProcessComponent"]
    assert isinstance(component, ProcessComponent) and component.deprecated is not None
    assert component.deprecated.since == dt.date(2026, 1, 31)
    assert isinstance(by_kind["Product"], Product)


def test_yaml11_words_stay_text_in_a_valid_catalogue(tmp_path: Path) -> None:
    root = Case(VALID / "yaml11_words_stay_text").install(tmp_path)
    result = validate([root])
    assert result.diagnostics == []
    (entry,) = result.catalog.entries
    params = entry.doc.data["parameters"]
    assert "on" in params and True not in params
    assert params["country"]["values"] == ["NO", "SE", "DK", "yes", "off"]
    assert params["branch_code"]["default"] == "010"
