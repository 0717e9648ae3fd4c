"""Diagnostics: the one type every stage reports problems with, the code table, renderers.

Checks never raise for bad input; they yield :class:`Diagnostic` values. The caller collects
them all and decides at the end (exit code 1 when any error is present).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

__all__ = [
    "CODES",
    "Code",
    "Diagnostic",
    "Location",
    "ProductkitError",
    "Related",
    "Severity",
    "diagnostic_from_data",
    "diagnostic_to_data",
    "has_errors",
    "json_safe",
    "render_json",
    "render_text",
    "safe_text",
    "sort_diagnostics",
]


class ProductkitError(Exception):
    """Root of the exceptions productkit raises when it cannot continue at all."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: file, 1-based line and column, and the path inside the document."""

    file: str
    line: int = 0
    col: int = 0
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file

    def dotted_path(self) -> str:
        return ".".join(str(p) for p in self.path)


@dataclass(frozen=True, slots=True)
class Related:
    """A second location that explains the first (where a violated bound was declared)."""

    location: Location
    message: str


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    stage: str
    title: str
    example: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: a stable code, a severity, a message, a location, related places, a hint."""

    code: str
    message: str
    location: Location
    severity: Severity = Severity.ERROR
    related: tuple[Related, ...] = ()
    hint: str | None = None
    data: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.col, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "path": self.location.dotted_path(),
        }
        if self.hint:
            out["hint"] = self.hint
        if self.related:
            out["related"] = [
                {
                    "file": r.location.file,
                    "line": r.location.line,
                    "col": r.location.col,
                    "message": r.message,
                }
                for r in self.related
            ]
        return out


def _is_path(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(p, str | int) and not isinstance(p, bool) for p in value)


def _location_of(data: object) -> Location:
    """A Location from ``Location.to_data`` output; ValueError when it is not one."""
    if not (isinstance(data, list) and len(data) == 4 and isinstance(data[0], str)
            and type(data[1]) is int and type(data[2]) is int and _is_path(data[3])):
        raise ValueError("not a location")
    return Location(data[0], data[1], data[2], tuple(data[3]))


def diagnostic_to_data(d: Diagnostic) -> list[object]:
    """``d`` as plain JSON data (lossless, unlike ``to_json``): what the cache stores."""
    loc = d.location
    return [d.code, d.message, [loc.file, loc.line, loc.col, list(loc.path)], d.severity.value,
            [[[r.location.file, r.location.line, r.location.col, list(r.location.path)], r.message]
             for r in d.related], d.hint, [list(pair) for pair in d.data]]


def diagnostic_from_data(data: object) -> Diagnostic:
    """The inverse of :func:`diagnostic_to_data`; ValueError on anything else."""
    if not (isinstance(data, list) and len(data) == 7):
        raise ValueError("not a diagnostic")
    code, message, loc, severity, related, hint, extra = data
    if not (isinstance(code, str) and code in CODES and isinstance(message, str)
            and isinstance(related, list) and isinstance(extra, list) and (hint is None or isinstance(hint, str))):
        raise ValueError("not a diagnostic")
    rel = []
    for item in related:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], str)):
            raise ValueError("not a related location")
        rel.append(Related(_location_of(item[0]), item[1]))
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in extra):
        raise ValueError("not diagnostic data")
    return Diagnostic(code, message, _location_of(loc), Severity(severity), tuple(rel), hint,
                      tuple((p[0], p[1]) for p in extra))


def has_errors(diagnostics: Iterable[Diagnostic], strict: bool = False) -> bool:
    """True when any diagnostic fails the run (warnings too when ``strict``)."""
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return any(d.severity in failing for d in diagnostics)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    unique = {(d.sort_key(), d.severity): d for d in diagnostics}
    return [unique[k] for k in sorted(unique)]


# The breaks libyaml counts in its marks; str.splitlines also splits on \f, \v and \x1c-\x1e.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _source_line(file: str, line: int, cache: dict[str, list[str]]) -> str | None:
    if line <= 0:
        return None
    if file not in cache:
        cache[file] = []
        path = Path(file)
        try:
            # Only regular files, and only a bounded prefix: a link to /dev/zero must not hang.
            if path.is_file():
                with path.open("rb") as fh:
                    raw = fh.read(4 * 1024 * 1024)
                text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
                cache[file] = _LINE_BREAK.split(text)
        except OSError:
            pass
    lines = cache[file]
    if 0 < line <= len(lines):
        return lines[line - 1]
    return None


# What must never reach a terminal or a CI log raw from user data: C0 and C1 controls (ESC
# starts terminal sequences; a newline would start a line that GitHub Actions runs as a
# workflow command), DEL, Unicode line and paragraph separators, and bidirectional overrides
# (which make a line read differently from what it holds).
# Lone surrogates (a file name that is not UTF-8) could not even be written out.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group()
    if "\udc80" <= ch <= "\udcff":  # a byte that was not UTF-8, as Python decodes file names
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def safe_text(text: str) -> str:
    """``text`` with every control, separator and bidi character written as an escape, so one
    value from a catalogue can neither start an output line nor drive the terminal."""
    return _UNSAFE.sub(_escape_char, text)


# json.dumps already escapes C0 controls inside strings; what it leaves raw can only be in strings.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff]")


def json_safe(text: str) -> str:
    """JSON text from json.dumps with the characters above written as \\uXXXX escapes
    (the same JSON value, safe to print)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def render_text(diagnostics: Sequence[Diagnostic], show_source: bool = True) -> str:
    """Compiler-style text: ``file:line:col: error PK204: message``, source line and caret."""
    cache: dict[str, list[str]] = {}
    out: list[str] = []
    for d in diagnostics:
        out.append(safe_text(f"{d.location}: {d.severity.value} {d.code}: {d.message}"))
        src = _source_line(d.location.file, d.location.line, cache) if show_source else None
        if src is not None and len(src) <= 400:
            out.append(f"    {safe_text(src)}")
            out.append("    " + " " * len(safe_text(src[:max(d.location.col - 1, 0)])) + "^")
        for r in d.related:
            out.append(safe_text(f"  {r.location}: note: {r.message}"))
        if d.hint:
            out.append(safe_text(f"  hint: {d.hint}"))
    return "\n".join(out) + ("\n" if out else "")


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """``{"diagnostics": [...]}``, indented, with controls escaped (see :func:`safe_text`)."""
    payload = {"diagnostics": [d.to_json() for d in diagnostics]}
    return json_safe(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)) + "\n"


def _c(code: str, stage: str, title: str, example: str) -> tuple[str, Code]:
    return code, Code(code, stage, title, example)


# The code table. Codes are stable: never renumber, only add. Grouped by stage:
# PK0xx files and YAML, PK1xx document shape, PK2xx references and resolution,
# PK3xx expressions, PK4xx the product graph, PK5xx compile and build,
# PK6xx reading a build at run time, PK7xx scenario files (designer tests).
_TABLE = tuple(
    [
        _c("PK001", "load", "file cannot be read", "products/x.yaml: cannot read file: permission denied"),
        _c("PK002", "load", "not a regular file", "products/zero.yaml: is a character device, not a regular file"),
        _c("PK003", "load", "file too large", "products/big.yaml: file is 5242880 bytes, above the limit of 1048576"),
        _c("PK004", "load", "invalid UTF-8 or NUL byte", "products/x.yaml:3:7: invalid UTF-8 byte 0xff"),
        _c("PK005", "load", "YAML syntax error", "products/x.yaml:4:3: mapping values are not allowed here"),
        _c("PK006", "load", "empty document", "products/x.yaml:1:1: the file holds no document"),
        _c("PK007", "load", "several documents in one file", "products/x.yaml:9:1: a second document starts here"),
        _c("PK008", "load", "document is not a mapping", "products/x.yaml:1:1: found a sequence, expected a mapping"),
        _c("PK009", "load", "duplicate key", "products/x.yaml:7:3: duplicate key 'annual_rate' (first at line 5)"),
        _c("PK010", "load", "anchor, alias or merge key", "products/x.yaml:3:8: YAML aliases are not allowed"),
        _c("PK011", "load", "tag", "products/x.yaml:2:7: YAML tag '!include' is not allowed"),
        _c("PK012", "load", "nesting too deep", "products/x.yaml:40:9: nesting deeper than 32 levels"),
        _c("PK013", "load", "non-string mapping key", "products/x.yaml:3:3: mapping key is a sequence"),
        _c("PK014", "load", "not a YAML file of the catalogue", "products/readme.txt: only .yaml and .yml files are read"),
        _c("PK015", "load", "link leading outside the catalogue", "products/x.yaml: this link leads outside the catalogue; it is not read"),
        _c("PK101", "shape", "missing or unknown apiVersion/kind", "x.yaml:1:1: unknown kind 'Prodcut'; did you mean 'Product'?"),
        _c("PK102", "shape", "required field missing", "x.yaml:1:1: required field 'title' is missing"),
        _c("PK103", "shape", "unknown field", "x.yaml:9:3: unknown field 'paramters'; did you mean 'parameters'?"),
        _c("PK104", "shape", "wrong type", "x.yaml:6:12: found a mapping, expected a string"),
        _c("PK105", "shape", "ambiguous YAML 1.1 scalar", "x.yaml:5:10: 'yes' is not a boolean here; write true"),
        _c("PK106", "shape", "invalid identifier", "x.yaml:3:5: id 'KYC_check' must be lowercase dotted"),
        _c("PK107", "shape", "invalid version or range", "x.yaml:4:10: version '2.1' is not semantic versioning"),
        _c("PK108", "shape", "invalid value", "x.yaml:8:14: value 'P3X' is not an ISO 8601 duration"),
        _c("PK109", "shape", "inconsistent declaration", "x.yaml:8:5: min 10 is above max 5"),
        _c("PK110", "shape", "missing translation", "x.yaml:4:8: label lacks 'en'"),
        _c("PK111", "shape", "value violates its declaration", "x.yaml:12:16: 7.5 is above the maximum 5"),
        _c("PK112", "shape", "regular expression unsafe or not portable", "x.yaml:8:14: pattern '^(a+)+$' repeats a group that holds a quantifier: it can take exponential time"),
        _c("PK113", "shape", "screen bound bound to a parameter of another type", "x.yaml:14:10: deposit.amount.step of screen 'amount' binds 'amount_step' of type integer, expected money CNY"),
        _c("PK114", "shape", "table declaration incomplete, of a key type that cannot band, or a table as data", "x.yaml:10:34: a table's key is string, expected one of integer, decimal, percent, money, date, enum"),
        _c("PK115", "shape", "table rows overlap, leave a gap, or miss or repeat an enum value", "x.yaml:12:14: rate_by_score = row 2 (from 590) overlaps row 1 (to 600)"),
        _c("PK116", "shape", "table row of the wrong shape", "x.yaml:12:7: rate_by_score: row 2: found a mapping with keys ['from', 'upto', 'value'], expected {from: ..., to: ..., value: ...}"),
        _c("PK201", "resolve", "duplicate definition", "x.yaml:3:5: ProcessComponent kyc.verify 2.1.0 is also defined in y.yaml"),
        _c("PK202", "resolve", "unknown reference", "x.yaml:14:10: no component 'kyc.verfy'; did you mean 'kyc.verify'?"),
        _c("PK203", "resolve", "no version satisfies the range", "x.yaml:14:10: kyc.verify@^3 matches none of 1.0.0, 2.1.0"),
        _c("PK204", "resolve", "deprecated component", "x.yaml:14:10: kyc.verify 1.0.0 is deprecated since 2026-01-01"),
        _c("PK205", "resolve", "extends cycle", "a.yaml:5:10: product line a extends itself through b"),
        _c("PK206", "resolve", "widens or changes a template value", "x.yaml:9:16: max 10 widens the line's max 5"),
        _c("PK207", "resolve", "unknown parameter", "x.yaml:9:3: no parameter 'anual_rate'; did you mean 'annual_rate'?"),
        _c("PK208", "resolve", "required parameter has no value", "x.yaml:1:1: parameter 'term_months' has no value"),
        _c("PK209", "resolve", "wrong kind of reference", "x.yaml:14:10: 'ui.review' is a UIComponent, expected a ProcessComponent"),
        _c("PK210", "resolve", "duplicate step id", "x.yaml:20:9: step id 'kyc' is used twice"),
        _c("PK211", "resolve", "unsupported channel", "x.yaml:18:9: ui.face-capture does not support channel 'counter'"),
        _c("PK212", "resolve", "unknown error code", "x.yaml:22:11: kyc.verify declares no error 'kyc.timeout'"),
        _c("PK213", "resolve", "parameter not in the dictionary", "x.yaml:9:3: parameter 'x' is declared inline, not in a dictionary"),
        _c("PK214", "resolve", "effective dates out of order", "x.yaml:6:9: until 2026-01-01 is before from 2026-06-01"),
        _c("PK215", "resolve", "a member replaces a locked rule, derived value or step of its line", "x.yaml:30:9: rule 'staff-escalation' is locked by the line and cannot be replaced here"),
        _c("PK216", "resolve", "data path not in the data dictionary (warning)", "x.yaml:12:3: data path 'customer.type' is not in the data dictionary; did you mean 'customer.kind'?"),
        _c("PK217", "resolve", "data path is an alias (warning)", "x.yaml:12:3: 'applicant.mainland_resident' is an alias of 'applicant.resident'; use that"),
        _c("PK218", "resolve", "data path's type disagrees with the data dictionary", "x.yaml:12:3: applicant.age is declared string here, integer in the data dictionary"),
        _c("PK219", "resolve", "two data dictionary entries mean the same (warning)", "x.yaml:40:3: 'customer.resident' and 'applicant.resident' have the same title"),
        _c("PK220", "resolve", "channel forbidden by a channel policy", "x.yaml:9:14: channel 'open-api' is forbidden by the channel policy of line deposit.time"),
        _c("PK221", "resolve", "channel comparison that never holds (warning)", "x.yaml:30:22: channel is compared with 'mini-program', a channel this product does not launch on"),
        _c("PK222", "resolve", "effective window outside the line's", "x.yaml:8:9: from 2026-01-01 is before the line's from 2026-06-01"),
        _c("PK223", "resolve", "effective windows of two versions overlap", "x.yaml:8:12: deposit.time-1y 1.1.0 is on sale from 2026-12-01, while 1.0.0 is on sale until 2026-12-31"),
        _c("PK224", "resolve", "expression reads per-channel context where it is absent (warning)", "x.yaml:30:11: partner.id is supplied on open-api only, and this expression also runs on mobile, where it reads null"),
        _c("PK225", "resolve", "dated values of a parameter overlap", "x.yaml:13:9: annual_rate: the window from 2027-02-15 overlaps the window from 2027-01-01 until 2027-02-28"),
        _c("PK226", "resolve", "a screen's bound binds a parameter with dated values", "x.yaml:20:10: deposit.amount.max of screen 'amount' binds 'max_amount', whose value changes with the application date"),
        _c("PK301", "expr", "expression syntax error", "x.yaml:30:12: syntax error at column 5 of the expression"),
        _c("PK302", "expr", "unknown name in expression", "x.yaml:30:12: unknown name 'applicant.agee'; did you mean 'applicant.age'?"),
        _c("PK303", "expr", "type mismatch in expression", "x.yaml:30:12: no operator '>=' for (decimal, int)"),
        _c("PK304", "expr", "condition is not boolean", "x.yaml:30:12: the condition has type int, expected bool"),
        _c("PK305", "expr", "decimal arithmetic needs dec_mul/dec_div", "x.yaml:30:12: '*' on decimals; use dec_mul(a, b)"),
        _c("PK306", "expr", "rule is always false on the resolved parameters", "x.yaml:31:9: constraint min_amount <= max_amount fails"),
        _c("PK307", "expr", "absence test on something that is never absent", "x.yaml:20:11: 'annual_rate' is not data: only data paths may be absent"),
        _c("PK401", "graph", "dependency cycle", "x.yaml:20:9: steps a -> b -> a form a cycle"),
        _c("PK402", "graph", "no provider", "x.yaml:20:9: step 'open' needs 'kyc.status' and no step provides it"),
        _c("PK403", "graph", "two steps write the same data", "x.yaml:20:9: 'kyc.status' is written by 'kyc' and 'kyc2'"),
        _c("PK404", "graph", "input not produced on every path", "x.yaml:20:9: 'score' is not produced when step 'credit' is skipped"),
        _c("PK405", "graph", "producer and consumer types disagree", "x.yaml:20:9: 'kyc.status' is string here, enum there"),
        _c("PK406", "graph", "step can never run", "x.yaml:20:9: step 'x' runs only after a step that always ends the flow"),
        _c("PK407", "graph", "conflicting components", "x.yaml:20:9: 'aml.v1' conflicts with 'aml.v2'"),
        _c("PK408", "graph", "output nobody uses", "x.yaml:20:9: output 'kyc.score' of step 'kyc' is never used"),
        _c("PK409", "graph", "channel does not collect a required value", "x.yaml:20:9: on 'counter' nothing collects 'applicant.email'"),
        _c("PK410", "graph", "missing capability", "x.yaml:20:9: step 'open' requires capability 'kyc' that no step provides"),
        _c("PK411", "graph", "a step's retry, timeout or assignment binds a parameter of the wrong type or out of bounds",
           "x.yaml:14:35: max_attempts binds parameter 'fee_rate' of type percent, expected integer"),
        _c("PK412", "graph", "retry, timeout, assignment or productkit.failed on a step of the wrong kind",
           "x.yaml:13:5: step 'kyc' sets assignment, but it is a service step"),
        _c("PK413", "graph", "finally step misused (not a service step, routed, ordered, or its outputs read)",
           "x.yaml:20:11: step 'reject' reads notice.id, written by the finally step 'tell-partner'"),
        _c("PK414", "graph", "eligibility rule reads a value not known when the application starts",
           "x.yaml:18:11: eligibility rule 'verified' reads kyc.status, written by step(s) 'kyc'"),
        _c("PK415", "graph", "a screen shows a name the product does not have",
           "x.yaml:17:10: screen 'confirm' shows quote.rte, but no data of that name exists"),
        _c("PK501", "build", "cannot express in target", "x.yaml:20:9: BPMN target cannot express ..."),
        _c("PK502", "build", "cannot write output", "build/: cannot write: disk full"),
        _c("PK503", "build", "business calendar cannot resolve a date", "x.yaml:6:9: no business day within 60 days of T"),
        _c("PK504", "build", "build output fails its own check (definition round trip, form meta-schema, BPMN XSD)", "bpmn/x@1.0.0.bpmn: fails the BPMN 2.0 XML Schema"),
        _c("PK505", "build", "output folder refused (not new and not a productkit build)", "products: exists and is not a productkit build"),
        _c("PK506", "build", "selection matches no product", "--select 'deposit.tim-*' matches no product"),
        _c("PK507", "build", "a file of the previous build no longer matches its seal; compiled again", "x@1.0.0: a file of the previous build was edited"),
        _c("PK508", "build", "content changed without a version bump", "products/x.yaml: Product x@1.0.0 changed since the previous build without a new version"),
        _c("PK509", "build", "a change outside the classes the release gate allows", "build: x@1.0.0 is a code change, and this build allows only configuration"),
        _c("PK510", "build", "docs: a file of the build is missing, not JSON, or not of the shape its manifest says", "build/forms/x@1.0.0/amount.web.json: cannot read: no such file"),
        _c("PK511", "build", "docs: a product of the build is not in the catalogue given", "build/manifest.json: x@1.0.0 is not in the catalogue at ., its page shows no bounds, lines or scenarios"),
        _c("PK512", "build", "docs: cannot write the site", "site/: cannot write: disk full"),
        _c("PK513", "build", "a catalogue file changed while the build read it; nothing written", "products/x.yaml changed during the build"),
        _c("PK601", "runtime", "build missing or incomplete", "build/: no readable manifest.json"),
        _c("PK602", "runtime", "manifest malformed", "build/manifest.json: products is not a list"),
        _c("PK603", "runtime", "manifest digest does not match its products", "build/manifest.json: digest mismatch"),
        _c("PK604", "runtime", "file named by the manifest is missing or outside the build", "build/definitions/x@1.0.0.json: missing"),
        _c("PK605", "runtime", "definition malformed", "build/definitions/x@1.0.0.json: not a workflow definition"),
        _c("PK606", "runtime", "definition digest does not match", "build/definitions/x@1.0.0.json: content was edited"),
        _c("PK607", "runtime", "manifest entry disagrees with its definition", "build/manifest.json: channels differ"),
        _c("PK608", "runtime", "form malformed", "build/forms/x@1.0.0/apply.mobile.json: not a JSON Schema"),
        _c("PK609", "runtime", "definition is not executable", "build/definitions/x@1.0.0.json: goto to an earlier step"),
        _c("PK610", "runtime", "product version listed twice", "build/manifest.json: x@1.0.0 twice"),
        _c("PK611", "runtime", "file content does not match the manifest's seal", "build/forms/x@1.0.0/apply.web.json: edited after the build"),
        _c("PK612", "runtime", "build is not signed but trusted keys were given", "build/manifest.sig: the build is not signed"),
        _c("PK613", "runtime", "build signature invalid or by an untrusted key", "build/manifest.sig: the manifest changed after signing"),
        _c("PK614", "runtime", "file in the build the manifest does not seal", "build/definitions/extra.json: not sealed by its manifest"),
        _c("PK615", "runtime", "worker has no definition with the application's digest", "PK615: this worker has no definition of x@1.0.0 with digest sha256:...; the application waits"),
        _c("PK620", "open API", "no API key, or a key that is not valid (401)", "send the partner's API key as 'Authorization: Bearer <key>'"),
        _c("PK621", "open API", "no such product or application for this partner (404)", "no application 'e686…' for this partner"),
        _c("PK622", "open API", "the product is not on sale on the open API today (409)", "deposit.x is not on sale on open-api on 2026-12-06"),
        _c("PK623", "open API", "the applicant is not eligible (422; `rules` lists them)", "not eligible for wallet.partner-ewallet: You must be 16 or over"),
        _c("PK624", "open API", "the payload does not fit the product (422; `errors` has each field's path)", "deposit.amount: 20000.001 has more than 2 decimal places"),
        _c("PK625", "open API", "the application is not waiting for this step, or has ended (409)", "application e686… is not waiting for step 'order'"),
        _c("PK626", "open API", "rate limit used up (429 with `Retry-After`)", "at most 120 requests per minute"),
        _c("PK627", "open API", "request body too large (413)", "the body may hold at most 65536 bytes"),
        _c("PK628", "open API", "Idempotency-Key reused with a different request (422)", "this Idempotency-Key was used with another request"),
        _c("PK629", "open API", "a handler the product needs is not registered (503)", "deposit.x@1.0.0 needs handlers that are not registered: ..."),
        _c("PK630", "open API", "the request body is not a JSON object (400)", "the body is a JSON list, expected an object"),
        _c("PK631", "open API", "the request body is not `application/json` (415)", "the body must be application/json, not text/plain"),
        _c("PK632", "open API", "the product's build files fail verification (503); the product is not served", "this product cannot be served now: its build files fail verification"),
        _c("PK701", "scenario", "service step reached without a stub", "x.scenario.yaml:5:9: scenario 'approved' reaches service step 'kyc' and gives it no result"),
        _c("PK702", "scenario", "step unknown to the product, or of another kind", "x.scenario.yaml:12:7: the product has no service step 'kcy'; did you mean 'kyc'?"),
        _c("PK703", "scenario", "stub does not fit what the component declares", "x.scenario.yaml:12:24: kyc.status = ok: not one of passed, failed"),
        _c("PK704", "scenario", "unknown scenario or rule named in a scenario", "x.scenario.yaml:9:11: scenario 'aproved' is not in this file"),
        _c("PK705", "scenario", "a change to the product that no scenario notices (surviving mutant)", "x.yaml:40:11: negating the condition of step 'reject-score': every scenario still passes"),
        _c("PK900", "internal", "internal error", "productkit hit an internal error; please report it"),
    ]
)
CODES: dict[str, Code] = dict(_TABLE)  # one meaning per code: tests/test_docs.py checks none is there twice
