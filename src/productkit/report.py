"""Diagnostics in every output format: text, JSON, SARIF 2.1.0, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .diagnostics import CODES, Diagnostic, Severity, render_json, render_text

__all__ = ["render", "render_github", "render_sarif"]

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(diagnostics: Sequence[Diagnostic], fmt: str) -> str:
    if fmt == "json":
        return render_json(diagnostics)
    if fmt == "sarif":
        return render_sarif(diagnostics)
    if fmt == "github":
        return render_github(diagnostics)
    return render_text(diagnostics)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: ``::error file=..,line=..,col=..::message``."""
    lines = []
    for d in diagnostics:
        level = {"error": "error", "warning": "warning"}.get(d.severity.value, "notice")
        props = [f"file={_escape_prop(d.location.file)}"]
        if d.location.line:
            props += [f"line={d.location.line}", f"col={d.location.col}"]
        props.append(f"title={d.code}")
        msg = d.message + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """SARIF 2.1.0, one run, one rule per diagnostic code used."""
    used = sorted({d.code for d in diagnostics})
    rules = [{"id": c, "name": CODES[c].title if c in CODES else c,
              "shortDescription": {"text": CODES[c].title if c in CODES else c}} for c in used]
    results = [_sarif_result(d, used.index(d.code)) for d in diagnostics]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "productkit",
                                      "rules": rules}},
                  "results": results}],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _sarif_result(d: Diagnostic, rule_index: int) -> dict[str, object]:
    region = {"startLine": d.location.line, "startColumn": d.location.col} if d.location.line else {}
    physical: dict[str, object] = {"artifactLocation": {"uri": d.location.file}}
    if region:
        physical["region"] = region
    text = d.message + (f" (hint: {d.hint})" if d.hint else "")
    out: dict[str, object] = {"ruleId": d.code, "ruleIndex": rule_index,
                              "level": _SARIF_LEVEL[d.severity], "message": {"text": text},
                              "locations": [{"physicalLocation": physical}]}
    if d.related:
        out["relatedLocations"] = [
            {"id": i, "message": {"text": r.message},
             "physicalLocation": {"artifactLocation": {"uri": r.location.file},
                                  **({"region": {"startLine": r.location.line,
                                                 "startColumn": r.location.col}}
                                     if r.location.line else {})}}
            for i, r in enumerate(d.related)]
    return out
