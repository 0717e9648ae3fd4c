"""A realistic synthetic catalogue at any scale, deterministic for a seed.

    python -m bench.generate --scale 1 --out .bench/catalogue --seed 1

Scale 1 is 3,500 ProcessComponents, 500 UIComponents, 4,300 dictionary parameters (in several
ParameterDictionary documents) and 1,000 Products, plus the ProductLines they extend (chains of
one to three lines, each narrowing or locking its parents' parameters). Components come in
several versions (products pick them with ^, ~ and >= ranges; old majors are deprecated), steps
carry ``when`` conditions, conditional ends, error routes (to an end or to a review step),
channel restrictions and input renames; independent checks run as parallel branches; lines and
products carry eligibility and constraint rules and derived values.

Everything is built so that ``productkit validate`` reports nothing and ``productkit build``
compiles every product: the generator tracks what each product's steps read and write, which
parameters each component needs, and every lock and range along a chain. The output is the
same bytes for the same seed and scale.
"""

from __future__ import annotations

import argparse
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ._params import PDef, PState, label, narrowed, pick, render
from ._vocab import AREAS, CHANNELS, CONTEXT, FAMILIES, UI_KINDS, Area, Family, UIKind
from ._yaml import Raw, dump

__all__ = ["SCALE_1", "generate"]

API = "productkit/v1"
SCALE_1 = {"process": 3500, "ui": 500, "params": 4300, "products": 1000}
# Action components declare compensation handlers (the undo of a booking when a later step fails).
COMPENSATION = True
V = Raw  # versions, dates and durations are written plain


# ------------------------------------------------------------------ components


@dataclass
class Version:
    version: str
    deprecated: bool = False
    errors: tuple[str, ...] = ()


@dataclass
class Comp:
    id: str
    family: str  # a family key, or "shared"
    area: Area
    variant: str
    slug: str  # first segment of the data paths it writes
    inputs: list[tuple[str, dict[str, Any]]]
    outputs: list[tuple[str, dict[str, Any]]]
    params: list[tuple[str, PDef, Any]]  # local name, dictionary entry, component default
    versions: list[Version]
    n: int
    conflicts: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.area.archetype

    def usable(self) -> list[int]:
        return [i for i, v in enumerate(self.versions) if not v.deprecated]


@dataclass
class UI:
    id: str
    family: str
    kind: UIKind
    slug: str
    channels: tuple[str, ...]
    fields: list[tuple[str, dict[str, Any]]]
    versions: list[str]
    n: int


def _version_sets(rng: random.Random) -> tuple[str, list[tuple[str, bool]]]:
    roll = rng.random()
    major = rng.choice((1, 1, 1, 2, 2, 3))
    if roll < 0.80:
        return "single", [(f"{major}.{rng.randint(0, 4)}.{rng.randint(0, 3)}", False)]
    if roll < 0.88:
        return "minor", [(f"{major}.0.0", False), (f"{major}.1.0", False)]
    if roll < 0.94:
        return "major", [("1.2.0", True), ("2.0.0", False)]
    return "three", [("1.0.0", False), ("1.1.0", False), ("2.0.0", False)]


class Builder:
    """Holds the whole synthetic catalogue while it is made, then writes it."""

    def __init__(self, scale: float, seed: int) -> None:
        if scale < 0.02:
            raise SystemExit("--scale must be at least 0.02")
        self.rng = random.Random(seed)
        self.scale = scale
        self.counts = {k: max(1, round(v * scale)) for k, v in SCALE_1.items()}
        self.families = FAMILIES[:max(1, min(len(FAMILIES), round(10 * scale)))]
        self.files: dict[str, str] = {}
        self.params: dict[str, PDef] = {}
        self.family_params: dict[str, list[PDef]] = {}
        self.comps: list[Comp] = []
        self.uis: list[UI] = []
        self._n = 0

    def next_n(self) -> int:
        self._n += 1
        return self._n

    # -------------------------------------------------------------- dictionaries

    def dictionaries(self) -> None:
        total = self.counts["params"]
        core = {f.key: _core_params(f) for f in self.families}
        common = _common_params()
        bulk_total = max(0, total - sum(len(v) for v in core.values()) - len(common))
        groups = ("product", "pricing", "risk", "service")
        per_family = bulk_total // len(self.families)
        extra = bulk_total - per_family * len(self.families)
        for i, fam in enumerate(self.families):
            mine = list(core[fam.key])
            bulk = [self._bulk_param(fam, j) for j in range(per_family + (1 if i < extra else 0))]
            self.family_params[fam.key] = mine + bulk
            chunks = [mine + bulk[0::4], bulk[1::4], bulk[2::4], bulk[3::4]]
            for group, chunk in zip(groups, chunks, strict=True):
                if chunk:
                    self._write_dictionary(f"dict.{fam.key}.{group}", fam, group, chunk)
        self.family_params["shared"] = list(common)
        self._write_dictionary("dict.common", None, "common", common)
        for p in [*common, *(p for ps in self.family_params.values() for p in ps)]:
            self.params[p.name] = p

    def _bulk_param(self, fam: Family, j: int) -> PDef:
        rng = self.rng
        kind = rng.choices(("money", "percent", "integer", "enum", "boolean", "string", "duration",
                            "decimal", "date", "list"),
                           (25, 18, 20, 14, 8, 5, 4, 3, 2, 1))[0]
        concept, zh, en = rng.choice(_CONCEPTS[kind])
        name = f"{fam.key}_{concept}_{j:03d}"
        title_zh, title_en = f"{fam.zh}{zh}{j:03d}", f"{fam.en} {en} {j:03d}"
        default_roll = rng.random() < 0.35
        if kind == "money":
            hi = rng.choice((None, Decimal("100000000.00"), Decimal("1000000.00")))
            step = Decimal("100.00") if rng.random() < 0.05 else None
            lo = Decimal("0.00") if step else rng.choice((Decimal("0.00"), Decimal("0.01")))
            d = PDef(name, kind, title_zh, title_en, lo=lo, hi=hi, step=step, currency="CNY", unit="CNY",
                     narrowable=step is None)
        elif kind in ("percent", "decimal"):
            hi = rng.choice((Decimal("10"), Decimal("24"), Decimal("100")))
            d = PDef(name, kind, title_zh, title_en, lo=Decimal("0"), hi=hi, scale=4 if kind == "percent" else 2,
                     unit="%" if kind == "percent" else None)
        elif kind == "integer":
            lo_i, hi_i = rng.choice(((0, 100), (1, 360), (0, 1000), (1, 30), (0, 10)))
            d = PDef(name, kind, title_zh, title_en, lo=lo_i, hi=hi_i,
                     unit=rng.choice(("day", "month", "times", None)))
        elif kind == "enum":
            vals = rng.choice(_ENUMS)
            d = PDef(name, kind, title_zh, title_en, values=tuple(v for v, _, _ in vals), labels=tuple(vals))
        elif kind == "string":
            pattern = rng.choice(("^[A-Z]{2}[0-9]{4}$", "^[A-Z]{3}-[0-9]{4}-[0-9]{2}$", None))
            d = PDef(name, kind, title_zh, title_en, pattern=pattern,
                     min_length=None if pattern else 2, max_length=None if pattern else 40)
        elif kind == "date":
            d = PDef(name, kind, title_zh, title_en, lo="2026-01-01", hi="2030-12-31")
        elif kind == "list":
            d = PDef(name, kind, title_zh, title_en, items="integer")
        else:
            d = PDef(name, kind, title_zh, title_en)
        if default_roll:
            d = PDef(**{**d.__dict__, "default": pick(rng, PState.of(d))})
        return d

    def _write_dictionary(self, ident: str, fam: Family | None, group: str, params: list[PDef]) -> None:
        zh = (fam.zh if fam else "全行") + {"product": "产品参数", "pricing": "定价参数", "risk": "风险参数",
                                              "service": "服务参数", "common": "通用参数"}[group]
        en = (fam.en if fam else "Bank-wide") + f" {group} parameters"
        doc = {"apiVersion": API, "kind": "ParameterDictionary", "id": ident, "version": V("1.0.0"),
               "owner": fam.owner if fam else "product-office",
               "description": f"{en}: one meaning per name, bank-wide.",
               "title": label(zh, en),
               "parameters": {p.name: p.declaration() for p in params}}
        folder = fam.key if fam else "common"
        self.files[f"components/parameters/{folder}/{ident.split('.', 1)[1].replace('.', '-')}.yaml"] = dump(doc)

    # -------------------------------------------------------------- process components

    def process_components(self) -> None:
        total = self.counts["process"]
        owners = ["shared", *(f.key for f in self.families)]
        weights = [0.2] + [0.8 / len(self.families)] * len(self.families)
        budget = {o: max(12, round(total * w)) for o, w in zip(owners, weights, strict=True)}
        budget[owners[-1]] += total - sum(budget.values())
        for owner in owners:
            self._family_components(owner, budget[owner])

    def _family_components(self, owner: str, docs: int) -> None:
        rng = self.rng
        areas = [a for a in AREAS if a.shared] if owner == "shared" else list(AREAS)
        weights = {"check": 40, "score": 7, "action": 12, "follower": 12, "manual": 5, "supervisor": 4,
                   "wait": 4, "silent": 14}
        made = 0
        # one of each area first, so every family can assemble a product
        queue = list(areas)
        while made < docs:
            area = queue.pop(0) if queue else rng.choices(areas, [weights[a.archetype] for a in areas])[0]
            pattern, versions = _version_sets(rng)
            if made + len(versions) > docs:
                pattern, versions = "single", [(f"1.{rng.randint(0, 4)}.0", False)]
            comp = self._component(owner, area, pattern, versions)
            self.comps.append(comp)
            made += len(comp.versions)

    def _component(self, owner: str, area: Area, pattern: str, versions: list[tuple[str, bool]]) -> Comp:
        rng = self.rng
        n = self.next_n()
        variant = rng.choice(area.variants)
        ident = f"{owner}.{area.key}.{variant}-{n:04d}"
        slug = f"{area.key}{n:04d}"
        inputs = self._inputs(owner, area)
        outputs: list[tuple[str, dict[str, Any]]] = []
        if area.archetype in ("check", "manual"):
            vals = list(area.values)
            outputs.append((f"{slug}.{area.output}", {
                "type": "enum", "values": vals,
                "labels": {v: label(_ZH_VALUES.get(v, v), v.replace("_", " ").capitalize()) for v in vals}}))
        elif area.archetype == "score":
            outputs.append((f"{slug}.score", {"type": "integer", "min": 300, "max": 900}))
        elif area.archetype == "action":
            outputs.append((f"{slug}.reference", {"type": "string", "pattern": "^[A-Z]{2}[0-9]{12}$"}))
        elif area.archetype == "follower":
            inputs.append((f"{slug}.reference", {"type": "string", "min_length": 6, "max_length": 64}))
        params = self._component_params(owner, area)
        base_errors = tuple(sorted(rng.sample(area.errors, rng.randint(min(1, len(area.errors)),
                                                                       min(3, len(area.errors))))))
        vs = []
        for i, (ver, dep) in enumerate(versions):
            errs = base_errors
            if ver.startswith("2.") and pattern in ("major", "three"):
                errs = tuple(sorted({*base_errors, f"{area.key}.v2-service-unavailable"}))
            if area.archetype in ("supervisor", "wait"):
                errs = ()
            vs.append(Version(ver, dep, errs))
            del i
        comp = Comp(ident, owner, area, variant, slug, inputs, outputs, params, vs, n)
        if area.archetype == "check" and rng.random() < 0.04:
            comp.conflicts = [f"legacy-{area.key}-screening"]
        return comp

    def _inputs(self, owner: str, area: Area) -> list[tuple[str, dict[str, Any]]]:
        rng = self.rng
        if area.archetype in ("wait",):
            return []
        pool = [c for c in CONTEXT if c[0] not in ("application.id",)]
        chosen = rng.sample(pool, rng.randint(1, 3))
        out = [(path, _input_decl(decl)) for path, decl in sorted(chosen)]
        if owner != "shared" and area.archetype in ("check", "score", "action", "manual", "supervisor") \
                and rng.random() < 0.6:
            out.append((f"{owner}.amount", {"type": "money", "currency": "CNY"}))
            if rng.random() < 0.3:
                out.append((f"{owner}.term_months", {"type": "integer", "min": 1, "max": 360}))
        return out

    def _component_params(self, owner: str, area: Area) -> list[tuple[str, PDef, Any]]:
        rng = self.rng
        pool = self.family_params[owner] if owner != "shared" else self.family_params["shared"]
        pool = [p for p in pool if p.type != "list" and not p.name.endswith(_CORE_SUFFIXES)]
        out: list[tuple[str, PDef, Any]] = []
        if area.archetype == "wait":
            durations = [p for p in pool if p.type == "duration"] or [self.params["service_wait_period"]]
            p = rng.choice(durations)
            out.append(("waiting_period", p, "PT24H" if p.default is None else None))
            return out
        used: set[str] = set()
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            p = rng.choice(pool)
            if p.name in used:
                continue
            used.add(p.name)
            local = p.name if rng.random() < 0.7 else rng.choice(_LOCAL_NAMES)
            if local in {n for n, _, _ in out}:
                local = p.name
            default = None
            if p.default is None and rng.random() < 0.4:
                default = pick(rng, PState.of(p))
            out.append((local, p, default))
        return out

    def write_components(self) -> None:
        for comp in self.comps:
            for i, v in enumerate(comp.versions):
                doc = self._component_doc(comp, i, v)
                folder = "shared" if comp.family == "shared" else comp.family
                self.files[f"components/process/{folder}/{comp.area.key}/{comp.variant}-{comp.n:04d}"
                           f"-v{v.version}.yaml"] = dump(doc)

    def _component_doc(self, comp: Comp, i: int, v: Version) -> dict[str, Any]:
        area, rng = comp.area, random.Random(comp.n * 7919 + i)
        variant_zh = _VARIANT_ZH.get(comp.variant, area.zh)
        doc: dict[str, Any] = {
            "apiVersion": API, "kind": "ProcessComponent", "id": comp.id, "version": V(v.version),
            "owner": _owner(comp.family, area),
            "title": label(f"{variant_zh}（{comp.n:04d}）",
                           f"{comp.variant.replace('-', ' ').capitalize()} ({comp.n:04d})"),
            "description": f"{area.en}: {comp.variant.replace('-', ' ')} for "
                           f"{'every product family' if comp.family == 'shared' else comp.family + ' products'}"
                           f"; version {v.version}.",
            "tags": [area.key, comp.family],
        }
        task = {"manual": "manual", "supervisor": "manual", "wait": "wait"}.get(area.archetype, "service")
        if task != "service":
            doc["task"] = task
        else:
            doc["handler"] = f"{comp.family}.{area.key}.{comp.variant}-{comp.n:04d}"
        if comp.params:
            params: dict[str, Any] = {}
            for local, p, default in comp.params:
                decl: dict[str, Any] = {"ref": p.name}
                if default is not None:
                    decl["default"] = render(p, default)
                params[local] = decl
            doc["parameters"] = params
        if comp.inputs:
            doc["inputs"] = {path: decl for path, decl in comp.inputs}
        if comp.outputs:
            doc["outputs"] = {path: decl for path, decl in comp.outputs}
        if area.provides:
            doc["provides"] = [area.provides]
        elif area.archetype == "silent":
            doc["provides"] = [f"{comp.variant}-done"]
        if area.archetype == "action":
            doc["requires"] = ["identity-verified"]
        if comp.conflicts:
            doc["conflicts_with"] = list(comp.conflicts)
        if v.errors:
            doc["errors"] = [{"code": e, "title": label(_ERROR_ZH.get(e.split(".")[1], "业务异常"),
                                                        e.split(".")[1].replace("-", " ").capitalize())}
                             if rng.random() < 0.7 else e for e in v.errors]
        if task == "service":
            attempts = rng.choice((1, 3, 3, 5))
            if attempts > 1:
                doc["retry"] = {"max_attempts": attempts, "backoff": V(rng.choice(("PT1S", "PT2S", "PT5S"))),
                                "multiplier": 2, "max_backoff": V(rng.choice(("PT10S", "PT30S", "PT1M")))}
            doc["timeout"] = V(rng.choice(("PT5S", "PT10S", "PT20S", "PT30S", "PT1M")))
            if COMPENSATION and area.archetype == "action":
                doc["compensation"] = {"handler": f"{comp.family}.{area.key}.undo-{comp.n:04d}"}
        if task == "manual":
            doc["assignment"] = {"candidate_groups": [f"{comp.family}_{area.key}_officers"],
                                 "due": V(rng.choice(("PT4H", "P1D", "P2D")))}
        if task == "wait":
            doc["wait"] = {"duration": comp.params[0][0], "interruptible": False}
        if v.deprecated:
            doc["deprecated"] = {"since": V("2026-01-01"), "replaced_by": f"{comp.id}@^2",
                                 "reason": "the provider retired the version 1 interface"}
        return doc

    # -------------------------------------------------------------- UI components

    def ui_components(self) -> None:
        total = self.counts["ui"]
        per = total // len(self.families)
        extra = total - per * len(self.families)
        for i, fam in enumerate(self.families):
            docs = per + (1 if i < extra else 0)
            made, queue = 0, list(UI_KINDS)
            while made < docs:
                kind = queue.pop(0) if queue else self.rng.choices(
                    UI_KINDS, (12, 18, 10, 8, 12, 10, 8, 12, 10))[0]
                versions = ["1.0.0", "1.1.0"] if self.rng.random() < 0.1 and made + 2 <= docs else \
                    [f"1.{self.rng.randint(0, 3)}.0"]
                ui = self._ui(fam, kind, versions)
                self.uis.append(ui)
                made += len(versions)

    def _ui(self, fam: Family, kind: UIKind, versions: list[str]) -> UI:
        rng = self.rng
        n = self.next_n()
        slug = f"{kind.key}{n:04d}"
        channels = kind.channels or CHANNELS
        if kind.key == "request":
            fields: list[tuple[str, dict[str, Any]]] = [
                (f"{fam.key}.amount", {"type": "money", "currency": "CNY", "min": Decimal("1.00"),
                                       "max": Decimal("100000000.00"), "widget": "money",
                                       "label": label("金额（元）", "Amount (CNY)")}),
                (f"{fam.key}.term_months", {"type": "integer", "min": 1, "max": 360, "widget": "select",
                                            "label": label("期限（月）", "Term (months)")}),
            ]
            if rng.random() < 0.5:
                fields.append((f"{fam.key}.purpose", {
                    "type": "enum", "values": ["personal", "family", "business"], "widget": "radio",
                    "required": False, "label": label("用途", "Purpose"),
                    "labels": {"personal": label("个人", "Personal"), "family": label("家庭", "Family"),
                               "business": label("经营", "Business")}}))
        else:
            fields = []
            for leaf, decl in kind.fields:
                d = dict(decl)
                d["label"] = label(f"{kind.zh}{leaf}", leaf.replace("_", " ").capitalize())
                fields.append((f"{slug}.{leaf}", d))
            if kind.key == "consent" and rng.random() < 0.3:
                fields.append((f"{slug}.teller_note", {"type": "string", "max_length": 200, "required": False,
                                                       "widget": "textarea", "channels": ["counter"],
                                                       "label": label("柜员备注", "Teller note")}))
        return UI(f"ui.{fam.key}.{kind.key}-{n:04d}", fam.key, kind, slug, channels, fields, versions, n)

    def write_uis(self) -> None:
        for ui in self.uis:
            for ver in ui.versions:
                fields = {}
                for path, decl in ui.fields:
                    d = {k: v for k, v in decl.items() if k not in ("label", "widget")}
                    d["label"] = decl["label"]
                    if "widget" in decl:
                        d["widget"] = decl["widget"]
                    fields[path] = d
                doc: dict[str, Any] = {
                    "apiVersion": API, "kind": "UIComponent", "id": ui.id, "version": V(ver),
                    "owner": "channel-experience",
                    "title": label(f"{ui.kind.zh}（{ui.n:04d}）", f"{ui.kind.en} ({ui.n:04d})"),
                    "channels": list(ui.channels), "fields": fields,
                }
                if ui.kind.key in ("review", "result"):
                    # Every product of the family sets its rate; only some set a fee, and a screen
                    # may show only what the product has (PK415).
                    doc["shows"] = [f"{ui.family}_rate"]
                self.files[f"components/ui/{ui.family}/{ui.kind.key}/{ui.kind.key}-{ui.n:04d}-v{ver}.yaml"] = dump(doc)

    # -------------------------------------------------------------- lines and products

    def products(self) -> None:
        total = self.counts["products"]
        per = total // len(self.families)
        extra = total - per * len(self.families)
        for i, fam in enumerate(self.families):
            FamilyProducts(self, fam).make(per + (1 if i < extra else 0))

    def write(self, out: Path) -> None:
        if out.exists():
            shutil.rmtree(out)
        for rel in sorted(self.files):
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.files[rel], encoding="utf-8")


# ------------------------------------------------------------------ products


@dataclass
class StepPlan:
    """A step as a level declares it, with what the generator must remember about it."""

    id: str
    doc: dict[str, Any]
    comp: Comp | None = None
    version: int = 0  # index in comp.versions the reference resolves to
    ui: UI | None = None


@dataclass
class Level:
    """One document of a chain (line or product) while it is planned."""

    ident: str
    kind: str
    channels: list[str]
    steps: list[StepPlan] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)
    state: dict[str, PState] = field(default_factory=dict)
    all_steps: dict[str, StepPlan] = field(default_factory=dict)  # inherited + own, by id
    set_channels: bool = False
    review: str | None = None  # the manual review step, kept on the main sequence


class FamilyProducts:
    """Lines and products of one family."""

    def __init__(self, b: Builder, fam: Family) -> None:
        self.b, self.fam, self.rng = b, fam, b.rng
        key = fam.key
        self.checks = [c for c in b.comps if c.kind == "check" and c.family in ("shared", key)]
        self.by_kind = {k: [c for c in b.comps if c.kind == k and c.family in ("shared", key)]
                        for k in ("score", "action", "follower", "manual", "supervisor", "wait", "silent")}
        self.uis = {k.key: [u for u in b.uis if u.family == key and u.kind.key == k.key] for k in UI_KINDS}
        self.core = {p.name.removeprefix(key + "_"): p for p in b.family_params[key] if p.name.endswith(_CORE_SUFFIXES)}
        self.bulk = [p for p in b.family_params[key] if not p.name.endswith(_CORE_SUFFIXES)]

    # ---------------------------------------------------------------- plan

    def make(self, count: int) -> None:
        rng = self.rng
        roots = max(1, round(count / 50))
        lines: list[Level] = []
        for r in range(roots):
            slug, zh, en = self.fam.lines[r % len(self.fam.lines)]
            root = self._root_line(f"{self.fam.key}.{slug}" + (f"-{r // len(self.fam.lines) + 1}"
                                                                 if r >= len(self.fam.lines) else ""), zh, en)
            lines.append(root)
            for s in range(2):
                sub = self._child_line(root, f"{root.ident}.tier-{s + 1}")
                lines.append(sub)
                if rng.random() < 0.5:
                    lines.append(self._child_line(sub, f"{sub.ident}.edition-{s + 1}"))
        made = 0
        while made < count:
            n = self.b.next_n()
            roll = rng.random()
            if roll < 0.05:
                base = None
            else:
                depth_roll = rng.random()
                deep = [ln for ln in lines if ln.ident.count(".") >= 3]
                mid = [ln for ln in lines if ln.ident.count(".") == 2]
                top = [ln for ln in lines if ln.ident.count(".") == 1]
                pool = deep if depth_roll < 0.3 and deep else mid if depth_roll < 0.75 and mid else top
                base = rng.choice(pool)
            versions = 2 if rng.random() < 0.05 and made + 2 <= count else 1
            for v in range(versions):
                self._product(base, n, v, versions)
                made += 1

    # ---------------------------------------------------------------- lines

    def _root_line(self, ident: str, zh: str, en: str) -> Level:
        rng = self.rng
        channels = sorted(rng.sample(self.fam.channels, rng.randint(2, len(self.fam.channels))),
                          key=CHANNELS.index)
        lv = Level(ident, "ProductLine", channels, set_channels=True)
        lv.state = {}
        self._full_steps(lv)
        self._core_settings(lv, root=True)
        self._extra_settings(lv, rng.randint(3, 8))
        self._emit_level(lv, None, label(f"{self.fam.zh}·{zh}", f"{en.capitalize()}"), context=True)
        return lv

    def _child_line(self, parent: Level, ident: str) -> Level:
        rng = self.rng
        lv = Level(ident, "ProductLine", list(parent.channels), review=parent.review)
        lv.state = {k: s.copy() for k, s in parent.state.items()}
        lv.all_steps = dict(parent.all_steps)
        if len(parent.channels) > 2 and rng.random() < 0.3:
            dropped = rng.choice(parent.channels)
            lv.channels = _keep_runnable([c for c in parent.channels if c != dropped], parent.channels,
                                         lv.all_steps)
            lv.set_channels = True
        self._replace_version(lv)
        if rng.random() < 0.3:
            self._add_check(lv)
        if rng.random() < 0.5:
            self._add_silent(lv)
        self._core_settings(lv, root=False)
        self._extra_settings(lv, rng.randint(1, 3))
        tier = ident.rsplit(".", 1)[1]
        self._emit_level(lv, parent, label(f"{parent.ident}·{tier}", f"{parent.ident} {tier}"), context=False)
        return lv

    def _product(self, base: Level | None, n: int, v: int, versions: int) -> None:
        rng = random.Random(n * 104729 + self.b.rng.randint(0, 1 << 30) + v)
        saved, self.rng = self.rng, rng
        try:
            slug = base.ident.split(".")[1] if base else "standalone"
            ident = f"{self.fam.key}.{slug}-{n:04d}"
            if base is None:
                lv = Level(ident, "Product", sorted(rng.sample(self.fam.channels, rng.randint(1, 3)),
                                                   key=CHANNELS.index), set_channels=True)
                self._full_steps(lv)
                self._core_settings(lv, root=True)
                self._extra_settings(lv, rng.randint(3, 8))
            else:
                lv = Level(ident, "Product", list(base.channels), review=base.review)
                lv.state = {k: s.copy() for k, s in base.state.items()}
                lv.all_steps = dict(base.all_steps)
                if len(base.channels) > 1 and rng.random() < 0.25:
                    lv.channels = _keep_runnable(rng.sample(base.channels, rng.randint(1, len(base.channels) - 1)),
                                                 base.channels, lv.all_steps)
                    lv.set_channels = True
                if rng.random() < 0.3:
                    self._replace_version(lv)
                self._product_steps(lv)
                self._core_settings(lv, root=False, product=True)
                self._extra_settings(lv, rng.randint(1, 4))
            self._product_code(lv, n)
            self._complete(lv)
            self._emit_product(lv, base, n, v, versions)
        finally:
            self.rng = saved

    # ---------------------------------------------------------------- steps

    def _full_steps(self, lv: Level) -> None:
        """Every step of a root line (or a product that extends nothing)."""
        rng, fam = self.rng, self.fam.key
        self._ui_step(lv, "request", "request")
        self._add(lv, StepPlan("reject-amount", {
            "id": "reject-amount", "end": "rejected",
            "when": f"{fam}.amount < {fam}_min_amount || {fam}.amount > {fam}_max_amount",
            "message": label("金额不在本产品的起点与上限之间", "The amount is outside the product's range")}))
        self._ui_step(lv, "consent", "terms")
        if rng.random() < 0.5:
            self._ui_step(lv, "review", "review")
        checks = self._pick_checks(lv, rng.randint(3, 6))
        for plan in checks:
            self._add(lv, plan)
        for plan in checks:
            self._check_ends(lv, plan)
        manual = None
        if self.by_kind["score"] and rng.random() < 0.5:
            score = self._comp_step(lv, "score", self.rng.choice(self.by_kind["score"]))
            self._add(lv, score)
            self._add(lv, StepPlan("reject-score", {
                "id": "reject-score", "end": "rejected", "when": f"{score.comp.slug}.score < {fam}_min_score",  # type: ignore[union-attr]
                "message": label("综合评分未达到本产品要求", "The application does not meet our criteria")}))
        roll = rng.random()
        if roll < 0.3 and self.by_kind["manual"]:
            manual = self._comp_step(lv, "underwriting", rng.choice(self.by_kind["manual"]))
            self._add(lv, manual)
            out = manual.comp.outputs[0][0]  # type: ignore[union-attr]
            self._add(lv, StepPlan("reject-underwriting", {
                "id": "reject-underwriting", "end": "rejected", "when": f'{out} == "declined"'}))
        elif roll < 0.65 and self.by_kind["supervisor"]:
            manual = self._comp_step(lv, "authorization", rng.choice(self.by_kind["supervisor"]))
            if rng.random() < 0.5:
                lv.derived["needs_review"] = {
                    "type": "boolean", "title": label("需人工授权", "Needs an authorisation"),
                    "expr": f"{fam}.amount > {fam}_auto_approval_max"}
                manual.doc["when"] = "needs_review"
            else:
                manual.doc["when"] = f"{fam}.amount > {fam}_auto_approval_max"
            self._add(lv, manual)
        if manual is not None:
            lv.review = manual.id
            self._route_errors_to(lv, manual.id)
        if rng.random() < 0.15 and self.by_kind["wait"]:
            self._add(lv, self._comp_step(lv, "cooling-off", rng.choice(self.by_kind["wait"])))
        for i in range(rng.randint(1, 2)):
            self._add(lv, self._comp_step(lv, f"record-{i + 1}", rng.choice(self.by_kind["silent"])))
        actions = rng.sample(self.by_kind["action"], min(len(self.by_kind["action"]), 1 if rng.random() < 0.7 else 2))
        first = None
        for i, comp in enumerate(actions):
            plan = self._comp_step(lv, "book" if i == 0 else "open-extra", comp)
            if manual is not None:
                plan.doc["after"] = [manual.id]
            self._add(lv, plan)
            first = first or plan
            self._follower(lv, plan, "notify" if i == 0 else "archive")
        result = self._ui_step(lv, "result", "result")
        if first is not None and result is not None:
            result.doc["after"] = [first.id]
        if rng.random() < 0.4:
            lv.derived["term_days"] = {"type": "integer", "title": label("期限（天）", "Term in days"),
                                       "expr": f"{fam}.term_months * 30"}

    def _product_steps(self, lv: Level) -> None:
        rng = self.rng
        for kind in ("otp", "face", "idscan", "contact", "signature"):
            if rng.random() < 0.12:
                ui = self._pick_ui(kind, lv.channels)
                if ui is not None and f"{kind}-screen" not in lv.all_steps:
                    plan = self._ui_plan(f"{kind}-screen", ui)
                    if set(ui.channels) >= set(lv.channels) or rng.random() < 0.5:
                        pass
                    else:
                        plan.doc["channels"] = [c for c in lv.channels if c in ui.channels]
                    self._add(lv, plan)
        if rng.random() < 0.2:
            self._add_check(lv)
        if rng.random() < 0.3:
            self._add_silent(lv)
        book = lv.all_steps.get("book")
        if book is not None and rng.random() < 0.3 and "mobile" in lv.channels and "push" not in lv.all_steps:
            self._follower(lv, book, "push", channels=["mobile"])

    def _pick_checks(self, lv: Level, k: int) -> list[StepPlan]:
        rng = self.rng
        used = {p.comp.id for p in lv.all_steps.values() if p.comp is not None}
        kyc = [c for c in self.checks if c.area.key == "kyc" and c.id not in used]
        pool = [c for c in self.checks if c.id not in used]
        chosen = [rng.choice(kyc)] if kyc and not any(
            p.comp is not None and p.comp.area.key == "kyc" for p in lv.all_steps.values()) else []
        areas = {c.area.key for c in chosen}
        for c in rng.sample(pool, min(len(pool), 4 * k)):
            if len(chosen) >= k:
                break
            if c.area.key in areas or c in chosen:
                continue
            areas.add(c.area.key)
            chosen.append(c)
        return [self._comp_step(lv, c.area.key, c) for c in chosen]

    def _check_ends(self, lv: Level, plan: StepPlan) -> None:
        comp = plan.comp
        assert comp is not None
        out, values = comp.outputs[0][0], comp.area.values
        self._add(lv, StepPlan(f"reject-{plan.id}", {"id": f"reject-{plan.id}", "end": "rejected",
                                                      "when": f'{out} == "{values[0]}"'}))
        if self.rng.random() < 0.3:
            when = f'{out} == "{values[1]}"'
            if "open-api" in lv.channels and self.rng.random() < 0.5:
                when = f'channel == "open-api" && {when}'
            self._add(lv, StepPlan(f"refer-{plan.id}", {
                "id": f"refer-{plan.id}", "end": "referred", "when": when,
                "message": label("请到网点办理", "Please visit a branch to continue")}))

    def _add_check(self, lv: Level) -> None:
        for plan in self._pick_checks(lv, 1):
            plan.doc["id"] = plan.id = self._free_id(lv, f"extra-{plan.id}")
            self._add(lv, plan)
            self._check_ends(lv, plan)

    def _add_silent(self, lv: Level) -> None:
        used = {p.comp.id for p in lv.all_steps.values() if p.comp is not None}
        pool = [c for c in self.by_kind["silent"] if c.id not in used]
        if not pool:
            return
        plan = self._comp_step(lv, self._free_id(lv, "record"), self.rng.choice(pool))
        roll = self.rng.random()
        if roll < 0.3 and "counter" in lv.channels and len(lv.channels) > 1:
            plan.doc["channels"] = ["counter"]
        elif roll < 0.5:
            plan.doc["when"] = f"{self.fam.key}.amount >= {self.rng.choice(('50000.0', '200000.0', '1000000.0'))}"
        self._add(lv, plan)

    def _replace_version(self, lv: Level) -> None:
        """A child pins another version range of an inherited step's component."""
        multi = [p for p in lv.all_steps.values() if p.comp is not None and len(p.comp.usable()) > 1]
        if not multi:
            return
        old = self.rng.choice(multi)
        comp = old.comp
        assert comp is not None
        plan = self._comp_step(lv, old.id, comp, avoid=old.version)
        for key in ("after", "when", "channels", "inputs"):
            if key in old.doc:
                plan.doc[key] = old.doc[key]
        if "on_error" in old.doc:
            errs = set(comp.versions[plan.version].errors)
            routes = {c: r for c, r in old.doc["on_error"].items() if c in errs}
            if routes:
                plan.doc["on_error"] = routes
        self._add(lv, plan)

    def _route_errors_to(self, lv: Level, target: str) -> None:
        """The score step's business error goes to the review step instead of ending: it runs on
        the main sequence (BPMN cannot jump out of the parallel branch of a check)."""
        score = lv.all_steps.get("score")
        if score is not None and "on_error" in score.doc and self.rng.random() < 0.6:
            code = sorted(score.doc["on_error"])[-1]
            score.doc["on_error"][code] = {"goto": target}

    def _follower(self, lv: Level, action: StepPlan, sid: str, channels: list[str] | None = None) -> None:
        used = {p.comp.id for p in lv.all_steps.values() if p.comp is not None}
        pool = [c for c in self.by_kind["follower"] if c.id not in used]
        comp = self.rng.choice(pool)
        plan = self._comp_step(lv, self._free_id(lv, sid), comp)
        plan.doc["inputs"] = {f"{comp.slug}.reference": f"{action.comp.slug}.reference"}  # type: ignore[union-attr]
        if channels:
            plan.doc["channels"] = channels
        if self.rng.random() < 0.5:
            plan.doc["critical"] = False  # a failed notification does not undo the sale
        self._add(lv, plan)

    def _free_id(self, lv: Level, base: str) -> str:
        sid, i = base, 2
        while sid in lv.all_steps:
            sid, i = f"{base}-{i}", i + 1
        return sid

    def _add(self, lv: Level, plan: StepPlan) -> None:
        # Steps that need nothing from the review step would run beside it in a parallel block,
        # and a BPMN error route cannot jump into a parallel branch: keep them after it.
        if (lv.review is not None and plan.id not in lv.all_steps and plan.comp is not None
                and plan.comp.kind in ("silent", "wait", "check") and "after" not in plan.doc):
            plan.doc["after"] = [lv.review]
        lv.steps.append(plan)
        lv.all_steps[plan.id] = plan

    def _comp_step(self, lv: Level, sid: str, comp: Comp, avoid: int | None = None) -> StepPlan:
        rng = self.rng
        choices = [i for i in comp.usable() if i != avoid] or comp.usable()
        idx = rng.choice(choices)
        ref = _range(rng, comp, idx)
        doc: dict[str, Any] = {"id": sid, "use": f"{comp.id}@{ref}"}
        plan = StepPlan(sid, doc, comp, idx)
        errors = comp.versions[idx].errors
        if errors:
            routes: dict[str, Any] = {}
            for code in errors:
                roll = rng.random()
                if roll < 0.7:
                    routes[code] = {"end": "rejected"}
                elif roll < 0.85:
                    routes[code] = {"end": "referred", "message": label("请到网点办理", "Please visit a branch")}
                elif roll < 0.95:
                    routes[code] = {"end": "cancelled"}
            if routes:
                doc["on_error"] = routes
        with_: dict[str, Any] = {}
        for local, p, default in comp.params:
            if default is not None or p.default is not None:
                if rng.random() < 0.1:
                    with_[local] = render(p, pick(rng, PState.of(p)))
                continue
            if rng.random() < 0.25 and p.type != "list":
                with_[local] = render(p, pick(rng, PState.of(p)))
            elif (rng.random() < 0.3 and p.type == "money" and (p.hi is None or p.hi >= Decimal("100000000.00"))
                  and p.lo is not None and p.lo <= Decimal("0.01") and local not in with_):
                with_[local] = {"param": f"{self.fam.key}_max_amount"}
            else:
                self._need(lv, p)
        if with_:
            doc["with"] = with_
        return plan

    def _need(self, lv: Level, p: PDef) -> None:
        """The product (or the line) must give ``p`` a value."""
        st = lv.state.get(p.name)
        if st is not None and st.value is not None:
            return
        st = st or PState.of(p)
        lv.state[p.name] = st
        if st.value is None:
            st.value = pick(self.rng, st)
            lv.params[p.name] = render(p, st.value)

    def _pick_ui(self, kind: str, channels: list[str]) -> UI | None:
        pool = [u for u in self.uis.get(kind, []) if set(u.channels) & set(channels)]
        return self.rng.choice(pool) if pool else None

    def _ui_plan(self, sid: str, ui: UI) -> StepPlan:
        ver = self.rng.randrange(len(ui.versions))
        major, minor, _ = ui.versions[ver].split(".")
        ref = f"^{major}" if ver == len(ui.versions) - 1 else f"~{major}.{minor}.0"
        return StepPlan(sid, {"id": sid, "use": f"{ui.id}@{ref}"}, ui=ui)

    def _ui_step(self, lv: Level, kind: str, sid: str) -> StepPlan | None:
        ui = self._pick_ui(kind, lv.channels)
        if ui is None:
            return None
        plan = self._ui_plan(sid, ui)
        self._add(lv, plan)
        return plan

    # ---------------------------------------------------------------- parameters

    def _st(self, lv: Level, short: str) -> PState:
        p = self.core[short]
        st = lv.state.get(p.name)
        if st is None:
            st = lv.state[p.name] = PState.of(p)
        return st

    def _core_settings(self, lv: Level, root: bool, product: bool = False) -> None:
        rng, fam = self.rng, self.fam.key
        names = {s: f"{fam}_{s}" for s in self.core}
        if root:
            lo_amt = rng.choice((Decimal("50.00"), Decimal("100.00"), Decimal("1000.00"), Decimal("10000.00")))
            st = self._st(lv, "min_amount")
            st.value, st.locked = lo_amt, rng.random() < 0.6
            lv.params[names["min_amount"]] = {"value": lo_amt, "locked": True} if st.locked else lo_amt
            auto = lo_amt * rng.choice((100, 200, 500))
            st = self._st(lv, "auto_approval_max")
            st.value, st.locked = auto, True
            lv.params[names["auto_approval_max"]] = {"value": auto, "locked": True}
            st = self._st(lv, "max_amount")
            st.lo, st.hi = auto, min(auto * rng.choice((10, 20, 50)), Decimal("100000000.00"))
            st.value = pick(rng, st)
            lv.params[names["max_amount"]] = {"value": st.value, "min": st.lo, "max": st.hi}
            st = self._st(lv, "rate")
            lo, hi = narrowed(rng, st) or (st.lo, st.hi)
            st.lo, st.hi = lo, hi
            lv.params[names["rate"]] = {"min": render(st.p, lo), "max": render(st.p, hi)}
            st = self._st(lv, "min_age")
            st.lo, st.value = 16, rng.choice((16, 18, 18, 20))
            lv.params[names["min_age"]] = {"value": st.value, "min": 16}
            st = self._st(lv, "max_age")
            st.value = rng.choice((60, 65, 70))
            lv.params[names["max_age"]] = st.value
            st = self._st(lv, "min_score")
            st.value = rng.choice((550, 580, 600, 620))
            lv.params[names["min_score"]] = st.value
            st = self._st(lv, "tier")
            st.values = tuple(sorted(rng.sample(st.p.values, 2), key=st.p.values.index))
            lv.params[names["tier"]] = {"values": list(st.values)}
            st = self._st(lv, "term_options")
            st.value = pick(rng, st)
            lv.params[names["term_options"]] = st.value
            st = self._st(lv, "sms_template")
            st.value = f"SMS_{fam.upper()}_{rng.randint(1, 999)}"
            lv.params[names["sms_template"]] = st.value
            lv.rules.append({"id": "age-band", "kind": "eligibility",
                             "expr": f"applicant.age >= {fam}_min_age && applicant.age <= {fam}_max_age",
                             "message": label("申请人年龄不符合要求", "The applicant's age is outside the band")})
            lv.rules.append({"id": "amount-range", "kind": "constraint",
                             "expr": f"{fam}_min_amount <= {fam}_max_amount",
                             "message": label("起点金额不能高于上限", "The minimum must not exceed the maximum")})
            lv.rules.append({"id": "auto-approval-within-range", "kind": "constraint",
                             "expr": f"{fam}_auto_approval_max <= {fam}_max_amount",
                             "message": label("自动审批上限不能超过产品上限",
                                              "Auto-approval stays within the maximum")})
            return
        # a child narrows and sets within what it inherited
        st = self._st(lv, "rate")
        if rng.random() < 0.6 and (bounds := narrowed(rng, st)) is not None:
            st.lo, st.hi = bounds
            setting: dict[str, Any] = {"min": render(st.p, st.lo), "max": render(st.p, st.hi)}
            if product:
                st.value = pick(rng, st)
                setting["value"] = render(st.p, st.value)
            lv.params[st.p.name] = setting
        elif product or rng.random() < 0.3:
            st.value = pick(rng, st)
            lv.params[st.p.name] = render(st.p, st.value)
        st = self._st(lv, "max_amount")
        if not st.locked and rng.random() < 0.5:
            st.value = pick(rng, st)
            if rng.random() < 0.3 and not product:
                st.locked = True
                lv.params[st.p.name] = {"value": st.value, "locked": True}
            else:
                lv.params[st.p.name] = st.value
        st = self._st(lv, "tier")
        if product or rng.random() < 0.5:
            st.value = rng.choice(st.values)
            lv.params[st.p.name] = st.value
        if rng.random() < 0.4:
            st = self._st(lv, "min_score")
            st.value = rng.choice((560, 600, 640, 660))
            lv.params[st.p.name] = st.value
        if rng.random() < 0.3:
            st = self._st(lv, "residents_only")
            st.value = rng.random() < 0.7
            lv.params[st.p.name] = st.value
            if not any(r["id"] == "residents-only" for r in lv.rules):
                lv.rules.append({"id": f"residents-only-{len(lv.rules) + 1}", "kind": "eligibility",
                                 "expr": f"applicant.resident || !{fam}_residents_only",
                                 "message": label("本产品仅限境内居民", "For mainland residents only")})
        if product and rng.random() < 0.3:
            st = self._st(lv, "fee")
            st.value = pick(rng, st, hi=Decimal("500.00"))
            lv.params[st.p.name] = st.value
            lv.rules.append({"id": "fee-cap", "kind": "constraint", "expr": f"{fam}_fee <= 500.0",
                             "message": label("手续费不超过500元", "The fee is at most CNY 500")})

    def _complete(self, lv: Level) -> None:
        """A product gives a value to every parameter its chain declared or narrowed."""
        for name, st in sorted(lv.state.items()):
            if st.value is not None:
                continue
            st.value = pick(self.rng, st)
            setting = lv.params.get(name)
            if isinstance(setting, dict):
                setting["value"] = render(st.p, st.value)
            else:
                lv.params[name] = render(st.p, st.value)

    def _product_code(self, lv: Level, n: int) -> None:
        st = self._st(lv, "product_code")
        st.value = f"{self.fam.key[:2].upper()}{n % 10000:04d}"
        lv.params[st.p.name] = st.value

    def _extra_settings(self, lv: Level, k: int) -> None:
        rng = self.rng
        for p in rng.sample(self.bulk, min(k, len(self.bulk))):
            st = lv.state.get(p.name) or PState.of(p)
            if st.locked or p.name in lv.params:
                continue
            roll = rng.random()
            if p.type == "enum" and roll < 0.3 and len(st.values) > 2:
                keep = [v for v in st.values if v == st.value or rng.random() < 0.6] or [st.values[0]]
                if st.value is not None and st.value not in keep:
                    keep.append(st.value)
                st.values = tuple(v for v in st.values if v in keep)
                lv.params[p.name] = {"values": list(st.values)}
            elif roll < 0.25 and (bounds := narrowed(rng, st)) is not None:
                st.lo, st.hi = bounds
                lv.params[p.name] = {"min": render(p, st.lo), "max": render(p, st.hi)}
            else:
                st.value = pick(rng, st)
                if roll > 0.85 and lv.kind == "ProductLine":
                    st.locked = True
                    lv.params[p.name] = {"value": render(p, st.value), "locked": True}
                else:
                    lv.params[p.name] = render(p, st.value)
            lv.state[p.name] = st

    # ---------------------------------------------------------------- documents

    def _body(self, lv: Level, parent: Level | None, context: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if parent is not None:
            doc["extends"] = f"{parent.ident}@^1"
        if lv.set_channels or parent is None:
            doc["channels"] = list(lv.channels)
        if context:
            doc["context"] = {path: dict(decl) for path, decl in CONTEXT}
        if lv.params:
            doc["parameters"] = {k: _value_doc(v) for k, v in sorted(lv.params.items())}
        if lv.derived:
            doc["derived"] = dict(lv.derived)
        if lv.steps:
            doc["steps"] = [_step_doc(p.doc) for p in lv.steps]
        if lv.rules:
            doc["rules"] = list(lv.rules)
        return doc

    def _emit_level(self, lv: Level, parent: Level | None, name: dict[str, str], context: bool) -> None:
        doc: dict[str, Any] = {"apiVersion": API, "kind": "ProductLine", "id": lv.ident, "version": V("1.0.0"),
                               "owner": self.fam.owner, "name": name,
                               "description": f"Template of {self.fam.en.lower()} products ({lv.ident}).",
                               "tags": [self.fam.key, "line"]}
        doc.update(self._body(lv, parent, context))
        self.b.files[f"products/{self.fam.key}/lines/{lv.ident.replace('.', '-')}.yaml"] = dump(doc)

    def _emit_product(self, lv: Level, base: Level | None, n: int, v: int, versions: int) -> None:
        rng = self.rng
        version = f"1.{v}.0"
        doc: dict[str, Any] = {"apiVersion": API, "kind": "Product", "id": lv.ident, "version": V(version),
                               "owner": self.fam.owner,
                               "name": label(f"{self.fam.zh}产品{n:04d}", f"{self.fam.en} product {n:04d}"),
                               "description": f"A {self.fam.en.lower()} product"
                                              + (f" of the {base.ident} line." if base else " assembled directly."),
                               "tags": [self.fam.key]}
        if versions == 2:
            doc["effective"] = ({"from": V("2026-01-01"), "until": V("2026-06-30")} if v == 0
                                else {"from": V("2026-07-01")})
        else:
            roll = rng.random()
            if roll < 0.35:
                doc["effective"] = {"from": "T+1"}
            elif roll < 0.40:
                doc["effective"] = "T+2"
            elif roll < 0.85:
                doc["effective"] = {"from": V(rng.choice(("2026-01-01", "2026-03-01", "2026-07-01", "2026-12-15")))}
            elif roll < 0.95:
                doc["effective"] = {"from": V("2026-01-01"), "until": V(rng.choice(("2027-06-30", "2027-12-31")))}
        doc.update(self._body(lv, base, context=base is None))
        line = base.ident.split(".")[1] if base else "standalone"
        self.b.files[f"products/{self.fam.key}/{line}/{lv.ident.split('.', 1)[1]}-v{version}.yaml"] = dump(doc)


def _keep_runnable(chosen: list[str], parent: list[str], steps: dict[str, StepPlan]) -> list[str]:
    """``chosen`` plus what a channel-restricted inherited step needs to run somewhere."""
    keep = set(chosen)
    for plan in steps.values():
        wanted = plan.doc.get("channels")
        if wanted and not keep & set(wanted):
            keep.add(next(c for c in parent if c in wanted))
    return [c for c in parent if c in keep]


def _value_doc(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in value.items()}
    return value


_STEP_ORDER = ("id", "use", "end", "when", "channels", "after", "critical", "with", "inputs", "outputs", "on_error",
               "message")


def _step_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in _STEP_ORDER if k in doc}


def _range(rng: random.Random, comp: Comp, idx: int) -> str:
    """A version range that resolves to ``comp.versions[idx]`` (the highest it matches)."""
    target = comp.versions[idx].version
    major, minor, patch = (int(x) for x in target.split("."))
    higher_same_major = [v.version for v in comp.versions if v.version.split(".")[0] == str(major)
                         and tuple(map(int, v.version.split("."))) > (major, minor, patch)]
    if not higher_same_major:
        return rng.choice((f"^{major}", f"^{major}", f"^{major}.{minor}", f"~{major}.{minor}",
                           f">={major}.{minor}.0 <{major + 1}.0.0"))
    return rng.choice((f"~{major}.{minor}.{patch}", f"~{major}.{minor}", f"{target}"))


def _input_decl(decl: dict[str, object]) -> dict[str, Any]:
    return {k: v for k, v in decl.items() if k in ("type", "pattern", "min_length", "max_length", "min", "max")}


def _owner(family: str, area: Area) -> str:
    return {"kyc": "risk-kyc", "aml": "compliance-aml", "fraud": "risk-fraud"}.get(area.key, f"{family}-ops")


_CORE_SUFFIXES = ("_min_amount", "_max_amount", "_auto_approval_max", "_min_score", "_min_age", "_max_age",
                  "_rate", "_fee", "_product_code", "_residents_only", "_term_options", "_tier",
                  "_sms_template")


def _core_params(f: Family) -> list[PDef]:
    k = f.key
    tiers = (("standard", "标准", "Standard"), ("gold", "金卡", "Gold"), ("platinum", "白金", "Platinum"),
             ("private", "私行", "Private banking"))
    big = Decimal("100000000.00")
    return [
        PDef(f"{k}_min_amount", "money", f"{f.zh}起点金额", f"{f.en} minimum amount", lo=Decimal("0.01"), hi=big,
             currency="CNY", unit="CNY"),
        PDef(f"{k}_max_amount", "money", f"{f.zh}最高金额", f"{f.en} maximum amount", lo=Decimal("0.01"), hi=big,
             currency="CNY", unit="CNY"),
        PDef(f"{k}_auto_approval_max", "money", f"{f.zh}自动审批上限", f"{f.en} auto-approval ceiling",
             lo=Decimal("0.01"), hi=big, currency="CNY", unit="CNY"),
        PDef(f"{k}_min_score", "integer", f"{f.zh}最低评分", f"{f.en} minimum score", lo=300, hi=900),
        PDef(f"{k}_min_age", "integer", f"{f.zh}最低年龄", f"{f.en} minimum age", lo=0, hi=100, default=18,
             unit="year"),
        PDef(f"{k}_max_age", "integer", f"{f.zh}最高年龄", f"{f.en} maximum age", lo=18, hi=120, default=70,
             unit="year"),
        PDef(f"{k}_rate", "percent", f"{f.zh}年化利率", f"{f.en} annual rate", lo=Decimal("0"), hi=Decimal("24"),
             scale=4, unit="%"),
        PDef(f"{k}_fee", "money", f"{f.zh}手续费", f"{f.en} fee", lo=Decimal("0.00"), hi=Decimal("10000.00"),
             currency="CNY", default=Decimal("0.00"), unit="CNY"),
        PDef(f"{k}_product_code", "string", f"{f.zh}产品代码", f"{f.en} product code",
             pattern="^[A-Z]{2}[0-9]{4}$"),
        PDef(f"{k}_residents_only", "boolean", f"{f.zh}仅限境内居民", f"{f.en} for residents only", default=True),
        PDef(f"{k}_term_options", "list", f"{f.zh}期限选项", f"{f.en} term options", items="integer"),
        PDef(f"{k}_tier", "enum", f"{f.zh}客户层级", f"{f.en} customer tier",
             values=tuple(t[0] for t in tiers), labels=tiers),
        PDef(f"{k}_sms_template", "string", f"{f.zh}短信模板", f"{f.en} SMS template",
             pattern="^SMS_[A-Z0-9_]{3,40}$"),
    ]


def _common_params() -> list[PDef]:
    return [
        PDef("service_wait_period", "duration", "等待期", "Waiting period", default="PT24H"),
        PDef("service_retention_years", "integer", "档案保存年限", "Retention in years", lo=1, hi=50, default=30),
        PDef("service_sms_sender", "string", "短信签名", "SMS sender", min_length=2, max_length=20, default="BANK"),
        PDef("service_risk_threshold", "decimal", "风险阈值", "Risk threshold", lo=Decimal("0"), hi=Decimal("1"),
             scale=2, default=Decimal("0.80")),
        PDef("service_channel_priority", "enum", "渠道优先级", "Channel priority",
             values=("high", "normal", "low"),
             labels=(("high", "高", "High"), ("normal", "普通", "Normal"), ("low", "低", "Low")),
             default="normal"),
    ]


_CONCEPTS: dict[str, list[tuple[str, str, str]]] = {
    "money": [("limit", "限额", "limit"), ("threshold", "阈值金额", "threshold"), ("fee", "费用", "fee"),
              ("cap", "封顶金额", "cap"), ("floor", "保底金额", "floor"), ("quota", "额度", "quota")],
    "percent": [("rate", "利率", "rate"), ("markup", "加点", "markup"), ("discount", "折扣率", "discount"),
                ("ratio", "比例", "ratio"), ("penalty", "罚息率", "penalty rate")],
    "integer": [("days", "天数", "days"), ("months", "月数", "months"), ("count", "次数", "count"),
                ("score", "分值", "score"), ("level", "等级", "level")],
    "enum": [("method", "方式", "method"), ("mode", "模式", "mode"), ("class", "类别", "class"),
             ("policy", "策略", "policy")],
    "boolean": [("enabled", "启用", "enabled"), ("required", "必需", "required"), ("allowed", "允许", "allowed")],
    "string": [("code", "代码", "code"), ("template", "模板", "template"), ("document", "文档", "document")],
    "duration": [("period", "期限", "period"), ("window", "窗口期", "window"), ("timeout", "时限", "timeout")],
    "decimal": [("weight", "权重", "weight"), ("factor", "系数", "factor")],
    "date": [("start", "起始日", "start date"), ("cutoff", "截止日", "cut-off date")],
    "list": [("options", "选项", "options")],
}

_ENUMS: list[list[tuple[str, str, str]]] = [
    [("monthly", "按月", "Monthly"), ("quarterly", "按季", "Quarterly"), ("at-maturity", "到期", "At maturity")],
    [("online", "线上", "Online"), ("offline", "线下", "Offline"), ("hybrid", "线上线下", "Hybrid"),
     ("partner", "合作方", "Partner")],
    [("class-i", "Ⅰ类", "Class I"), ("class-ii", "Ⅱ类", "Class II"), ("class-iii", "Ⅲ类", "Class III")],
    [("strict", "严格", "Strict"), ("standard", "标准", "Standard"), ("relaxed", "宽松", "Relaxed"),
     ("exempt", "豁免", "Exempt"), ("manual", "人工", "Manual")],
    [("sms", "短信", "SMS"), ("push", "推送", "Push")],
]

_LOCAL_NAMES = ("threshold", "cap", "level", "template", "window", "limit", "mode", "factor")

_ZH_VALUES = {"failed": "不通过", "manual_review": "需人工核实", "passed": "通过", "hit": "命中", "review": "待复核",
              "clear": "未命中", "high": "高", "medium": "中", "low": "低", "court": "法院失信", "internal": "行内",
              "none": "无", "insufficient": "不足", "unverified": "未核实", "verified": "已核实", "adverse": "不良",
              "thin": "记录少", "good": "良好", "partial": "部分", "exact": "一致", "unsuitable": "不适当",
              "borderline": "临界", "suitable": "适当", "full": "足额", "declined": "拒绝", "approved": "批准"}

_VARIANT_ZH = {"identity-verification": "身份核验", "face-match": "人脸比对", "sanctions-screening": "制裁筛查",
               "application-fraud": "申请反欺诈", "account-open": "开户", "booking": "记账", "sms": "短信通知",
               "archive": "归档", "underwriting": "人工审批", "cooling-off": "冷静期", "consent-record": "授权留痕"}

_ERROR_ZH = {"id-expired": "证件过期", "id-reported-lost": "证件挂失", "under-age": "未达年龄",
             "sanctions-hit": "命中制裁名单", "blacklisted-device": "设备黑名单", "insufficient-funds": "余额不足",
             "account-frozen": "账户冻结", "not-authorized": "未授权", "not-given": "未同意"}


def generate(scale: float, out: Path, seed: int = 1) -> dict[str, int]:
    """Write the catalogue below ``out`` (replacing it); returns document counts by kind."""
    b = Builder(scale, seed)
    b.dictionaries()
    b.process_components()
    b.ui_components()
    b.products()
    b.write_components()
    b.write_uis()
    b.write(out)
    return _counts(b.files.values())


def _counts(texts: Iterator[str] | Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for text in texts:
        kind = text.split("\nkind: ", 1)[1].split("\n", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 3,500 process components, 1,000 products")
    parser.add_argument("--out", type=Path, required=True, help="folder to (re)create")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    counts = generate(args.scale, args.out, args.seed)
    print(f"wrote {sum(counts.values())} files to {args.out}: "
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
