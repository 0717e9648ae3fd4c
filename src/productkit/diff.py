"""What changed between two builds, and its class: the basis of T+1 change governance.

Each side is a set of compiled workflow definitions (a build folder, a git ref built into a
temporary folder, or the products a build is about to write). Product versions are paired by
id: the same version on both sides, else a new version with the newest earlier one. Every
change gets one of four classes, from the least to the most demanding:

* ``configuration``: parameter values, labels and texts, effective dates (a build only holds
  values within the bounds its lines and dictionaries declare): ships T+1, no code, no new journey;
* ``assembly``: steps, rules, conditions, derived values, forms, channels, parameters added or
  removed, component versions: ships by configuration, but scenarios must pass and a reviewer
  signs off;
* ``code``: needs software: a handler no product of the base used, a component's major version,
  a value type or an output target the base did not have;
* ``breaking``: applications in flight on the base cannot finish as started: the content of a
  version changed under them (they are pinned to versions), a screen or wait step they may wait
  at removed or its form changed, or the product withdrawn. A new version is not breaking: its
  applications start on it, and the previous version's finish on that one while the build keeps
  it (``build --keep-versions``).

A product's class is the most demanding of its changes' classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import semantic_version

from .ir import FieldDef, Label, ParamValue, Step, WorkflowDefinition
from .types import TYPE_NAMES

__all__ = ["ORDER", "Added", "Change", "ChangeClass", "Diff", "ProductDiff", "SharedDiff", "Side", "Uses", "diff",
           "handlers_of"]


class ChangeClass(StrEnum):
    CONFIGURATION = "configuration"
    ASSEMBLY = "assembly"
    CODE = "code"
    BREAKING = "breaking"


ORDER = (ChangeClass.CONFIGURATION, ChangeClass.ASSEMBLY, ChangeClass.CODE, ChangeClass.BREAKING)


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a product: ``kind`` says what (``parameter``, ``step-added``, ...),
    ``subject`` which one, ``why`` the rule that gave it its class."""

    kind: str
    subject: str
    cls: ChangeClass
    why: str
    before: Any = None
    after: Any = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "class": str(self.cls), "why": self.why,
                "before": self.before, "after": self.after, **({"detail": dict(self.detail)} if self.detail else {})}


@dataclass(frozen=True, slots=True)
class ProductDiff:
    id: str
    version: str  # the version on the head side (the base version when removed)
    base_version: str | None
    changes: tuple[Change, ...]
    name: Label | None = None
    effective: str | None = None  # the head version's first day, T+n resolved
    effective_as_written: str | None = None  # e.g. T+1

    @property
    def cls(self) -> ChangeClass:
        return max((c.cls for c in self.changes), key=ORDER.index, default=ChangeClass.CONFIGURATION)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "base_version": self.base_version, "class": str(self.cls),
                "effective": self.effective, "effective_as_written": self.effective_as_written,
                "changes": [c.to_json() for c in self.changes]}


@dataclass(frozen=True, slots=True)
class SharedDiff:
    """A component or product line whose version in the products' locks changed."""

    kind: str  # component | line
    id: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    products: tuple[str, ...]
    cls: ChangeClass

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "before": list(self.before), "after": list(self.after),
                "products": list(self.products), "class": str(self.cls)}


@dataclass(frozen=True, slots=True)
class Diff:
    products: tuple[ProductDiff, ...]
    components: tuple[SharedDiff, ...]
    lines: tuple[SharedDiff, ...]

    def to_json(self) -> dict[str, Any]:
        return {"products": [p.to_json() for p in self.products],
                "components": [c.to_json() for c in self.components],
                "lines": [line.to_json() for line in self.lines]}


# A product version's components (id -> version) and lines (id@version).
Uses = tuple[Mapping[str, str], Sequence[str]]


@dataclass(frozen=True, slots=True)
class Added:
    """What the comparison needs of a product version that is new to the base, when it is known
    without loading its definition (a build's manifest entry): its name, its first day as
    resolved and as written, and every handler it calls. The value types it uses are
    not here: they are compared only with a base that says which types it knew."""

    name: Label
    effective: tuple[str | None, str | None]  # the first day, and the day as written (e.g. T+1)
    handlers: frozenset[str]


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: product versions by ``id@version``, and the output targets."""

    definitions: Mapping[str, WorkflowDefinition]
    targets: frozenset[str] = frozenset()
    handlers: frozenset[str] | None = None  # every handler of the side, when not all definitions are given
    types: frozenset[str] | None = None  # the value types the productkit that built the side knew
    uses: Mapping[str, Uses] | None = None  # components and lines per definition, when known without loading it
    added: Mapping[str, Added] | None = None  # per definition, what a new product's diff needs of it


def diff(base: Side, head: Side, kept: frozenset[str] = frozenset()) -> Diff:
    """Every product change from ``base`` to ``head``. ``kept``: base versions the head build
    keeps for applications in flight (they do not leave)."""
    context = _Context(base, head)
    products = [p for p in _products(base, head, context, kept) if p.changes]
    return Diff(tuple(products), tuple(_shared(base, head, "component")), tuple(_shared(base, head, "line")))


class _Context:
    """What the base had as a whole: handlers, value types and targets (new ones need code)."""

    def __init__(self, base: Side, head: Side) -> None:
        self.handlers = set(base.handlers or ())
        self.handlers |= {s.handler for d in base.definitions.values() for s in d.steps.values() if s.handler}
        self.handlers |= {s.compensation.handler for d in base.definitions.values() for s in d.steps.values()
                          if s.compensation is not None}
        self.types = set(base.types) if base.types is not None else set(TYPE_NAMES)
        self.new_targets = sorted(head.targets - base.targets) if base.definitions else []


def _types(defn: WorkflowDefinition) -> set[str]:
    out = {p.type.split(":")[0] for p in defn.parameters.values()}
    out |= {f.type for f in [*defn.data.values(), *defn.context.values()]}
    return out


def _by_id(side: Side) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in side.definitions:
        pid, version = key.rsplit("@", 1)
        out.setdefault(pid, []).append(version)
    for versions in out.values():
        versions.sort(key=semantic_version.Version)
    return out


def _products(base: Side, head: Side, ctx: _Context, kept: frozenset[str]) -> Iterator[ProductDiff]:
    before, after = _by_id(base), _by_id(head)
    for pid in sorted(set(before) | set(after)):
        olds, news = before.get(pid, []), after.get(pid, [])
        for version in news:
            earlier = [v for v in olds if semantic_version.Version(v) <= semantic_version.Version(version)]
            paired = earlier[-1] if earlier else None
            yield _pair(pid, version, paired, base, head, ctx)
        for version in olds:
            if version not in news and f"{pid}@{version}" not in kept:
                yield _retired(pid, version, news, base)


def _pair(pid: str, version: str, paired: str | None, base: Side, head: Side, ctx: _Context) -> ProductDiff:
    if paired is None:
        return _added(pid, version, base, head, ctx)
    new = head.definitions[f"{pid}@{version}"]
    old = base.definitions[f"{pid}@{paired}"]
    same = paired == version
    if same and old.digest == new.digest:
        return ProductDiff(pid, version, paired, (), new.name, *_effective(new))
    changes = _unique(_compare(old, new, same))
    changes += _code_needs(new, ctx)
    if same and changes:
        changes.append(Change("version-not-bumped", f"{pid}@{version}", ChangeClass.BREAKING,
                              "the content changed under applications in flight, which are pinned to this "
                              "version: give the change a new version", detail={"base_digest": old.digest,
                                                                               "digest": new.digest}))
    return ProductDiff(pid, version, paired, tuple(changes), new.name, *_effective(new))


def _added(pid: str, version: str, base: Side, head: Side, ctx: _Context) -> ProductDiff:
    """A product the base does not have: what it needs of channel services, from what the head
    knows of it without loading it when that is enough (a base that names no value types knew
    every type there is: only the handlers can be new)."""
    changes = [Change("product-added", pid, ChangeClass.ASSEMBLY, "a new product is a new journey: "
                      "its scenarios and a reviewer pass it", after=version)]
    known = head.added.get(f"{pid}@{version}") if head.added is not None and base.types is None else None
    if known is not None:
        changes += _needs(known.handlers, set(), ctx)  # every type was known
        return ProductDiff(pid, version, None, tuple(changes), known.name, *_dates(*known.effective))
    new = head.definitions[f"{pid}@{version}"]
    changes += _code_needs(new, ctx)
    return ProductDiff(pid, version, None, tuple(changes), new.name, *_effective(new))


def _effective(defn: WorkflowDefinition) -> tuple[str | None, str | None]:
    return _dates(defn.effective.from_, defn.effective.from_source)


def _dates(start: str | None, written: str | None) -> tuple[str | None, str | None]:
    """A version's first day, and how it was written when that differs (T+1)."""
    return start, written if written != start else None


def _unique(changes: Iterator[Change]) -> list[Change]:
    """Each change once: a step that binds a product parameter repeats the product's change."""
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for change in changes:
        key = (change.kind, change.subject, repr(change.before), repr(change.after))
        if key not in seen:
            seen.add(key)
            out.append(change)
    return out


def _retired(pid: str, version: str, news: list[str], base: Side) -> ProductDiff:
    """A base version the head does not have: replaced by a newer one (applications in flight
    finish on it while the build keeps it), or the product withdrawn."""
    old = base.definitions[f"{pid}@{version}"]
    if news:
        change = Change("version-retired", f"{pid}@{version}", ChangeClass.CONFIGURATION,
                        f"replaced by {news[-1]}: applications in flight on {version} finish on it only while "
                        "the build keeps it (build --keep-versions)", before=version, after=news[-1])
    else:
        change = Change("product-removed", f"{pid}@{version}", ChangeClass.BREAKING,
                        "applications in flight cannot finish once the product leaves the build", before=version)
    return ProductDiff(pid, version, version, (change,), old.name, None)


def handlers_of(defn: WorkflowDefinition) -> list[str]:
    """Every handler a product version calls (steps and compensations)."""
    found = {s.handler for s in defn.steps.values() if s.handler}
    found |= {s.compensation.handler for s in defn.steps.values() if s.compensation is not None}
    return sorted(found)


def _code_needs(new: WorkflowDefinition, ctx: _Context) -> list[Change]:
    return _needs(set(handlers_of(new)), _types(new), ctx)


def _needs(handlers: set[str] | frozenset[str], types: set[str], ctx: _Context) -> list[Change]:
    out = [Change("handler-needed", handler, ChangeClass.CODE, "no product of the base calls this handler: "
                  "channel services need new code before it ships", after=handler)
           for handler in sorted(handlers - ctx.handlers)]
    for kind in sorted(types - ctx.types):
        out.append(Change("type-needed", kind, ChangeClass.CODE, "a value type the productkit of the base did not "
                          "have: channel services need the new productkit", after=kind))
    for target in ctx.new_targets:
        out.append(Change("target-needed", target, ChangeClass.CODE, "an output target the base did not write",
                          after=target))
    return out


def _compare(old: WorkflowDefinition, new: WorkflowDefinition, same: bool) -> Iterator[Change]:
    yield from _texts(old, new)
    yield from _parameters(old.parameters, new.parameters)
    yield from _steps(old, new, same)
    yield from _logic(old, new)
    yield from _lock(old, new)


def _label(label: Label | None) -> dict[str, str] | None:
    return None if label is None else {"zh-CN": label.zh_CN, "en": label.en}


def _texts(old: WorkflowDefinition, new: WorkflowDefinition) -> Iterator[Change]:
    cfg = ChangeClass.CONFIGURATION
    if old.name != new.name:
        yield Change("label", "name", cfg, "a label: no code, no new journey", _label(old.name), _label(new.name))
    if old.description != new.description:
        yield Change("label", "description", cfg, "a text", old.description, new.description)
    if old.effective != new.effective:
        yield Change("effective", "effective", cfg, "effective dates are configuration",
                     old.effective.model_dump(by_alias=True), new.effective.model_dump(by_alias=True))
    for channel in sorted(set(old.channels) ^ set(new.channels)):
        kind = "channel-added" if channel in new.channels else "channel-removed"
        yield Change(kind, channel, ChangeClass.ASSEMBLY, "a channel is a new or withdrawn journey")


def _source(pv: ParamValue) -> str | None:
    return pv.provenance[-1].source if pv.provenance else None


def _parameters(old: Mapping[str, ParamValue], new: Mapping[str, ParamValue]) -> Iterator[Change]:
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            kind = "parameter-added" if a is None else "parameter-removed"
            yield Change(kind, name, ChangeClass.ASSEMBLY, "the product's parameters changed shape",
                         None if a is None else a.value, None if b is None else b.value)
        elif a.type != b.type:
            yield Change("parameter-type", name, ChangeClass.ASSEMBLY, "a parameter changed type", a.type, b.type)
        elif a.value != b.value or a.locked != b.locked:
            yield Change("parameter", name, ChangeClass.CONFIGURATION, "a parameter value within its declared "
                         "bounds", a.value, b.value, {"type": b.type, "unit": b.unit, "currency": b.currency,
                                                      "title": _label(b.title), "from": _source(a), "by": _source(b)})
        elif a.schedule != b.schedule:
            yield Change("parameter-schedule", name, ChangeClass.CONFIGURATION, "dated values (a campaign) within "
                         "the parameter's declared bounds", _windows(a), _windows(b))
        elif a.title != b.title:
            yield Change("label", name, ChangeClass.CONFIGURATION, "a label", _label(a.title), _label(b.title))


def _windows(pv: ParamValue) -> str:
    return "; ".join(f"{s.value} from {s.from_}" + (f" until {s.until}" if s.until else "") for s in pv.schedule) \
        or "none"


def _steps(old: WorkflowDefinition, new: WorkflowDefinition, same: bool) -> Iterator[Change]:
    for sid in sorted(set(old.steps) - set(new.steps)):
        step = old.steps[sid]
        waits = same and step.kind in ("user", "wait")
        yield Change("step-removed", sid, ChangeClass.BREAKING if waits else ChangeClass.ASSEMBLY,
                     "applications in flight may be waiting at it" if waits else "the journey changed",
                     before=_label(step.title))
    for sid in sorted(set(new.steps) - set(old.steps)):
        yield Change("step-added", sid, ChangeClass.ASSEMBLY, "the journey changed", after=_label(new.steps[sid].title))
    common = [s for s in _order(old) if s in new.steps]
    if common != [s for s in _order(new) if s in old.steps]:
        yield Change("steps-reordered", "flow", ChangeClass.ASSEMBLY, "the journey changed", common,
                     [s for s in _order(new) if s in old.steps])
    finals = [s for s in old.finally_steps if s in new.steps], [s for s in new.finally_steps if s in old.steps]
    if finals[0] != finals[1]:
        yield Change("steps-reordered", "finally_steps", ChangeClass.ASSEMBLY, "the steps run on every outcome changed",
                     *finals)
    for sid in sorted(set(old.steps) & set(new.steps)):
        yield from _step(old.steps[sid], new.steps[sid], same)


def _order(defn: WorkflowDefinition) -> list[str]:
    out: list[str] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, str):
                out.append(item)
            else:
                for branch in item.parallel:
                    walk(branch)

    walk(list(defn.flow))
    return out


def _step(a: Step, b: Step, same: bool) -> Iterator[Change]:
    title = {"title": _label(b.title)}
    if a.title != b.title or a.message != b.message:
        yield Change("label", a.id, ChangeClass.CONFIGURATION, "a label", _label(a.title), _label(b.title), title)
    if (a.when.cel if a.when else None) != (b.when.cel if b.when else None):
        yield Change("condition", a.id, ChangeClass.ASSEMBLY, "a condition decides the journey",
                     a.when.cel if a.when else None, b.when.cel if b.when else None, title)
    for channel in sorted(set(a.channels) | set(b.channels)):
        yield from _form(a, b, channel, same)
    shape = ("kind", "handler", "errors", "retry", "timeout", "compensation", "critical", "duration", "outcome",
             "candidate_groups", "due")
    changed = [f for f in shape if getattr(a, f) != getattr(b, f)]
    if changed:
        yield Change("step", a.id, ChangeClass.ASSEMBLY, f"the step's behaviour changed ({', '.join(changed)})",
                     detail=title)
    for name in sorted(set(a.parameters) | set(b.parameters)):
        if a.parameters.get(name) != b.parameters.get(name):
            yield from _parameters({name: a.parameters[name]} if name in a.parameters else {},
                                   {name: b.parameters[name]} if name in b.parameters else {})


def _fields(step: Step, channel: str) -> dict[str, FieldDef]:
    if step.kind != "user" or channel not in step.channels:
        return {}
    return {p: f for p, f in step.fields.items() if f.channels is None or channel in f.channels}


def _form(a: Step, b: Step, channel: str, same: bool) -> Iterator[Change]:
    before, after = _fields(a, channel), _fields(b, channel)
    if before == after:
        return
    strip = ("label", "placeholder", "help", "value_labels")
    labels_only = set(before) == set(after) and all(
        before[p].model_copy(update=dict.fromkeys(strip)) == after[p].model_copy(update=dict.fromkeys(strip))
        for p in before)
    if labels_only:
        yield Change("form-labels", f"{a.id}.{channel}", ChangeClass.CONFIGURATION, "labels of a screen",
                     detail={"title": _label(b.title), "channel": channel,
                             "changed": sorted(p for p in before if before[p] != after[p])})
        return
    in_flight = same and channel in a.channels  # a screen new on this channel has no one waiting at it
    cls, why = (ChangeClass.BREAKING, "the form changed under applications in flight at this screen") if in_flight \
        else (ChangeClass.ASSEMBLY, "a screen's fields or bounds changed")
    detail = {"title": _label(b.title), "channel": channel, "added": sorted(set(after) - set(before)),
              "removed": sorted(set(before) - set(after)),
              "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p])}
    yield Change("form", f"{a.id}.{channel}", cls, why, detail=detail)


def _logic(old: WorkflowDefinition, new: WorkflowDefinition) -> Iterator[Change]:
    rules_a = {r.id: (r.kind, r.condition.cel) for r in old.rules}
    rules_b = {r.id: (r.kind, r.condition.cel) for r in new.rules}
    for rid in sorted(set(rules_a) | set(rules_b)):
        if rules_a.get(rid) != rules_b.get(rid):
            yield Change("rule", rid, ChangeClass.ASSEMBLY, "a rule decides who may apply",
                         rules_a.get(rid, (None, None))[1], rules_b.get(rid, (None, None))[1])
    msgs_a = {r.id: r.message for r in old.rules}
    for rule in new.rules:
        if rule.id in msgs_a and rules_a.get(rule.id) == rules_b.get(rule.id) and msgs_a[rule.id] != rule.message:
            yield Change("label", f"rule {rule.id}", ChangeClass.CONFIGURATION, "a rule's message",
                         _label(msgs_a[rule.id]), _label(rule.message))
    derived_a = {n: d.condition.cel for n, d in old.derived.items()}
    derived_b = {n: d.condition.cel for n, d in new.derived.items()}
    for name in sorted(set(derived_a) | set(derived_b)):
        if derived_a.get(name) != derived_b.get(name):
            yield Change("derived", name, ChangeClass.ASSEMBLY, "a derived value's formula",
                         derived_a.get(name), derived_b.get(name))


def _major(version: str) -> int:
    return int(semantic_version.Version(version).major)


def _lock(old: WorkflowDefinition, new: WorkflowDefinition) -> Iterator[Change]:
    for cid in sorted(set(old.components) | set(new.components)):
        a, b = old.components.get(cid), new.components.get(cid)
        if a == b or a is None or b is None:
            continue  # a component used or dropped shows as its steps
        major = _major(a) != _major(b)
        yield Change("component", cid, ChangeClass.CODE if major else ChangeClass.ASSEMBLY,
                     "a component's major version may need new code" if major else "a component version", a, b)


def _shared(base: Side, head: Side, kind: str) -> Iterator[SharedDiff]:
    def versions(side: Side) -> dict[str, dict[str, set[str]]]:
        out: dict[str, dict[str, set[str]]] = {}
        for key in side.definitions:
            components, lines = side.uses[key] if side.uses is not None and key in side.uses else (
                side.definitions[key].components, side.definitions[key].lines)
            pairs = components.items() if kind == "component" else (tuple(line.rsplit("@", 1)) for line in lines)
            for sid, version in pairs:
                out.setdefault(sid, {}).setdefault(version, set()).add(key)
        return out

    before, after = versions(base), versions(head)
    for sid in sorted(set(before) | set(after)):
        olds, news = set(before.get(sid, {})), set(after.get(sid, {}))
        if olds == news or not olds or not news:
            continue
        products = sorted(set().union(*(after[sid][v] for v in news - olds)))
        major = {_major(v) for v in olds} != {_major(v) for v in news}
        yield SharedDiff(kind, sid, tuple(sorted(olds)), tuple(sorted(news)), tuple(products),
                         ChangeClass.CODE if major and kind == "component" else ChangeClass.ASSEMBLY)
