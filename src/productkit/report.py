"""Diagnostics in every output format: text, JSON, SARIF 2.1.0, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from .diagnostics import CODES, Diagnostic, Severity, json_safe, render_json, render_text, safe_text

__all__ = ["render", "render_github", "render_sarif", "sarif_uri"]

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
    """GitHub's escaping of a command's message; other controls become visible escapes first, so
    that nothing from a catalogue can end the line and start a workflow command of its own."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return safe_text(text)


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
        props.append(f"title={_escape_prop(d.code)}")
        msg = d.message + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """SARIF 2.1.0, one run, one rule per diagnostic code used."""
    used = sorted({d.code for d in diagnostics})
    rules = [_sarif_rule(c) for c in used]
    results = [_sarif_result(d, used.index(d.code)) for d in diagnostics]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "productkit", "version": _version(),
                                      "informationUri": "https://productkit.dev",
                                      "rules": rules}},
                  "results": results}],
    }
    return json_safe(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True)) + "\n"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("productkit")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _sarif_rule(code: str) -> dict[str, object]:
    known = CODES.get(code)
    title = known.title if known else code
    text = f"{code} ({known.stage}): {title}. Example: {known.example}" if known else title
    return {"id": code, "name": title, "shortDescription": {"text": title},
            "help": {"text": text}}


def sarif_uri(file: str) -> str:
    """A file name as a SARIF artifact URI: relative names stay relative references, absolute
    ones become file: URIs; spaces, '%', ',', controls and non-ASCII are percent-encoded."""
    posix = file.replace("\\", "/")
    encoded = quote(posix, safe="/-._~")
    return f"file://{encoded}" if posix.startswith("/") else encoded


def _sarif_result(d: Diagnostic, rule_index: int) -> dict[str, object]:
    region = {"startLine": d.location.line, "startColumn": d.location.col} if d.location.line else {}
    physical: dict[str, object] = {"artifactLocation": {"uri": sarif_uri(d.location.file)}}
    if region:
        physical["region"] = region
    text = d.message + (f" (hint: {d.hint})" if d.hint else "")
    out: dict[str, object] = {"ruleId": d.code, "ruleIndex": rule_index,
                              "level": _SARIF_LEVEL[d.severity], "message": {"text": text},
                              "locations": [{"physicalLocation": physical}]}
    if d.related:
        out["relatedLocations"] = [
            {"id": i, "message": {"text": r.message},
             "physicalLocation": {"artifactLocation": {"uri": sarif_uri(r.location.file)},
                                  **({"region": {"startLine": r.location.line,
                                                 "startColumn": r.location.col}}
                                     if r.location.line else {})}}
            for i, r in enumerate(d.related)]
    return out
