"""What the site shows, gathered once: the build (manifest, definitions, the form files as a
channel receives them) and, from the catalogue's sources, the bounds of each parameter, the
lines, components and dictionaries with who uses them, and the scenarios with their coverage."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, Location, Severity
from ..ir import expanded
from ..options import Options
from ..validate import validate

__all__ = ["Doc", "ProductData", "SiteData", "collect"]

_BOUNDS = ("min", "max", "step", "values", "min_length", "max_length", "min_items", "max_items", "pattern")


@dataclass(slots=True)
class ProductData:
    """One product version as built, with what the sources add."""

    key: str  # id@version
    entry: dict[str, Any]  # the manifest's entry
    definition: dict[str, Any]
    forms: dict[str, dict[str, dict[str, Any]]]  # step -> channel -> the built form
    bounds: dict[str, dict[str, Any]] = field(default_factory=dict)  # parameter -> its bounds
    chain: list[str] = field(default_factory=list)  # lines it extends, nearest first (id@version)
    change: dict[str, Any] | None = None  # the manifest's change entry (class, kinds)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] | None = None


@dataclass(slots=True)
class Doc:
    """A component, line or dictionary of the catalogue, and the products that use it."""

    kind: str
    id: str
    version: str
    title: Any
    file: str
    facts: list[tuple[str, str]] = field(default_factory=list)  # (what, value) shown as a table
    entries: list[tuple[str, Any, str]] = field(default_factory=list)  # (name, title, detail)
    used_by: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(slots=True)
class SiteData:
    """Everything the pages are written from."""

    manifest: dict[str, Any]
    products: list[ProductData]
    docs: list[Doc]
    diagnostics: list[Diagnostic] = field(default_factory=list)


def collect(build_dir: Path, root: Path | None, scenarios: bool = True) -> SiteData:
    """Read the build in ``build_dir``; with the catalogue ``root``, add what only the sources say.

    A file of the build that cannot be read is a PK510 and leaves out what it holds; a product
    the sources do not have is a PK511 (its page shows what the build says)."""
    out: list[Diagnostic] = []
    manifest = _read(build_dir / "manifest.json", out)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("products"), list):
        if manifest is not None:
            out.append(Diagnostic("PK510", "not a productkit manifest (no list of products)",
                                  Location(str(build_dir / "manifest.json"))))
        return SiteData({}, [], [], out)
    products = [p for e in manifest["products"] if (p := _product(build_dir, e, manifest, out)) is not None]
    docs: list[Doc] = []
    if root is not None:
        docs = _sources(root, products, build_dir, out)
        if scenarios:
            _scenarios(root, products)
    return SiteData(manifest, sorted(products, key=lambda p: p.key), sorted(docs, key=lambda d: (d.kind, d.key)), out)


def _read(path: Path, out: list[Diagnostic]) -> Any:
    """The JSON of ``path``, or None with a PK510."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        out.append(Diagnostic("PK510", f"cannot read: {getattr(exc, 'strerror', None) or exc}", Location(str(path))))
    except ValueError as exc:
        out.append(Diagnostic("PK510", f"not JSON: {exc}", Location(str(path))))
    return None


def _product(build_dir: Path, entry: Any, manifest: Mapping[str, Any], out: list[Diagnostic]) -> ProductData | None:
    where = Location(str(build_dir / "manifest.json"))
    try:
        key, rel = f'{entry["id"]}@{entry["version"]}', str(entry["definition"])
        by_step = {str(step): {str(ch): str(f) for ch, f in by.items()} for step, by in entry.get("forms", {}).items()}
    except (KeyError, TypeError, AttributeError):
        out.append(Diagnostic("PK510", f"a product entry is not of the manifest's shape: {str(entry)[:80]}", where))
        return None
    definition = _read(build_dir / rel, out)
    if not isinstance(definition, dict):
        return None
    # The file leaves out fields equal to their defaults, which the pages read; a definition of
    # another format is shown as it is.
    with contextlib.suppress(ValueError):
        definition = expanded(definition)
    forms = {step: {ch: form for ch, f in sorted(by.items()) if isinstance(form := _read(build_dir / f, out), dict)}
             for step, by in sorted(by_step.items())}
    change = next((c for c in manifest.get("changes", {}).get("products", [])
                   if c.get("id") == entry["id"] and c.get("version") == entry["version"]), None)
    return ProductData(key, dict(entry), definition, forms, change=change)


def _sources(root: Path, products: list[ProductData], build_dir: Path, out: list[Diagnostic]) -> list[Doc]:
    result = validate([root], Options())
    ctx = result.context
    by_key = {p.key: p for p in products}
    used: dict[str, set[str]] = {}
    for (kind, pid, version), asm in (ctx.assemblies.items() if ctx else []):
        p = by_key.pop(f"{pid}@{version}", None)
        if kind != "Product" or p is None:
            continue
        rp = asm.product
        p.chain = [f"{e.model.id}@{e.model.version}" for e in rp.chain]
        p.bounds = {n: _bounds(rp_param.spec) for n, rp_param in rp.params.items()}
        _uses(used, p, rp)
    for key in sorted(by_key):
        out.append(Diagnostic("PK511", f"{key} is not in the catalogue at {root}, its page shows no bounds, lines "
                              "or scenarios", Location(str(build_dir / "manifest.json")), Severity.WARNING,
                              hint="give the catalogue the build was made from with --catalogue"))
    return [_doc(e, used) for kind in ("ProcessComponent", "UIComponent", "ProductLine", "ParameterDictionary",
                                       "DataDictionary") for e in result.catalog.kind(kind)]


def _bounds(spec: Any) -> dict[str, Any]:
    return {b: getattr(spec, b) for b in _BOUNDS if getattr(spec, b, None) not in (None, [])}


def _uses(used: dict[str, set[str]], p: ProductData, rp: Any) -> None:
    """Record which documents ``p`` uses: its lines, components, parameter and data dictionaries."""
    for e in [*rp.chain, *(rs.component for rs in rp.steps if rs.component is not None)]:
        used.setdefault(f"{e.model.kind}:{e.model.id}@{e.model.version}", set()).add(p.key)
    params = [*rp.params.values(), *(q for rs in rp.steps for q in rs.params.values())]
    for q in params:
        used.setdefault(f"param:{q.spec.ref or q.name}", set()).add(p.key)
    for path in (*p.definition.get("data", {}), *p.definition.get("context", {})):
        used.setdefault(f"data:{path}", set()).add(p.key)


def _doc(entry: Any, used: dict[str, set[str]]) -> Doc:
    m = entry.model
    doc = Doc(m.kind, m.id, m.version, getattr(m, "title", None) or getattr(m, "name", None), entry.file)
    who = set(used.get(f"{m.kind}:{m.id}@{m.version}", ()))
    if m.kind == "ParameterDictionary":
        for name, spec in sorted(m.parameters.items()):
            doc.entries.append((name, spec.title, _spec_text(spec)))
            who |= used.get(f"param:{name}", set())
    elif m.kind == "DataDictionary":
        for path, spec in sorted(m.data.items()):
            doc.entries.append((path, getattr(spec, "title", None) or getattr(spec, "label", None), _spec_text(spec)))
            who |= used.get(f"data:{path}", set())
    else:
        doc.facts, doc.entries = _facts(m), _component_entries(m)
    doc.used_by = sorted(who)
    return doc


def _spec_text(spec: Any) -> str:
    parts = [str(spec.type or f"ref {spec.ref}")]
    parts += [f"{b} {v}" for b, v in _bounds(spec).items()]
    return ", ".join(parts)


def _facts(m: Any) -> list[tuple[str, str]]:
    facts = [(k, str(getattr(m, k))) for k in ("task", "handler", "extends", "timeout") if getattr(m, k, None)]
    if getattr(m, "channels", None):
        facts.append(("channels", ", ".join(m.channels)))
    if getattr(m, "compensation", None):
        facts.append(("compensation", m.compensation.handler))
    if getattr(m, "wait", None):
        facts.append(("wait", m.wait.duration))
    for err in getattr(m, "errors", []) or []:
        facts.append(("error", err.code))
    return facts


def _component_entries(m: Any) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    for group in ("parameters", "fields", "inputs", "outputs"):
        for name, spec in sorted((getattr(m, group, None) or {}).items()):
            title = getattr(spec, "title", None) or getattr(spec, "label", None)
            out.append((name, title, f"{group}: " + _spec_text(spec) if hasattr(spec, "type") else group))
    return out


def _scenarios(root: Path, products: list[ProductData]) -> None:
    from ..scenario_report import RunRequest, run_tests

    report = run_tests(RunRequest(root, coverage=True, format="json"), io.StringIO())
    by_key = {p.key: p for p in products}
    for r in report.results:
        p = by_key.get(f"{r.product}@{r.version}") if r.version else None
        p = p or next((q for q in products if q.entry["id"] == r.product), None)
        if p is not None:
            p.scenarios.append({"name": r.scenario, "channel": r.channel, "outcome": r.outcome, "passed": r.passed,
                                "steps": list(r.steps), "compensated": list(r.compensated)})
    for cov in report.coverage:
        for p in products:
            if p.entry["id"] == cov.product or p.key == cov.product:
                p.coverage = cov.to_json()
