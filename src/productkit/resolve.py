"""Stage 3: a product with its line chain, parameters with provenance, and resolved steps.

Parameter precedence, lowest first: the dictionary (or an inline declaration), each product
line from the root of the ``extends`` chain down, the product, then per step: the component's
default, the product's value of the same name, the step's ``with``. A line may lock a value or
narrow bounds; a child may narrow further but never widen or change a locked value.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from .context import Context
from .diagnostics import Diagnostic, Location, Related, Severity
from .model import ParamSetting, ProcessComponent, Product, ProductLine, Step, TypeSpec, UIComponent
from .params import Value, coerce, comparable, effective_spec, violations
from .refs import COMPONENT_KINDS, RefProblem, resolve_ref
from .shape import did_you_mean
from .sources import Entry
from .step_settings import StepSettings, step_settings
from .types import ValueProblem, param_ref, parse_date
from .types._base import BOUNDS

_V = TypeVar("_V")

__all__ = ["ProvenanceItem", "ResolvedParam", "ResolvedProduct", "ResolvedStep", "extends_chain",
           "resolve_product"]


@dataclass(frozen=True, slots=True)
class ProvenanceItem:
    source: str
    location: Location
    value: str | None


@dataclass(slots=True)
class ResolvedParam:
    name: str
    spec: TypeSpec
    value: Value | None = None
    locked: bool = False
    declared: Location | None = None
    locked_at: Location | None = None
    provenance: list[ProvenanceItem] = field(default_factory=list)
    schedule: list[Window] = field(default_factory=list)  # dated values, in date order


@dataclass(frozen=True, slots=True)
class Window:
    """A parameter's value for applications started from ``start`` through ``end``."""

    start: dt.date
    end: dt.date | None
    value: Value
    at: Location

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(slots=True)
class ResolvedStep:
    step: Step
    origin: Entry
    index: int
    component: Entry | None = None
    params: dict[str, ResolvedParam] = field(default_factory=dict)
    # A screen's field bounds bound to product parameters: path -> {min|max|step: value}.
    bounds: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: StepSettings = field(default_factory=StepSettings)  # retry, timeout, assignment

    def loc(self, *path: str | int, key: bool = False) -> Location:
        return self.origin.doc.loc(("steps", self.index, *path), key=key)


@dataclass(slots=True)
class ResolvedProduct:
    entry: Entry
    chain: list[Entry]  # lines, nearest first
    params: dict[str, ResolvedParam]
    channels: list[str]
    context: dict[str, tuple[TypeSpec, Location]]
    steps: list[ResolvedStep]
    rules: list[tuple[Any, Entry, int]]
    derived: dict[str, tuple[Any, Entry]]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    context_channels: dict[str, list[str]] = field(default_factory=dict)  # context on fewer channels
    forbidden: dict[str, Location] = field(default_factory=dict)  # channel -> where a policy forbids it

    @property
    def model(self) -> Product | ProductLine:
        assert isinstance(self.entry.model, Product | ProductLine)
        return self.entry.model


def extends_chain(ctx: Context, entry: Entry, out: list[Diagnostic]) -> list[Entry]:
    """The lines ``entry`` extends, nearest first; a cycle is reported (PK205) the same way
    from whichever document reaches it, so that it is reported once."""
    chain: list[Entry] = []
    current = entry
    while True:
        model = current.model
        assert isinstance(model, Product | ProductLine)
        if model.extends is None:
            return chain
        found = resolve_ref(ctx.catalog, model.extends, ("ProductLine",))
        if isinstance(found, RefProblem):
            return chain  # reported by check_references
        walked = [entry, *chain]
        keys = [e.key for e in walked]
        if found.key in keys:
            out.append(_cycle(walked[keys.index(found.key):]))
            return chain
        chain.append(found)
        current = found


def _cycle(members: list[Entry]) -> Diagnostic:
    """PK205 at the extends of the cycle's first line (by id), the others as related places."""
    start = min(range(len(members)), key=lambda i: members[i].key)
    ring = members[start:] + members[:start]
    names = " -> ".join(e.model.id for e in [*ring, ring[0]])
    return Diagnostic("PK205", f"extends forms a cycle: {names}", ring[0].doc.loc(("extends",)),
                      related=tuple(Related(e.doc.loc(("extends",)), "continues here") for e in ring[1:]))


def _source(entry: Entry) -> str:
    return f"{'line' if entry.model.kind == 'ProductLine' else 'product'}:{entry.model.id}"


def _declare(ctx: Context, name: str, setting: ParamSetting, entry: Entry,
             out: list[Diagnostic]) -> ResolvedParam | None:
    loc = entry.doc.loc(("parameters", name), key=True)
    if setting.type is not None or setting.ref is not None:
        spec = effective_spec(TypeSpec.model_validate(
            {k: getattr(setting, k) for k in setting.model_fields_set
             if k in TypeSpec.model_fields}), ctx.dictionary)
        if setting.ref is None and name not in ctx.dictionary:
            out.append(Diagnostic("PK213", f"parameter '{name}' is declared here, not in a parameter dictionary",
                                  loc, Severity.INFO,
                                  hint="bank-wide parameters belong in a ParameterDictionary, so the name "
                                  "means the same everywhere"))
        return ResolvedParam(name, spec, declared=loc)
    if name in ctx.dictionary:
        return _copied(_from_dictionary(ctx, name))
    out.append(Diagnostic("PK207", f"no parameter '{name}' in the dictionary or the line", loc,
                          hint=did_you_mean(name, ctx.dictionary) or
                          "declare it with type: (or add it to a parameter dictionary)"))
    return None


def _from_dictionary(ctx: Context, name: str) -> ResolvedParam:
    """Dictionary parameter ``name`` with its default, as every level that sets it without
    declaring it starts it: worked out once per context (each level is given a copy)."""
    found: ResolvedParam | None = ctx.dictionary_params.get(name)
    if found is not None:
        return found
    spec = ctx.dictionary[name]
    dloc = ctx.dictionary_loc(name)
    param = ResolvedParam(name, spec, declared=dloc)
    if spec.default is not None and dloc is not None:
        try:
            param.value = coerce(spec, spec.default)
            param.provenance.append(ProvenanceItem("dictionary", dloc, str(param.value)))
        except ValueProblem:
            pass  # reported by check_declarations
    ctx.dictionary_params[name] = param
    return param


def _narrow(param: ResolvedParam, setting: ParamSetting, entry: Entry, name: str,
            out: list[Diagnostic]) -> None:
    """Apply a child's narrower bounds; widening is PK206."""
    spec = param.spec
    updates: dict[str, Any] = {}
    for bound in ("min", "max"):
        raw = getattr(setting, bound)
        if raw is None or setting.type is not None:
            continue
        at = entry.doc.loc(("parameters", name, bound))
        try:
            new = coerce(spec, raw)
        except ValueProblem as exc:
            out.append(Diagnostic(exc.code, f"{bound}: {exc.message}", at, hint=exc.hint))
            continue
        old = getattr(spec, bound)
        if old is not None:
            old_v = coerce(spec, old)
            wider = comparable(new) < comparable(old_v) if bound == "min" else comparable(new) > comparable(old_v)
            if wider:
                out.append(Diagnostic("PK206", f"{bound} {new} widens the inherited {bound} {old_v}", at,
                                      related=_decl(param)))
                continue
        updates[bound] = raw
    if setting.step is not None and setting.type is None and _narrower_step(param, setting.step, entry, name, out):
        updates["step"] = setting.step
    if setting.values is not None and setting.type is None and spec.values is not None:
        extra = [str(v) for v in setting.values if str(v) not in {str(x) for x in spec.values}]
        if extra:
            out.append(Diagnostic("PK206", f"values {', '.join(extra)} are not among the inherited values",
                                  entry.doc.loc(("parameters", name, "values")), related=_decl(param)))
        else:
            updates["values"] = setting.values
    if updates:
        param.spec = spec.model_copy(update=updates)
        param.declared = entry.doc.loc(("parameters", name), key=True)


def _narrower_step(param: ResolvedParam, raw: Any, entry: Entry, name: str, out: list[Diagnostic]) -> bool:
    """A child's step narrows when it is a whole multiple of the inherited step (or there is none)."""
    at = entry.doc.loc(("parameters", name, "step"))
    try:
        new = comparable(coerce(param.spec, raw))
        old = comparable(coerce(param.spec, param.spec.step)) if param.spec.step is not None else None
    except ValueProblem as exc:
        out.append(Diagnostic(exc.code, f"step: {exc.message}", at, hint=exc.hint))
        return False
    if not isinstance(new, int | Decimal) or new <= 0:
        out.append(Diagnostic("PK109", f"step {raw} of {name} is not a positive number", at))
        return False
    if isinstance(old, int | Decimal) and old > 0 and new % old != 0:
        out.append(Diagnostic("PK206", f"step {new} is not a multiple of the inherited step {old}: it would "
                              "allow values the line does not", at, related=_decl(param)))
        return False
    return True


def _decl(param: ResolvedParam) -> tuple[Related, ...]:
    return (Related(param.declared, "declared here"),) if param.declared else ()


def _set_value(param: ResolvedParam, setting: ParamSetting, entry: Entry, name: str,
               out: list[Diagnostic]) -> None:
    if setting.value is None:
        if setting.locked and param.value is not None:
            param.locked = True
            param.locked_at = entry.doc.loc(("parameters", name), key=True)
        return
    at = entry.doc.loc(("parameters", name))
    try:
        value = coerce(param.spec, setting.value)
    except ValueProblem as exc:
        out.append(Diagnostic(exc.code, f"{name}: {exc.message}", _value_at(entry, name, exc.where),
                              related=_decl(param), hint=exc.hint))
        return
    if param.locked and value != param.value:
        assert param.locked_at is not None
        out.append(Diagnostic("PK206", f"{name} = {value} changes the value {param.value} locked by the line",
                              at, related=(Related(param.locked_at, "locked here"),)))
        return
    for problem in violations(param.spec, value):
        out.append(Diagnostic(problem.code, f"{name} = {problem.message}", _value_at(entry, name, problem.where),
                              related=_decl(param), hint=problem.hint))
    param.value = value
    param.provenance.append(ProvenanceItem(_source(entry), at, str(value)))
    if setting.locked:
        param.locked, param.locked_at = True, at


def _value_at(entry: Entry, name: str, where: tuple[str | int, ...]) -> Location:
    """Where part ``where`` of parameter ``name``'s value is written (a table's row), as
    ``name: [...]`` or ``name: {value: [...]}``; the whole value when ``where`` is empty."""
    if where:
        for prefix in (("parameters", name, "value"), ("parameters", name)):
            if (*prefix, *where) in entry.doc.marks.values:
                return entry.doc.loc((*prefix, *where))
    return entry.doc.loc(("parameters", name))


def _params(ctx: Context, levels: list[Entry], out: list[Diagnostic]) -> dict[str, ResolvedParam]:
    params = _line_params(ctx, levels[:-1], out)
    _level_params(ctx, levels[-1], params, out)
    return params


def _line_params(ctx: Context, lines: list[Entry], out: list[Diagnostic]) -> dict[str, ResolvedParam]:
    """The parameters ``lines`` (root first) set, and their problems: worked out once per chain
    (every product of a line inherits the same), each product given its own copy to change."""
    made = _per_chain(ctx, ctx.line_params, lines, _level_params, out)
    return {name: _copied(param) for name, param in made.items()}


def _per_chain(ctx: Context, table: dict[tuple[int, ...], Any], lines: list[Entry],
               level: Callable[[Context, Entry, dict[str, _V], list[Diagnostic]], None],
               out: list[Diagnostic]) -> dict[str, _V]:
    """What ``level`` makes of each of ``lines`` (root first) in turn, and its problems, worked
    out once per chain in ``table`` (the caller copies what a product may change)."""
    key = tuple(id(e) for e in lines)
    found = table.get(key)
    if found is None:
        said: list[Diagnostic] = []
        made: dict[str, _V] = {}
        for entry in lines:
            level(ctx, entry, made, said)
        found = table[key] = (tuple(lines), made, said)  # the lines kept: ids stay theirs
    out.extend(found[2])
    result: dict[str, _V] = found[1]
    return result


def _copied(p: ResolvedParam) -> ResolvedParam:
    """A copy that can be narrowed and set without changing ``p`` (its parts are immutable)."""
    return replace(p, provenance=list(p.provenance), schedule=list(p.schedule))


def _level_params(ctx: Context, entry: Entry, params: dict[str, ResolvedParam], out: list[Diagnostic]) -> None:
    """What one level (a line or the product) declares, narrows and sets, over ``params``."""
    model = entry.model
    assert isinstance(model, Product | ProductLine)
    for name, setting in model.parameters.items():
        if name in params and setting.type is not None:
            inherited = params[name]
            locked = (Related(inherited.locked_at, "locked here"),) if inherited.locked_at else ()
            out.append(Diagnostic("PK206", f"'{name}' is inherited: set or narrow it, do not declare it again",
                                  entry.doc.loc(("parameters", name, "type")),
                                  related=_decl(inherited) + locked))
            continue
        if name not in params or setting.type is not None:
            declared = _declare(ctx, name, setting, entry, out)
            if declared is None:
                continue
            params[name] = declared
        param = params[name]
        _narrow(param, setting, entry, name, out)
        if param.value is not None and setting.value is None and (
                setting.min is not None or setting.max is not None or setting.values is not None
                or setting.step is not None):
            set_at = tuple(Related(i.location, "value set here") for i in param.provenance[-1:])
            for problem in violations(param.spec, param.value):
                out.append(Diagnostic(problem.code, f"inherited {name} = {problem.message}",
                                      entry.doc.loc(("parameters", name)), related=set_at))
        if param.schedule and not setting.schedule and _narrows(setting):
            for window in param.schedule:  # the line's campaign values must fit the narrower bounds
                for problem in violations(param.spec, window.value):
                    out.append(Diagnostic(problem.code, f"inherited {name} from {window.start} = "
                                          f"{problem.message}", entry.doc.loc(("parameters", name)),
                                          related=(Related(window.at, "dated value set here"),)))
        _set_value(param, setting, entry, name, out)
        _set_schedule(param, setting, entry, name, out)


def _narrows(setting: ParamSetting) -> bool:
    return any(x is not None for x in (setting.min, setting.max, setting.values, setting.step))


def _set_schedule(param: ResolvedParam, setting: ParamSetting, entry: Entry, name: str,
                  out: list[Diagnostic]) -> None:
    """A dated campaign's values (``schedule:``): each checked like the value, windows in order
    and apart; a child's schedule replaces its line's, and a locked value takes none."""
    if not setting.schedule:
        return
    if param.locked and param.locked_at is not None and param.locked_at.file != entry.doc.file:
        out.append(Diagnostic("PK206", f"{name} is locked by the line: a schedule would change its value",
                              entry.doc.loc(("parameters", name, "schedule")),
                              related=(Related(param.locked_at, "locked here"),)))
        return
    windows = [w for i, sv in enumerate(setting.schedule)
               if (w := _window(param, sv, entry, ("parameters", name, "schedule", i), out)) is not None]
    if len(windows) != len(setting.schedule):
        return
    windows.sort(key=lambda w: w.start)
    for before, after in itertools.pairwise(windows):
        if before.end is None or after.start <= before.end:
            out.append(Diagnostic("PK225", f"{name}: the window from {after.start} overlaps the window from "
                                  f"{before.start}" + (f" until {before.end}" if before.end else " (open)"),
                                  after.at, related=(Related(before.at, "the other window"),),
                                  hint="an application date must fall in one window at most: end the first "
                                  "window before the next starts"))
            return
    param.schedule = windows
    param.provenance.append(ProvenanceItem(
        _source(entry), entry.doc.loc(("parameters", name, "schedule")),
        "; ".join(f"{w.value} from {w.start}" + (f" until {w.end}" if w.end else "") for w in windows)))


def _window(param: ResolvedParam, sv: Any, entry: Entry, path: tuple[str | int, ...],
            out: list[Diagnostic]) -> Window | None:
    dates: dict[str, dt.date] = {}
    for key, raw in (("from", sv.from_), ("until", sv.until)):
        if raw is None:
            continue
        try:
            dates[key] = parse_date(raw)
        except ValueProblem as exc:
            out.append(Diagnostic("PK108", exc.message, entry.doc.loc((*path, key)), hint="write YYYY-MM-DD"))
    if "from" not in dates or (sv.until is not None and "until" not in dates):
        return None
    if "until" in dates and dates["until"] < dates["from"]:
        out.append(Diagnostic("PK214", f"until {dates['until']} is before from {dates['from']}",
                              entry.doc.loc((*path, "until"))))
        return None
    try:
        value = coerce(param.spec, sv.value)
    except ValueProblem as exc:
        out.append(Diagnostic(exc.code, f"{param.name}: {exc.message}", entry.doc.loc((*path, "value")),
                              related=_decl(param), hint=exc.hint))
        return None
    problems = violations(param.spec, value)
    for problem in problems:
        out.append(Diagnostic(problem.code, f"{param.name} = {problem.message}", entry.doc.loc((*path, "value")),
                              related=_decl(param), hint=problem.hint))
    if problems:
        return None
    return Window(dates["from"], dates.get("until"), value, entry.doc.loc(path))


def _steps(ctx: Context, levels: list[Entry], out: list[Diagnostic]) -> list[ResolvedStep]:
    steps = _line_steps(ctx, levels[:-1], out)
    _level_steps(ctx, levels[-1], steps, out)
    return list(steps.values())


def _line_steps(ctx: Context, lines: list[Entry], out: list[Diagnostic]) -> dict[str, ResolvedStep]:
    """The steps ``lines`` (root first) declare, their components found, and their problems:
    worked out once per chain, each product given its own copies to complete."""
    made = _per_chain(ctx, ctx.line_steps, lines, _level_steps, out)
    return {sid: ResolvedStep(rs.step, rs.origin, rs.index, rs.component) for sid, rs in made.items()}


def _level_steps(ctx: Context, entry: Entry, steps: dict[str, ResolvedStep], out: list[Diagnostic]) -> None:
    """What one level (a line or the product) declares over ``steps``."""
    model = entry.model
    assert isinstance(model, Product | ProductLine)
    for i, step in enumerate(model.steps):
        resolved = ResolvedStep(step, entry, i)
        if step.use is not None:
            found = resolve_ref(ctx.catalog, step.use, COMPONENT_KINDS)
            if isinstance(found, RefProblem):
                continue  # reported by check_references
            resolved.component = found
        old = steps.get(step.id)
        if old is not None and old.step.locked and old.origin is not entry:
            out.append(locked_policy("step", step.id, resolved.loc("id"), old.loc("locked")))
            continue
        steps[step.id] = resolved  # a child's step of the same id replaces the line's, in place


def locked_policy(what: str, name: str, at: Location, locked_at: Location) -> Diagnostic:
    """PK215: a member replaces a rule, derived value or step its line locked."""
    return Diagnostic("PK215", f"{what} '{name}' is locked by the line and cannot be replaced here", at,
                      related=(Related(locked_at, "locked here"),),
                      hint=f"remove this {what} from the member (the line's applies), or unlock it in the line")


def _step_params(ctx: Context, rs: ResolvedStep, product: dict[str, ResolvedParam],
                 out: list[Diagnostic]) -> None:
    comp = rs.component.model if rs.component else None
    if isinstance(comp, UIComponent):
        _ui_bounds(rs, comp, product, out)
    if not isinstance(comp, ProcessComponent):
        for name in rs.step.with_:
            out.append(Diagnostic("PK207", f"step '{rs.step.id}' has no parameters to set",
                                  rs.loc("with", name, key=True)))
        return
    assert rs.component is not None
    for (name, decl), default in zip(comp.parameters.items(), _component_params(ctx, rs.component), strict=True):
        param = _copied(default)
        source = product.get(name) or (product.get(decl.ref) if decl.ref else None)
        if source is not None and source.value is not None:
            param.value = source.value
            param.schedule = list(source.schedule)
            param.provenance.extend(source.provenance)
        rs.params[name] = param
    for name, raw in rs.step.with_.items():
        _bind(rs, name, raw, product, out)
    for name, param in rs.params.items():
        if param.value is None and param.spec.required:
            out.append(Diagnostic("PK208", f"parameter '{name}' of {comp.id} has no value in step "
                                  f"'{rs.step.id}'", rs.loc("use"), related=_decl(param),
                                  hint=f"set it with `with: {{{name}: ...}}` or a product parameter"))


def _component_params(ctx: Context, component: Entry) -> list[ResolvedParam]:
    """A process component's parameters with their defaults, as every step using it starts
    them: worked out once per component (each step is given copies to set)."""
    found = ctx.component_params.get(id(component))
    if found is not None and found[0] is component:
        known: list[ResolvedParam] = found[1]
        return known
    comp = component.model
    assert isinstance(comp, ProcessComponent)
    params: list[ResolvedParam] = []
    for name, decl in comp.parameters.items():
        spec = ctx.effective(decl)
        param = ResolvedParam(name, spec, declared=component.doc.loc(("parameters", name), key=True))
        if spec.default is not None and param.declared is not None:
            try:
                param.value = coerce(spec, spec.default)
                param.provenance.append(ProvenanceItem(f"component:{comp.id}", param.declared, str(param.value)))
            except ValueProblem:
                pass
        params.append(param)
    ctx.component_params[id(component)] = (component, params)  # the entry kept: its id stays its own
    return params


def _ui_bounds(rs: ResolvedStep, comp: UIComponent, product: dict[str, ResolvedParam],
               out: list[Diagnostic]) -> None:
    """A screen's ``min``/``max``/``step`` written ``{param: name}``: the product's value, of the
    field's type (PK207 for a parameter the product does not set, PK113 for another type)."""
    assert rs.component is not None
    for path, spec in comp.fields.items():
        for bound in BOUNDS:
            name = param_ref(getattr(spec, bound))
            if name is None:
                continue
            declared = (Related(rs.component.doc.loc(("fields", path, bound, "param")), "bound here"),)
            source = product.get(name)
            if source is None or source.value is None:
                out.append(Diagnostic("PK207", f"{path}.{bound} of screen '{rs.step.id}' binds parameter "
                                      f"'{name}', which the product does not set", rs.loc("use"),
                                      related=declared, hint=did_you_mean(name, product)))
                continue
            found, wanted = _type_text(source.spec), _type_text(spec)
            if found != wanted:
                out.append(Diagnostic("PK113", f"{path}.{bound} of screen '{rs.step.id}' binds '{name}' "
                                      f"of type {found}, expected {wanted}", rs.loc("use"), related=declared))
                continue
            if source.schedule:
                out.append(Diagnostic("PK226", f"{path}.{bound} of screen '{rs.step.id}' binds '{name}', whose "
                                      "value changes with the application date (schedule:); a screen's form is "
                                      "fixed for the product version", rs.loc("use"),
                                      related=(*declared, Related(source.schedule[0].at, "dated here")),
                                      hint="bind a parameter without a schedule, or make the campaign a new "
                                      "product version with its own bounds"))
                continue
            rs.bounds.setdefault(path, {})[bound] = source.value


def _type_text(spec: TypeSpec) -> str:
    """A type as a bound compares it: money with its currency."""
    kind = spec.type or "string"
    return f"{kind} {spec.currency}" if kind == "money" and spec.currency else kind


def _bind(rs: ResolvedStep, name: str, raw: Any, product: dict[str, ResolvedParam],
          out: list[Diagnostic]) -> None:
    at = rs.loc("with", name)
    param = rs.params.get(name)
    if param is None:
        out.append(Diagnostic("PK207", f"the component has no parameter '{name}'", rs.loc("with", name, key=True),
                              hint=did_you_mean(name, rs.params)))
        return
    if isinstance(raw, dict) and set(raw) == {"param"}:
        source = product.get(str(raw["param"]))
        if source is None or source.value is None:
            out.append(Diagnostic("PK207", f"no product parameter '{raw['param']}' with a value", at,
                                  hint=did_you_mean(str(raw["param"]), product)))
            return
        value, schedule = source.value, list(source.schedule)
    else:
        try:
            value, schedule = coerce(param.spec, raw), []
        except ValueProblem as exc:
            out.append(Diagnostic(exc.code, f"{name}: {exc.message}", at, related=_decl(param), hint=exc.hint))
            return
    for each in [value, *(w.value for w in schedule)]:  # a campaign's value must suit the step too
        for problem in violations(param.spec, each):
            out.append(Diagnostic(problem.code, f"{name} = {problem.message}", at, related=_decl(param)))
    param.value, param.schedule = value, schedule
    param.provenance.append(ProvenanceItem(f"step:{rs.step.id}", at, str(value)))


def resolve_product(ctx: Context, entry: Entry) -> ResolvedProduct:
    """Resolve one Product (or ProductLine) entry; problems are in ``.diagnostics``."""
    out: list[Diagnostic] = []
    chain = extends_chain(ctx, entry, out)
    levels = [*reversed(chain), entry]
    params = _params(ctx, levels, out)
    steps = _steps(ctx, levels, out)
    for rs in steps:
        _step_params(ctx, rs, params, out)
        comp = rs.component.model if rs.component else None
        rs.settings = step_settings(rs.step, comp, rs.loc, params, out)
    rp = ResolvedProduct(entry, chain, params, [], {}, steps, [], {}, out)
    for level in levels:
        _inherit(ctx, rp, level)
    _forbidden_channels(rp, levels)
    if isinstance(entry.model, Product):
        _required(entry, params, out)
    return rp


def _inherit(ctx: Context, rp: ResolvedProduct, level: Entry) -> None:
    """One level's channels, context, rules and derived values over what the lines above set;
    a rule or derived value of an inherited id replaces it in place, unless it is locked."""
    model = level.model
    assert isinstance(model, Product | ProductLine)
    if model.channels is not None:
        rp.channels = list(model.channels)
    for path, spec in model.context.items():
        rp.context[path] = (ctx.effective(spec), level.doc.loc(("context", path), key=True))
        if spec.channels is not None:
            rp.context_channels[path] = list(spec.channels)
        else:
            rp.context_channels.pop(path, None)
    rules = {rule.id: i for i, (rule, _, _) in enumerate(rp.rules)}
    for i, rule in enumerate(model.rules):
        old = rp.rules[rules[rule.id]] if rule.id in rules else None
        if old is None:
            rp.rules.append((rule, level, i))
        elif old[0].locked and old[1] is not level:
            rp.diagnostics.append(locked_policy("rule", rule.id, level.doc.loc(("rules", i, "id")),
                                                old[1].doc.loc(("rules", old[2], "locked"))))
        else:
            rp.rules[rules[rule.id]] = (rule, level, i)
    for name, d in model.derived.items():
        prev = rp.derived.get(name)
        if prev is not None and prev[0].locked and prev[1] is not level:
            rp.diagnostics.append(locked_policy("derived value", name, level.doc.loc(("derived", name), key=True),
                                                prev[1].doc.loc(("derived", name, "locked"))))
            continue
        rp.derived[name] = (d, level)


def _forbidden_channels(rp: ResolvedProduct, levels: list[Entry]) -> None:
    """PK220: a channel the product launches on that a policy of it or its lines forbids."""
    for level in levels:
        model = level.model
        assert isinstance(model, Product | ProductLine)
        if model.channel_policy is not None:
            for j, channel in enumerate(model.channel_policy.forbid):
                rp.forbidden.setdefault(channel, level.doc.loc(("channel_policy", "forbid", j)))
    setter = next((lv for lv in reversed(levels) if _body(lv).channels is not None), None)
    if setter is None:
        return
    for j, channel in enumerate(rp.channels):
        if channel in rp.forbidden:
            rp.diagnostics.append(Diagnostic(
                "PK220", f"channel '{channel}' is forbidden by the channel policy of "
                f"{_policy_owner(levels, channel)}", setter.doc.loc(("channels", j)),
                related=(Related(rp.forbidden[channel], "forbidden here"),),
                hint=f"remove '{channel}' from channels; the policy says why it is never offered"))


def _body(entry: Entry) -> Product | ProductLine:
    assert isinstance(entry.model, Product | ProductLine)
    return entry.model


def _policy_owner(levels: list[Entry], channel: str) -> str:
    for level in levels:
        policy = _body(level).channel_policy
        if policy is not None and channel in policy.forbid:
            return _source(level).replace(":", " ")
    return "the product"


def _required(entry: Entry, params: dict[str, ResolvedParam], out: list[Diagnostic]) -> None:
    for name, param in params.items():
        if param.value is None and param.spec.required:
            out.append(Diagnostic("PK208", f"parameter '{name}' has no value", entry.doc.loc(("id",)),
                                  related=_decl(param), hint=f"set parameters.{name} in the product or its line"))
