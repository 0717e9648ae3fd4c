"""Renderers: text with source and caret, JSON, SARIF 2.1.0 and GitHub annotations."""

from __future__ import annotations

import json
import re
from pathlib import Path

from productkit.diagnostics import (
    Diagnostic,
    Location,
    Related,
    Severity,
    has_errors,
    render_json,
    render_text,
    sort_diagnostics,
)
from productkit.report import render, render_github, render_sarif
from sarif import sarif_problems, validate_sarif


def diag(code: str = "PK009", file: str = "products/a.yaml", line: int = 3, col: int = 5,
         severity: Severity = Severity.ERROR, **kw: object) -> Diagnostic:
    return Diagnostic(code, kw.pop("message", "a problem"), Location(file, line, col),  # type: ignore[arg-type]
                      severity, **kw)  # type: ignore[arg-type]


def test_text_shows_the_source_line_and_a_caret_under_the_column(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("id: x\ntitle: {zh-CN: 演示, en: Demo, en: Again}\n", encoding="utf-8")
    out = render_text([diag(file=str(path), line=2, col=30)]).splitlines()
    assert out[0].startswith(f"{path}:2:30: error PK009")
    assert out[1] == "    title: {zh-CN: 演示, en: Demo, en: Again}"
    assert out[2].index("^") - 4 == 29
    assert out[1][4 + 29:].startswith("en: Again")


def test_text_counts_lines_as_the_loader_does(tmp_path: Path) -> None:
    # str.splitlines() would also break at the form feed and show the wrong line.
    path = tmp_path / "ff.yaml"
    path.write_bytes(b"a: \x0c\nb: \x00\n")
    out = render_text([diag(code="PK004", file=str(path), line=2, col=4)]).splitlines()
    assert out[1] == "    b: \\x00"  # controls are shown as escapes


def test_text_with_related_hint_and_file_level_diagnostics(tmp_path: Path) -> None:
    first = Location(str(tmp_path / "a.yaml"), 1, 5)
    ds = [diag(code="PK201", file=str(tmp_path / "b.yaml"), hint="raise a version",
               related=(Related(first, "first defined here"),)),
          diag(code="PK002", file="/dev/zero", line=0, col=0)]
    out = render_text(ds)
    assert f"  {first}: note: first defined here" in out.splitlines()
    assert "  hint: raise a version" in out.splitlines()
    assert "/dev/zero: error PK002: a problem" in out.splitlines()
    assert render_text([]) == ""


def test_json_lists_every_field() -> None:
    d = diag(hint="h", related=(Related(Location("b.yaml", 1, 1), "here"),))
    payload = json.loads(render_json([d, diag(code="PK005")]))
    first, second = payload["diagnostics"]
    assert first == {"code": "PK009", "severity": "error", "message": "a problem",
                     "file": "products/a.yaml", "line": 3, "col": 5, "path": "", "hint": "h",
                     "related": [{"file": "b.yaml", "line": 1, "col": 1, "message": "here"}]}
    assert "hint" not in second and "related" not in second


def test_github_escapes_data_and_properties() -> None:
    ds = [diag(file="products/a,b:c.yaml", message="50% of\nthe lines", severity=Severity.WARNING),
          diag(code="PK003", line=0, col=0, severity=Severity.INFO)]
    lines = render_github(ds).splitlines()
    assert lines == [
        "::warning file=products/a%2Cb%3Ac.yaml,line=3,col=5,title=PK009::50%25 of%0Athe lines",
        "::notice file=products/a.yaml,title=PK003::a problem",
    ]


def test_sarif_has_rules_regions_and_related_locations() -> None:
    ds = [diag(code="PK201", related=(Related(Location("b.yaml", 2, 3), "first"),)),
          diag(code="PK003", line=0, col=0, severity=Severity.INFO),
          diag(code="PK201", line=9, col=1, severity=Severity.WARNING)]
    log = json.loads(render_sarif(ds))
    validate_sarif(log)
    (run,) = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["PK003", "PK201"]
    results = run["results"]
    assert [r["ruleIndex"] for r in results] == [1, 0, 1]
    assert [r["level"] for r in results] == ["error", "note", "warning"]
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 5}
    assert "region" not in results[1]["locations"][0]["physicalLocation"]
    related = results[0]["relatedLocations"][0]
    assert related["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 3}


def test_render_dispatches_by_format() -> None:
    ds = [diag()]
    assert json.loads(render(ds, "json"))["diagnostics"][0]["code"] == "PK009"
    assert json.loads(render(ds, "sarif"))["version"] == "2.1.0"
    assert render(ds, "github").startswith("::error ")
    assert re.match(r"products/a\.yaml:3:5: error PK009", render(ds, "text"))


def test_sort_orders_by_place_and_drops_exact_repeats() -> None:
    a, b, c = diag(line=9), diag(line=2, col=7), diag(file="products/0.yaml", line=50)
    assert sort_diagnostics([a, b, c, a]) == [c, b, a]


def test_has_errors_and_strict() -> None:
    warning = diag(severity=Severity.WARNING)
    assert not has_errors([warning])
    assert has_errors([warning], strict=True)
    assert has_errors([diag()])
    assert not has_errors([diag(severity=Severity.INFO)], strict=True)


AWKWARD_NAMES = ["products/100% rate.yaml", "products/a b,c.yaml", "products/定期 存款.yaml",
                 "products/#1?.yaml", "/abs/dir/x y%20z.yaml", "C:\\cat\\products\\ä.yaml"]


def test_sarif_with_awkward_file_names_is_valid_against_the_official_schema() -> None:
    ds = [diag(file=name, related=(Related(Location(name, 1, 1), "first"),)) for name in AWKWARD_NAMES]
    ds.append(diag(code="PK003", file="products/x.yaml", line=0, col=0, severity=Severity.INFO))
    log = json.loads(render_sarif(ds))
    validate_sarif(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert uris[0] == "products/100%25%20rate.yaml"
    assert uris[2] == "products/%E5%AE%9A%E6%9C%9F%20%E5%AD%98%E6%AC%BE.yaml"


def test_the_official_schema_refuses_what_productkit_must_not_write() -> None:
    """The check has teeth: a raw space or '%' in a URI, a missing message, a bad level."""
    log = json.loads(render_sarif([diag()]))
    result = log["runs"][0]["results"][0]
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "products/100% a.yaml"
    result["level"] = "fatal"
    del result["message"]
    problems = sarif_problems(log)
    assert len(problems) == 3, problems
    assert any("uri" in p for p in problems)


def test_sarif_of_a_catalogue_with_awkward_file_names(tmp_path: Path) -> None:
    """End to end: validate a catalogue whose files have such names, as CI would."""
    from productkit.options import Options
    from productkit.validate import validate

    products = tmp_path / "products"
    products.mkdir()
    for name in ["100% rate.yaml", "a b,c.yaml", "定期 存款.yaml"]:
        (products / name).write_text("apiVersion: productkit/v1\nkind: Product\nid: x\nsurprise: 1\n",
                                     encoding="utf-8")
    result = validate([tmp_path], Options())
    log = json.loads(render_sarif(result.diagnostics))
    validate_sarif(log)
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert len(files) == 3
