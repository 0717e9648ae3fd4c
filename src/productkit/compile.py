"""Stage 5: an assembled product -> its workflow definition (see :mod:`productkit.ir`)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from . import expr, ir
from .assemble import Assembly, StepIO, is_finally, step_scope, type_name
from .model import Label, ProcessComponent, TypeSpec, UIComponent, UIField
from .params import coerce
from .resolve import ResolvedParam, ResolvedProduct, ResolvedStep
from .types import Duration, Money, ValueProblem, of

__all__ = ["Shared", "compile_product", "json_value"]

_P = TypeVar("_P")


def json_value(value: Any) -> Any:
    """A resolved value as JSON: exact decimals as strings (for values whose declaration is not
    at hand; :func:`typed_json` asks the declared type)."""
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Duration):
        return value.text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    return value


def typed_json(spec: TypeSpec, value: Any) -> Any:
    """A value of ``spec``'s type as the workflow definition holds it."""
    return of(type_name(spec)).to_json(value)


def _label(label: Label | None) -> ir.Label | None:
    return None if label is None else _ir_label(label.zh_cn, label.en)


@functools.lru_cache(maxsize=8192)
def _ir_label(zh_cn: str, en: str) -> ir.Label:
    """One (frozen) label per text: products share most titles, and a model costs more to make
    than to look up."""
    return ir.Label(**{"zh-CN": zh_cn, "en": en})


@functools.lru_cache(maxsize=16384)
def _provenance(source: str, file: str, line: int, col: int, value: str | None) -> ir.Provenance:
    """One (frozen) provenance entry per place: the products of a line share its values'."""
    return ir.Provenance(source=source, file=file, line=line, col=col, value=value)


# field_def of declarations met before, by identity: the loaded catalogue's declarations are
# frozen and shared by every product using their component. Each entry holds the declaration
# itself, so its id is not reused while the entry lives; the table is emptied when it fills.
_FIELD_DEFS: dict[int, tuple[TypeSpec, ir.FieldDef]] = {}
_FIELD_DEFS_MAX = 20_000


class Shared:
    """Parts of definitions made before in one build, by what they are made of: the products of
    a line take most of its steps and parameters as they are, so each such part is made once
    (per process) and the same frozen object goes into every definition that has it; and the
    JSON of those steps (``steps``), dumped once for the digests and once for the files.

    A key names the catalogue objects a part is made of by their ids; its entry holds those
    objects, so that no id is reused while the entry lives. The table is emptied when it fills.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self._parts: dict[tuple[Any, ...], tuple[tuple[object, ...], Any]] = {}
        self._limit = limit
        self.steps = ir.DumpedSteps()

    def get(self, key: tuple[Any, ...] | None, keep: tuple[object, ...], make: Callable[[], _P]) -> _P:
        """``make()``, or what it made before under ``key`` (None: not shareable)."""
        if key is None:
            return make()
        hit = self._parts.get(key)
        if hit is not None and len(hit[0]) == len(keep) and all(a is b for a, b in zip(hit[0], keep, strict=True)):
            found: _P = hit[1]
            return found
        made = make()
        if len(self._parts) >= self._limit:
            self._parts.clear()
        self._parts[key] = (keep, made)
        return made


def _value_key(value: Any) -> tuple[type, str]:
    """A value as a key: its type and text (1.0 and 1.00 are equal but not written alike)."""
    return type(value), repr(value)


def _param_key(p: ResolvedParam) -> tuple[Any, ...]:
    """What :func:`param_value` makes of ``p`` depends on (its declaration by identity)."""
    return (id(p.spec), p.locked, _value_key(p.value), tuple(p.provenance),
            tuple((w.start, w.end, _value_key(w.value)) for w in p.schedule))


def _hashable(key: tuple[Any, ...]) -> tuple[Any, ...] | None:
    try:
        hash(key)
    except TypeError:  # a value that cannot be a key: the part is made afresh
        return None
    return key


def _bound(spec: TypeSpec, name: str) -> str | None:
    try:
        value = of(type_name(spec)).bound(spec, name)
    except ValueProblem:
        return None
    return None if value is None else str(typed_json(spec, value))


def field_def(spec: TypeSpec, bounds: Mapping[str, Any] | None = None) -> ir.FieldDef:
    """The definition of a datum; ``bounds``: values of ``min``/``max``/``step`` that the
    declaration binds to product parameters (``{param: name}``), resolved for this product."""
    if bounds:
        return _field_def(spec, bounds)
    hit = _FIELD_DEFS.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    made = _field_def(spec, None)
    if len(_FIELD_DEFS) >= _FIELD_DEFS_MAX:
        _FIELD_DEFS.clear()
    _FIELD_DEFS[id(spec)] = (spec, made)
    return made


def _field_def(spec: TypeSpec, bounds: Mapping[str, Any] | None) -> ir.FieldDef:
    ui = spec if isinstance(spec, UIField) else None
    bound = {name: _bound(spec, name) for name in ("min", "max", "step")}
    bound.update({name: str(typed_json(spec, value)) for name, value in (bounds or {}).items()})
    default = None
    if spec.default is not None:
        try:
            default = typed_json(spec, coerce(spec, spec.default))
        except ValueProblem:
            default = None
    return ir.FieldDef(
        type=spec.type or "string", items=field_def(spec.items) if spec.items else None,
        required=spec.required, currency=spec.currency, scale=spec.scale,
        min=bound["min"], max=bound["max"], step=bound["step"],
        # A list's size bounds travel as min_length/max_length, which forms and the engine read.
        min_length=spec.min_items if spec.type == "list" else spec.min_length,
        max_length=spec.max_items if spec.type == "list" else spec.max_length, pattern=spec.pattern,
        values=[str(v) for v in spec.values] if spec.values is not None else None,
        value_labels={k: _label(v) for k, v in spec.labels.items()} if spec.labels else None,
        label=_label(ui.label) if ui else _label(spec.title),
        widget=ui.widget if ui else None, placeholder=_label(ui.placeholder) if ui else None,
        help=_label(ui.help) if ui else None, channels=ui.channels if ui else None,
        readonly=ui.readonly if ui else False, default=default,
    )


def _context_def(rp: ResolvedProduct, path: str, field: ir.FieldDef) -> ir.FieldDef:
    """A context entry (``field``: its declaration's definition); one supplied on fewer
    channels names them (absent elsewhere)."""
    only = rp.context_channels.get(path)
    return field if only is None else field.model_copy(update={"channels": [c for c in rp.channels if c in only]})


def param_value(p: ResolvedParam, relative: Callable[[str], str] = str,
                shared: Shared | None = None) -> ir.ParamValue:
    """A resolved parameter as the definition carries it; provenance files through ``relative``
    (relative to the catalogue root, so the output never depends on the working directory);
    the same object for every parameter made alike, given what the build ``shared``."""
    if shared is None:
        return _param_value(p, relative)
    return shared.get(_hashable(("param", relative, *_param_key(p))), (p.spec,), lambda: _param_value(p, relative))


def _param_value(p: ResolvedParam, relative: Callable[[str], str]) -> ir.ParamValue:
    return ir.ParamValue(
        type=type_name(p.spec), value=typed_json(p.spec, p.value), currency=p.spec.currency, unit=p.spec.unit,
        title=_label(p.spec.title), locked=p.locked,
        provenance=[_provenance(i.source, relative(i.location.file), i.location.line, i.location.col, i.value)
                    for i in p.provenance],
        schedule=[ir.Scheduled.model_validate({"from": w.start.isoformat(),
                                               "until": w.end.isoformat() if w.end else None,
                                               "value": typed_json(p.spec, w.value)}) for w in p.schedule],
    )


def _when(asm: Assembly, io: StepIO) -> ir.Condition | None:
    """The step's condition, with a channel restriction folded in as ``channel in [...]``."""
    restricted = set(io.channels) != set(asm.product.channels)
    parts = []
    if restricted:
        parts.append("channel in [" + ", ".join(f'"{c}"' for c in io.channels) + "]")
    if io.rs.step.when is not None:
        parts.append(f"({io.rs.step.when})" if restricted else io.rs.step.when)
    if not parts:
        return None
    if not restricted:
        return io.condition
    result = expr.check(" && ".join(parts), step_scope(asm, io), "boolean")
    return result if isinstance(result, ir.Condition) else io.condition


def _step(asm: Assembly, io: StepIO, relative: Callable[[str], str], shared: Shared | None) -> ir.Step:
    """A step of the definition: made once for every product whose step is made of the same
    things (the line's step, its component, channels, condition, bounds, parameters, settings)."""
    rs, when = io.rs, _when(asm, io)
    if shared is None or not _shareable(asm.product, rs):
        return _make_step(asm, io, when, relative, shared)
    key = _hashable(("step", relative, id(rs.step), id(rs.component), tuple(io.channels),
                     tuple(asm.product.channels), id(when),
                     tuple((path, tuple((b, _value_key(v)) for b, v in bound.items()))
                           for path, bound in rs.bounds.items()),
                     tuple((name, *_param_key(p)) for name, p in rs.params.items()), rs.settings))
    keep = (rs.step, rs.component, when, *(p.spec for p in rs.params.values()))
    return shared.get(key, keep, lambda: _make_step(asm, io, when, relative, shared))


def _shareable(rp: ResolvedProduct, rs: ResolvedStep) -> bool:
    """Whether another product can have this step: not when the product's own document declares
    it or sets one of its parameters (such a step is made, not remembered)."""
    own = rp.entry.doc.file
    return rs.origin is not rp.entry and not any(
        item.location.file == own for p in rs.params.values() for item in p.provenance)


def _make_step(asm: Assembly, io: StepIO, when: ir.Condition | None, relative: Callable[[str], str],
               shared: Shared | None) -> ir.Step:
    rs, comp = io.rs, (io.rs.component.model if io.rs.component else None)
    title = _label(rs.step.title) or (_label(getattr(comp, "title", None)) if comp is not None else None)
    base: dict[str, Any] = {
        "id": rs.step.id, "title": title or ir.Label(**{"zh-CN": rs.step.id, "en": rs.step.id}),
        "component": f"{comp.id}@{comp.version}" if comp is not None else None,
        "when": when, "channels": io.channels,
    }
    if rs.step.end is not None:
        return ir.Step(kind="end", outcome=rs.step.end, message=_label(rs.step.message), **base)
    if isinstance(comp, UIComponent):
        fields = {path: field_def(spec, rs.bounds.get(path)) for path, spec in comp.fields.items()}
        return ir.Step(kind="user", actor="customer", fields=fields, shows=list(comp.shows), **base)
    assert isinstance(comp, ProcessComponent)
    return _process_step(asm, io, comp, base, relative, shared)


def _process_step(asm: Assembly, io: StepIO, comp: ProcessComponent, base: dict[str, Any],
                  relative: Callable[[str], str], shared: Shared | None) -> ir.Step:
    params = {n: param_value(p, relative, shared) for n, p in io.rs.params.items() if p.value is not None}
    if comp.task == "wait":
        duration = comp.wait.duration if comp.wait else "PT0S"
        if duration in io.rs.params and io.rs.params[duration].value is not None:
            param = io.rs.params[duration]
            duration = typed_json(param.spec, param.value)
        return ir.Step(kind="wait", duration=duration, parameters=params,
                       interruptible=comp.wait.interruptible if comp.wait else True, **base)
    routes = {code: ir.ErrorRoute(end=r.end, goto=r.goto, message=_label(r.message))
              for code, r in io.rs.step.on_error.items()}
    final = is_finally(io)  # never changes the outcome: its errors and failures are recorded
    for err in [] if final else comp.errors:
        routes.setdefault(err.code, ir.ErrorRoute(end="failed"))
    settings = io.rs.settings
    retry, timeout = settings.retry, settings.timeout
    common = dict(parameters=params, inputs=dict(io.inputs), outputs=dict(io.outputs), errors=routes,
                  timeout=timeout.text if timeout else None,
                  compensation=ir.Compensation(handler=comp.compensation.handler) if comp.compensation else None,
                  retry=ir.Retry(max_attempts=retry.max_attempts,
                                 backoff=retry.backoff.text if retry.backoff else None,
                                 multiplier=str(retry.multiplier),
                                 max_backoff=retry.max_backoff.text if retry.max_backoff else None)
                  if retry else ir.Retry())
    if comp.task == "manual":
        fields = {io.outputs[p]: field_def(spec) for p, spec in comp.outputs.items()}
        error_path = None
        if routes:
            error_path = io.rs.step.id.replace("-", "_") + ".error"
            fields[error_path] = ir.FieldDef(
                type="enum", required=False, values=sorted(routes),
                value_labels={e.code: _label(e.title) for e in comp.errors if e.title is not None} or None,
                label=ir.Label(**{"zh-CN": "不通过原因", "en": "Reason not to proceed"}), widget="select")
        assignment = settings.assignment
        groups = list(assignment.candidate_groups) if assignment else []
        due = assignment.due.text if assignment and assignment.due else None
        return ir.Step(kind="user", actor="staff", candidate_groups=groups, due=due, fields=fields,
                       error_path=error_path,
                       **{**base, "channels": list(asm.product.channels)}, **common)
    return ir.Step(kind="service", handler=comp.handler, critical=io.rs.step.critical and not final,
                   **base, **common)


def _flow(asm: Assembly) -> ir.Flow:
    """Stages of equal depth in the graph; a stage of several steps is a Parallel block."""
    depth: dict[str, int] = {}
    for sid in asm.order:
        preds = [p for p in asm.graph.predecessors(sid) if p in asm.steps]
        depth[sid] = max((depth[p] + 1 for p in preds), default=0)
    stages: dict[int, list[str]] = {}
    for sid in asm.order:
        stages.setdefault(depth[sid], []).append(sid)
    flow: ir.Flow = []
    for level in sorted(stages):
        group = stages[level]
        flow.append(group[0] if len(group) == 1 else ir.Parallel(parallel=[[s] for s in group]))
    return flow


def _journeys(asm: Assembly, steps: dict[str, ir.Step]) -> dict[str, list[str]]:
    """The customer screens each channel shows, in flow order (steps restricted to channels
    give each channel its own journey)."""
    out: dict[str, list[str]] = {}
    for channel in asm.product.channels:
        out[channel] = [sid for sid in asm.order
                        if steps[sid].kind == "user" and steps[sid].actor == "customer"
                        and channel in steps[sid].channels]
    return out


def compile_product(asm: Assembly, resolve_date: Callable[[str], str | None] | None = None,
                    relative: Callable[[str], str] = str, calendar: str = "CN",
                    digest: bool = True, shared: Shared | None = None) -> ir.WorkflowDefinition:
    """The workflow definition of one assembled, diagnostic-free product; without its content
    ``digest`` (left empty) when it is only asked what targets would say of it. ``shared``:
    the parts of the build's other definitions, which this one uses where it has them alike."""
    rp = asm.product
    model = rp.model
    finals = [sid for sid, io in asm.steps.items() if is_finally(io)]
    steps = {sid: _step(asm, asm.steps[sid], relative, shared) for sid in [*asm.order, *finals]}
    rules = [ir.Rule(id=r.id, kind=r.kind, condition=asm.conditions[f"rule:{r.id}"], message=_label(r.message))
             for r, _, _ in rp.rules if f"rule:{r.id}" in asm.conditions]
    derived = {n: ir.Derived(type=d.type, condition=asm.conditions[f"derived:{n}"], currency=d.currency)
               for n, (d, _) in rp.derived.items() if f"derived:{n}" in asm.conditions}
    effective = getattr(model, "effective", None)
    source_from = str(effective.from_) if effective is not None and effective.from_ is not None else None
    resolved_from = resolve_date(source_from) if (resolve_date and source_from) else source_from
    context = {p: field_def(s) for p, (s, _) in rp.context.items()}  # the context and the data hold them
    defn = ir.WorkflowDefinition(
        id=model.id, version=model.version, name=_label(model.name),
        description=model.description,
        lines=[f"{e.model.id}@{e.model.version}" for e in rp.chain], channels=list(rp.channels),
        effective=ir.Effective(**{"from": resolved_from}, from_source=source_from,
                               until=str(effective.until) if effective is not None and effective.until else None),
        parameters={n: param_value(p, relative, shared) for n, p in sorted(rp.params.items())
                    if p.value is not None},
        context={p: _context_def(rp, p, f) for p, f in context.items()},
        data=_data(asm, context), steps=steps, flow=_flow(asm), journeys=_journeys(asm, steps), finally_steps=finals,
        rules=rules, derived=derived,
        components={e.model.id: e.model.version for rs in rp.steps if (e := rs.component) is not None},
        source=relative(rp.entry.doc.file), utc_offset=ir.BUSINESS_UTC_OFFSETS.get(calendar, "+00:00"),
    )
    return ir.with_digest(defn, shared.steps if shared is not None else None) if digest else defn


def _data(asm: Assembly, context: dict[str, ir.FieldDef]) -> dict[str, ir.FieldDef]:
    data = dict(context)
    for sid in [*asm.order, *(s for s, io in asm.steps.items() if is_finally(io))]:
        for path, spec in asm.steps[sid].writes.items():
            data.setdefault(path, field_def(spec))
    return data
