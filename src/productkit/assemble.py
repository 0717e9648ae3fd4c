"""Stage 4: the product graph. Steps, the data they read and write, and the order it forces.

Nodes are steps; an edge ``a -> b`` says ``a`` must finish before ``b`` starts, with the reason
(data, capability, explicit ``after``, error route, journey order). Checks over the graph run
in one pass in topological order (integer bitsets for "produced on every path"), so they stay
near-linear at thousands of steps.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import expr
from ._digraph import (
    DiGraph,
    NotAcyclic,
    ancestors,
    descendants,
    has_path,
    is_acyclic,
    lexicographical_topological_sort,
)
from .channel_exprs import dead_channel_comparisons
from .context import Context, Key
from .diagnostics import Diagnostic, Location, Related, Severity
from .ir import OUTCOME_VARIABLE, Condition
from .loader import Document
from .model import CHANNELS, ProcessComponent, TypeSpec, UIComponent
from .params import effective_spec
from .resolve import ResolvedProduct, ResolvedStep
from .shape import did_you_mean
from .sources import Entry

__all__ = ["OUTCOME_NAME", "Assemblies", "Assembly", "StepIO", "assemble", "edge_reason", "is_finally", "step_scope",
           "type_name", "write_channels"]

START = "<start>"
OUTCOME_NAME = OUTCOME_VARIABLE  # what a finally step's condition reads: the outcome reached


def type_name(spec: TypeSpec) -> str:
    if spec.type == "list":
        return "list:" + (type_name(spec.items) if spec.items else "string")
    if spec.type == "table":
        return f"table:{spec.key.type if spec.key else 'string'}:{spec.cell.type if spec.cell else 'string'}"
    return spec.type or "string"


@dataclass(slots=True)
class StepIO:
    """What one step reads and writes, in product data paths."""

    rs: ResolvedStep
    reads: dict[str, TypeSpec] = field(default_factory=dict)
    writes: dict[str, TypeSpec] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # component path -> product path
    outputs: dict[str, str] = field(default_factory=dict)
    condition: Condition | None = None
    channels: list[str] = field(default_factory=list)
    field_channels: dict[str, list[str]] = field(default_factory=dict)  # UI fields on fewer channels

    @property
    def id(self) -> str:
        return self.rs.step.id


@dataclass(slots=True)
class Assembly:
    product: ResolvedProduct
    steps: dict[str, StepIO]
    graph: DiGraph  # step id -> step id it must precede, with the reason
    order: list[str]
    scope: dict[str, str]
    conditions: dict[str, Condition] = field(default_factory=dict)  # rule id / derived -> checked
    diagnostics: list[Diagnostic] = field(default_factory=list)
    acyclic: bool | None = None  # whether the graph has no cycle, once the order is worked out


class Assemblies(Mapping[Key, Assembly]):
    """Product key -> its Assembly, built on first use: a product whose checks came from the
    cache is resolved and assembled again only if something (compile, explain) asks for it."""

    def __init__(self, make: Callable[[Entry], Assembly]) -> None:
        self._make = make
        self._entries: dict[Key, Entry] = {}
        self._built: dict[Key, Assembly] = {}

    def add(self, entry: Entry, assembly: Assembly | None = None) -> None:
        self._entries[entry.key] = entry
        self._built.pop(entry.key, None)
        if assembly is not None:
            self._built[entry.key] = assembly

    def __getitem__(self, key: Key) -> Assembly:
        if key not in self._built:
            self._built[key] = self._make(self._entries[key])
        return self._built[key]

    def built(self, key: Key) -> Assembly | None:
        """The product's assembly if it was built (by the checks, or asked for), else None."""
        return self._built.get(key)

    def entry(self, key: Key) -> Entry:
        return self._entries[key]

    def __contains__(self, key: object) -> bool:
        # Mapping's own __contains__ would look the item up, and so build the assembly
        return key in self._entries

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def _io(rs: ResolvedStep, product_channels: list[str], dictionary: dict[str, TypeSpec]) -> StepIO:
    io = StepIO(rs)
    comp = rs.component.model if rs.component else None
    rename_in, rename_out = rs.step.inputs, rs.step.outputs
    if isinstance(comp, ProcessComponent):
        for path, spec in comp.inputs.items():
            io.inputs[path] = rename_in.get(path, path)
            io.reads[io.inputs[path]] = _resolved(spec, dictionary)
        for path, spec in comp.outputs.items():
            io.outputs[path] = rename_out.get(path, path)
            io.writes[io.outputs[path]] = _resolved(spec, dictionary)
    chans = comp.channels if isinstance(comp, UIComponent) else product_channels
    wanted = rs.step.channels if rs.step.channels is not None else product_channels
    io.channels = [c for c in product_channels if c in chans and c in wanted]
    if isinstance(comp, UIComponent):
        for path, ui_field in comp.fields.items():
            target = rename_out.get(path, path)
            io.writes[target] = _resolved(ui_field, dictionary)
            if ui_field.channels is not None:
                io.field_channels[target] = [c for c in io.channels if c in ui_field.channels]
    return io


def _resolved(spec: TypeSpec, dictionary: dict[str, TypeSpec]) -> TypeSpec:
    """``spec`` completed from the dictionary entry it refs, keeping its own class (a UI field)."""
    if spec.ref is None:
        return spec
    merged = effective_spec(spec, dictionary)
    return spec.model_copy(update={k: getattr(merged, k) for k in merged.model_fields_set})


def write_channels(io: StepIO, path: str) -> list[str]:
    """The channels on which ``io`` writes ``path`` (a UI field may be on fewer than its step)."""
    return io.field_channels.get(path, io.channels)


def _scope(rp: ResolvedProduct, steps: dict[str, StepIO]) -> dict[str, str]:
    scope = {name: type_name(p.spec) for name, p in rp.params.items()}
    scope.update({path: type_name(spec) for path, (spec, _) in rp.context.items()})
    for io in steps.values():
        scope.update({path: type_name(spec) for path, spec in io.writes.items()})
    scope.update({name: d.type for name, (d, _) in rp.derived.items()})
    return scope


def is_finally(io: StepIO) -> bool:
    """A step that runs once when the application reaches any outcome, outside the flow."""
    return io.rs.step.finally_


def step_scope(asm: Assembly, io: StepIO) -> dict[str, str]:
    """The names a step's ``when`` may read: a finally step reads the outcome reached too."""
    return {**asm.scope, OUTCOME_NAME: "string"} if is_finally(io) else asm.scope


def _outcome_hint(d: Diagnostic) -> Diagnostic:
    """PK302 on ``outcome`` outside a finally step says where the name can be read."""
    if d.code != "PK302" or f"'{OUTCOME_NAME}'" not in d.message:
        return d
    return Diagnostic(d.code, d.message, d.location, d.severity, d.related,
                      hint=f"only the condition of a step with finally: true reads {OUTCOME_NAME}")


def _param_values(rp: ResolvedProduct) -> dict[str, Any]:
    return {name: p.value for name, p in rp.params.items() if p.value is not None}


def _check_expr(text: str, scope: dict[str, str], where: tuple[Document, tuple[str | int, ...]],
                out: list[Diagnostic], want: str | None = "boolean",
                inherited: tuple[str, Location] | None = None) -> Condition | None:
    """Check one expression. ``inherited``: (the product, the rule's or value's name) when the
    expression comes from a line: the problem then names the product it was checked for and
    is placed on the name, with the place in the expression as a related location."""
    result = expr.check(text, scope, want)
    if isinstance(result, list):
        doc, path = where
        for p in result:
            at = doc.text_loc(path, p.offset)
            if inherited is None:
                out.append(Diagnostic(p.code, p.message, at, hint=p.hint))
                continue
            product, name_at = inherited
            out.append(Diagnostic(p.code, f"{p.message} (checked for {product}, which inherits it)", name_at,
                                  related=(Related(at, "in this expression"),), hint=p.hint))
        return None
    return result


def _inherited(asm: Assembly, entry: Entry, name_at: Location) -> tuple[str, Location] | None:
    """(product, name location) when ``entry`` is a line the product inherits from, else None."""
    rp = asm.product
    if entry is rp.entry:
        return None
    return f"{rp.model.kind} {rp.model.id} {rp.model.version}", name_at


def assemble(ctx: Context, rp: ResolvedProduct, checked: bool = True) -> Assembly:
    """Build and check the graph of one resolved product. Without ``checked``, the graph is
    built but not checked (no graph check runs, no constraint is evaluated): for compiling a
    product whose findings are known already (replayed from the cache)."""
    out: list[Diagnostic] = []
    steps = {rs.step.id: _io(rs, rp.channels, ctx.dictionary) for rs in rp.steps}
    scope = _scope(rp, steps)
    params = _param_values(rp)
    asm = Assembly(rp, steps, DiGraph(), [], scope, diagnostics=out)
    _derived(asm)
    for io in steps.values():
        if io.rs.step.when is not None:
            where = (io.rs.origin.doc, ("steps", io.rs.index, "when"))
            inherited = _inherited(asm, io.rs.origin, io.rs.loc("id"))
            found = len(out)
            io.condition = _check_expr(io.rs.step.when, step_scope(asm, io), where, out, inherited=inherited)
            out[found:] = [_outcome_hint(d) for d in out[found:]]
    _rules(asm, params if checked else None)
    _edges(asm)
    asm.order = _order(asm)
    for check in GRAPH_CHECKS if checked else ():
        out.extend(check(asm))
    return asm


def _derived(asm: Assembly) -> None:
    """Check the derived values, dependencies first."""
    rp = asm.product
    deps: dict[str, set[str]] = {}
    for name, (d, _) in rp.derived.items():
        # Only the order is needed here: names from the syntax tree, the one check comes below.
        deps[name] = set(expr.names_in(d.expr, asm.scope)) & set(rp.derived) - {name}
    graph = DiGraph([(dep, n) for n, ds in deps.items() for dep in ds])
    graph.add_nodes_from(rp.derived)
    try:
        order = lexicographical_topological_sort(graph)
    except NotAcyclic:  # derived values defined in a circle: CEL reports them
        order = list(rp.derived)
    for name in order:
        d, entry = rp.derived[name]
        where = (entry.doc, ("derived", name, "expr"))
        inherited = _inherited(asm, entry, entry.doc.loc(("derived", name), key=True))
        cond = _check_expr(d.expr, asm.scope, where, asm.diagnostics, want=d.type, inherited=inherited)
        if cond is not None:
            asm.conditions[f"derived:{name}"] = cond


def _rules(asm: Assembly, params: dict[str, Any] | None) -> None:
    """Check the rules; evaluate the constraints over the parameters' values (unless None)."""
    rp = asm.product
    for rule, entry, i in rp.rules:
        at = entry.doc.loc(("rules", i, "expr"))
        inherited = _inherited(asm, entry, entry.doc.loc(("rules", i, "id")))
        cond = _check_expr(rule.expr, asm.scope, (entry.doc, ("rules", i, "expr")), asm.diagnostics,
                           inherited=inherited)
        if cond is None:
            continue
        asm.conditions[f"rule:{rule.id}"] = cond
        if params is not None and rule.kind == "constraint" and set(cond.names) <= set(params):
            _constraint_holds(asm, rule, cond, params, inherited[1] if inherited else at,
                              f" (for {inherited[0]})" if inherited else "")
            _campaigns_hold(asm, rule, cond, params)


def _campaigns_hold(asm: Assembly, rule: Any, cond: Condition, params: dict[str, Any]) -> None:
    """PK306 for a dated value: the constraint must hold on the first day of every window of a
    parameter it reads, with every parameter's value on that day (a campaign rate under the
    regulatory ceiling too)."""
    rp = asm.product
    windows = [w for n in cond.names if n in rp.params for w in rp.params[n].schedule]
    # The values change only where a window starts or the day after one ends: check each such day.
    days = sorted({w.start for w in windows} | {w.end + dt.timedelta(days=1) for w in windows if w.end})
    reported: set[Location] = set()
    for day in days:
        dated = {n: w.value for n, p in rp.params.items() if n in cond.names for w in p.schedule if w.covers(day)}
        if not dated:
            continue  # every value is the usual one: checked already
        at = min((w for w in windows if w.covers(day)), key=lambda w: w.start).at
        if at in reported:
            continue
        found = len(asm.diagnostics)
        _constraint_holds(asm, rule, cond, {**params, **dated}, at, f" for applications on {day}")
        if len(asm.diagnostics) > found:
            reported.add(at)


def _constraint_holds(asm: Assembly, rule: Any, cond: Condition, params: dict[str, Any],
                      at: Location, product: str = "") -> None:
    try:
        ok = expr.evaluate(cond, params)
    except expr.ExprError as exc:
        asm.diagnostics.append(Diagnostic("PK306", f"constraint '{rule.id}' cannot be evaluated{product}: {exc}", at))
        return
    if ok is not True:
        shown = ", ".join(f"{n} = {params[n]}" for n in cond.names if n in params)
        asm.diagnostics.append(Diagnostic("PK306", f"constraint '{rule.id}' ({rule.expr}) fails with {shown}{product}",
                                          at, related=tuple(
                                              Related(asm.product.params[n].provenance[-1].location,
                                                      f"{n} set here")
                                              for n in cond.names
                                              if n in asm.product.params and asm.product.params[n].provenance)))


# Why an edge is there: (a str.format template of the reason, its arguments, the step and the
# path in it of the place that says so). Worded and located only when a cycle is reported:
# a product has a hundred edges and almost never a cycle.
Why = tuple[str, tuple[str, ...], ResolvedStep, tuple[str | int, ...]]


def _add(asm: Assembly, a: str, b: str, why: Why) -> None:
    if a == b:
        return
    if not asm.graph.has_edge(a, b):
        asm.graph.add_edge(a, b, why=why)


def edge_reason(data: Mapping[str, Any]) -> tuple[str, Location]:
    """The reason for an edge of an assembly's graph (its data) and the place that says it."""
    text, args, rs, path = data["why"]
    return text.format(*args), rs.loc(*path)


def _flow_steps(asm: Assembly) -> dict[str, StepIO]:
    """The steps of the flow: every step but the finally steps, which run after it ends."""
    return {sid: io for sid, io in asm.steps.items() if not is_finally(io)}


def _edges(asm: Assembly) -> None:
    g = asm.graph
    g.add_node(START)
    flow = _flow_steps(asm)
    for sid in flow:
        g.add_node(sid)
    writers: dict[str, list[str]] = {}
    for sid, io in flow.items():
        for path in io.writes:
            writers.setdefault(path, []).append(sid)
    providers: dict[str, list[str]] = {}
    for sid, io in flow.items():
        comp = io.rs.component.model if io.rs.component else None
        for cap in comp.provides if isinstance(comp, ProcessComponent) else []:
            providers.setdefault(cap, []).append(sid)
    for sid, io in flow.items():
        for path in _all_reads(asm, io):
            for w in writers.get(path, []):
                _add(asm, w, sid, ("'{}' reads {} written by '{}'", (sid, path, w), io.rs, ("use",)))
        comp = io.rs.component.model if io.rs.component else None
        for cap in comp.requires if isinstance(comp, ProcessComponent) else []:
            for w in providers.get(cap, []):
                _add(asm, w, sid, ("'{}' requires {} provided by '{}'", (sid, cap, w), io.rs, ("use",)))
        for j, before in enumerate(io.rs.step.after):
            if before in asm.steps and is_finally(asm.steps[before]):
                continue  # PK413
            if before == sid:  # a step after itself: a cycle of one, which _add would drop
                asm.graph.add_edge(sid, sid, why=("'{}' is declared after itself", (sid,), io.rs, ("after", j)))
            elif before in asm.steps:
                _add(asm, before, sid, ("'{}' is declared after '{}'", (sid, before), io.rs, ("after", j)))
        for code, route in io.rs.step.on_error.items():
            if route.goto in flow:
                _add(asm, sid, route.goto, ("error {} of '{}' goes to '{}'", (code, sid, route.goto), io.rs,
                                            ("on_error", code)))
    _shows_edges(asm, writers)
    _journey_edges(asm)
    _end_edges(asm)


def _shows_edges(asm: Assembly, writers: dict[str, list[str]]) -> None:
    """A screen comes after the steps that produce what it shows (a quote before its screen)."""
    for sid, io in _flow_steps(asm).items():
        comp = _comp(io)
        if not isinstance(comp, UIComponent):
            continue
        for path in comp.shows:
            for read in _shown_reads(asm, path):
                for w in writers.get(read, []):
                    _add(asm, w, sid, ("screen '{}' shows {} written by '{}'", (sid, read, w), io.rs, ("use",)))


def _shown_reads(asm: Assembly, name: str) -> list[str]:
    """The data paths behind one ``shows`` entry: the path, or what a derived value reads."""
    if "." in name:
        return [name]
    cond = asm.conditions.get(f"derived:{name}")
    return _condition_reads(asm, cond) if cond is not None else []


def _end_edges(asm: Assembly) -> None:
    """An end gates every step declared after it that it does not itself need; an end without
    ``when`` also waits for every step declared before it (else it would end the application
    while they run)."""
    ids = list(_flow_steps(asm))
    for i, sid in enumerate(ids):
        step = asm.steps[sid].rs.step
        if not step.end:
            continue
        if not step.when:
            for earlier in ids[:i]:
                if not has_path(asm.graph, sid, earlier):
                    _add(asm, earlier, sid, ("the end step '{}' is declared after '{}'", (sid, earlier),
                                              asm.steps[sid].rs, ("id",)))
        needed = ancestors(asm.graph, sid)
        for later in ids[i + 1:]:
            if later not in needed:
                _add(asm, sid, later, ("'{}' is declared after the end step '{}'", (later, sid),
                                       asm.steps[later].rs, ("id",)))


def _journey_edges(asm: Assembly) -> None:
    """Customer screens keep their declared order: a journey is a sequence."""
    users = [sid for sid, io in _flow_steps(asm).items() if isinstance(_comp(io), UIComponent)]
    for a, b in itertools.pairwise(users):
        if not has_path(asm.graph, b, a):
            _add(asm, a, b, ("screen '{}' follows screen '{}'", (b, a), asm.steps[b].rs, ("use",)))


def _comp(io: StepIO) -> Any:
    return io.rs.component.model if io.rs.component else None


def _all_reads(asm: Assembly, io: StepIO) -> list[str]:
    reads = list(io.reads)
    if io.condition is not None:
        reads.extend(_condition_reads(asm, io.condition))
    return reads


def _condition_reads(asm: Assembly, cond: Condition) -> list[str]:
    """Data paths a condition reads, through the derived values it names too."""
    out: list[str] = []
    todo, seen = list(cond.names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if "." in name:
            out.append(name)
        elif f"derived:{name}" in asm.conditions:
            todo.extend(asm.conditions[f"derived:{name}"].names)
    return sorted(out)


def _order(asm: Assembly) -> list[str]:
    g = asm.graph
    position = {sid: i for i, sid in enumerate(asm.steps)}
    asm.acyclic = is_acyclic(g)
    if not asm.acyclic:
        return list(_flow_steps(asm))
    return [n for n in lexicographical_topological_sort(g, key=lambda n: position.get(n, -1)) if n != START]


# ------------------------------------------------------------------ graph checks


def check_cycles(asm: Assembly) -> Iterator[Diagnostic]:
    """PK401: every cycle, each edge with its reason, located at its first step."""
    if asm.acyclic:  # (the graph is not changed after its order is worked out)
        return
    import networkx as nx  # a cycle is rare: its edges are named by the general library

    graph = asm.graph.to_networkx()
    for scc in nx.strongly_connected_components(graph):
        if len(scc) < 2 and not graph.has_edge(next(iter(scc)), next(iter(scc))):
            continue
        cycle = nx.find_cycle(graph.subgraph(scc))
        names = " -> ".join([cycle[0][0], *(b for _, b in cycle)])
        related = tuple(Related(at, reason) for reason, at in (edge_reason(graph.edges[a, b]) for a, b in cycle))
        first = asm.steps[cycle[0][0]]
        yield Diagnostic("PK401", f"steps form a cycle: {names}", first.rs.loc("id"), related=related)


def _producers(asm: Assembly) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {path: [START] for path in asm.product.context}
    for sid, io in asm.steps.items():
        for path in io.writes:
            out.setdefault(path, []).append(sid)
    return out


def check_providers(asm: Assembly) -> Iterator[Diagnostic]:
    """PK402/PK409: every read has a producer on every channel the step runs on."""
    producers = _producers(asm)
    for sid, io in asm.steps.items():
        for path in _all_reads(asm, io):
            if path not in producers and path not in asm.scope:
                yield Diagnostic("PK402", f"step '{sid}' needs {path} and nothing provides it",
                                 io.rs.loc("use" if path in io.reads else "when"),
                                 hint="add a step whose component outputs it, a UI field, or a context entry")
                continue
            for channel in [] if is_finally(io) else io.channels:  # a finally step reads what exists
                on = [p for p in producers.get(path, [])
                      if (p == START and _context_on(asm, path, channel))
                      or (p != START and channel in write_channels(asm.steps[p], path))]
                if not on and path in producers:
                    yield Diagnostic("PK409", f"on channel '{channel}' nothing collects {path}, "
                                     f"which step '{sid}' needs", io.rs.loc("use" if path in io.reads else "when"),
                                     hint=_missing_hint(asm, producers[path], sid, channel))


def _missing_hint(asm: Assembly, producers: list[str], sid: str, channel: str) -> str:
    """PK409's fix: a screen is wanted only when screens produce the value; a service step
    that does not run on the channel is made to run there, or the reader kept off it."""
    services = [p for p in producers if p != START and not isinstance(_comp(asm.steps[p]), UIComponent)]
    if not services:
        return f"add a UI component available on {channel} that collects it"
    where = "; ".join(f"step '{p}', which runs only on {', '.join(asm.steps[p].channels) or 'no channel'}"
                      for p in services)
    return (f"it is an output of {where}: run that step on {channel} too (its channels:), or keep "
            f"'{sid}' off {channel} (its channels:, or a when on channel)")


def _context_on(asm: Assembly, path: str, channel: str) -> bool:
    """The context supplies ``path`` on ``channel`` (a context entry may name its channels)."""
    only = asm.product.context_channels.get(path)
    return only is None or channel in only


def check_writers(asm: Assembly) -> Iterator[Diagnostic]:
    """PK403: two steps that can run on one channel write the same data."""
    seen: dict[str, list[str]] = {}
    for sid in asm.order:
        io = asm.steps[sid]
        for path in io.writes:
            mine = set(write_channels(io, path))
            other = next((o for o in seen.get(path, []) if mine & set(write_channels(asm.steps[o], path))), None)
            if other is not None:
                yield Diagnostic("PK403", f"{path} is written by '{other}' and '{sid}'", io.rs.loc("use"),
                                 related=(Related(asm.steps[other].rs.loc("use"), "also written here"),))
            elif path in asm.product.context:
                yield Diagnostic("PK403", f"{path} is supplied by the context and written by '{sid}'",
                                 io.rs.loc("use"))
            seen.setdefault(path, []).append(sid)


def check_every_path(asm: Assembly) -> Iterator[Diagnostic]:
    """PK404: a read whose every producer is conditional, in one pass over the order."""
    # Steps that may not produce their outputs: conditional ones, and non-critical ones that fail.
    conditional = {sid for sid, io in asm.steps.items()
                   if io.condition is not None or io.rs.step.when or not io.rs.step.critical}
    producers = _producers(asm)
    for sid in asm.order:
        io = asm.steps[sid]
        own = io.rs.step.when or ""
        reads = [(path, "use") for path in io.reads]
        if io.condition is not None:
            # A condition that tests a path with has() or == null reads it knowing it may be absent.
            tested = expr.absence_tested(io.condition.cel)
            reads += [(path, "when") for path in _condition_reads(asm, io.condition) if path not in tested]
        for path, where in reads:
            found = producers.get(path, [])
            # A consumer guarded by its producer's own condition reads the value only when it exists.
            if found and all(p != START and p in conditional and (
                    not asm.steps[p].rs.step.critical or (asm.steps[p].rs.step.when or "") not in own)
                    for p in found):
                yield Diagnostic("PK404", f"{path} is not produced when step(s) "
                                 f"{', '.join(repr(p) for p in found)} are skipped, but '{sid}' needs it",
                                 io.rs.loc(where),
                                 related=tuple(Related(asm.steps[p].rs.loc("when"), "condition here")
                                               for p in found))


def _type_text(spec: TypeSpec) -> str:
    text = type_name(spec)
    if spec.type == "money" and spec.currency:
        text += f" {spec.currency}"
    if spec.type == "enum" and spec.values:
        text += "[" + ", ".join(str(v) for v in spec.values) + "]"
    return text


def _agree(producer: TypeSpec, consumer: TypeSpec) -> bool:
    if type_name(producer) != type_name(consumer):
        return False
    if producer.type == "money" and producer.currency != consumer.currency:
        return False
    if producer.type == "enum":
        return set(map(str, producer.values or [])) <= set(map(str, consumer.values or []))
    return True


def check_types(asm: Assembly) -> Iterator[Diagnostic]:
    """PK405: producer and consumer declare the same type for the data they share."""
    written: dict[str, tuple[TypeSpec, Location]] = {p: (s, loc) for p, (s, loc) in asm.product.context.items()}
    for sid in asm.order:
        io = asm.steps[sid]
        for path, spec in io.reads.items():
            if path in written and not _agree(written[path][0], spec):
                yield Diagnostic("PK405", f"step '{sid}' reads {path} as {_type_text(spec)}, but it is "
                                 f"written as {_type_text(written[path][0])}", io.rs.loc("use"),
                                 related=(Related(written[path][1], "written here"),))
        for path, spec in io.writes.items():
            written.setdefault(path, (spec, io.rs.loc("use")))


def check_reachable(asm: Assembly) -> Iterator[Diagnostic]:
    """PK406: steps that can never run (after an unconditional end, or on no channel)."""
    ends = [sid for sid, io in _flow_steps(asm).items() if io.rs.step.end and not io.rs.step.when]  # a finally
    for sid, io in asm.steps.items():  # step that says end: is PK413, and is not in the graph
        if not io.channels:
            yield Diagnostic("PK406", f"step '{sid}' runs on none of the product's channels "
                             f"({', '.join(asm.product.channels)})", io.rs.loc("id"))
    jumped = _reached_by_goto(asm, set(ends))
    for end in ends:
        for later in descendants(asm.graph, end):
            if later not in jumped:
                yield Diagnostic("PK406", f"step '{later}' comes after '{end}', which always ends the "
                                 "application", asm.steps[later].rs.loc("id"),
                                 hint="reach it with an error route ({goto: step}) or give the end a when")


def _reached_by_goto(asm: Assembly, ends: set[str]) -> set[str]:
    """Steps after an unconditional end that an error route of a step that can run jumps to,
    and the steps after them up to the next unconditional end."""
    after_end = set().union(*(descendants(asm.graph, e) for e in ends)) if ends else set()
    reached: set[str] = set()
    todo = [route.goto for sid, io in asm.steps.items() if sid not in after_end
            for route in io.rs.step.on_error.values() if route.goto in after_end]
    while todo:
        sid = todo.pop()
        if sid is None or sid in reached:
            continue
        reached.add(sid)
        io = asm.steps[sid]
        todo.extend(route.goto for route in io.rs.step.on_error.values() if route.goto in after_end)
        if sid not in ends:
            todo.extend(n for n in asm.graph.successors(sid) if n in asm.steps)
    return reached


def check_conflicts(asm: Assembly) -> Iterator[Diagnostic]:
    """PK407: components that declare a conflict with another used component or capability."""
    used: dict[str, str] = {}
    for sid, io in asm.steps.items():
        comp = _comp(io)
        if comp is not None:
            used.setdefault(comp.id, sid)
            for cap in getattr(comp, "provides", []):
                used.setdefault(cap, sid)
    for sid, io in asm.steps.items():
        comp = _comp(io)
        for other in getattr(comp, "conflicts_with", []):
            if other in used and used[other] != sid:
                yield Diagnostic("PK407", f"'{comp.id}' in step '{sid}' conflicts with '{other}' "
                                 f"used by step '{used[other]}'", io.rs.loc("use"))


def check_capabilities(asm: Assembly) -> Iterator[Diagnostic]:
    """PK410: required capabilities must be provided by some step."""
    provided = {cap for io in asm.steps.values() for cap in getattr(_comp(io), "provides", [])}
    for sid, io in asm.steps.items():
        for cap in getattr(_comp(io), "requires", []):
            if cap not in provided:
                yield Diagnostic("PK410", f"step '{sid}' requires capability '{cap}' and no step provides it",
                                 io.rs.loc("use"))


def check_unused(asm: Assembly) -> Iterator[Diagnostic]:
    """PK408 (warning): outputs no step, condition, rule or screen reads."""
    read: set[str] = set()
    for io in asm.steps.values():
        read.update(_all_reads(asm, io))
        comp = _comp(io)
        if isinstance(comp, UIComponent):
            read.update(comp.shows)
    for cond in asm.conditions.values():
        read.update(cond.names)
    for sid, io in asm.steps.items():
        if isinstance(_comp(io), UIComponent) or is_finally(io):  # a finally step's outputs are unread
            continue
        for path in io.writes:
            if path not in read:
                yield Diagnostic("PK408", f"output {path} of step '{sid}' is never used", io.rs.loc("use"),
                                 Severity.WARNING,
                                 hint="read it in a later step, condition, rule or result screen (shows:)")


def check_step_channels(asm: Assembly) -> Iterator[Diagnostic]:
    """PK211: a step restricted to a channel the product or its UI component does not offer."""
    product = set(asm.product.channels)
    for sid, io in asm.steps.items():
        comp = _comp(io)
        supported = set(comp.channels) if isinstance(comp, UIComponent) else product
        for j, channel in enumerate(io.rs.step.channels or []):
            if channel not in product:
                yield Diagnostic("PK211", f"step '{sid}' names channel '{channel}', which the product "
                                 f"does not launch on ({', '.join(asm.product.channels)})", io.rs.loc("channels", j))
            elif channel not in supported:
                yield Diagnostic("PK211", f"{comp.id} does not support channel '{channel}' "
                                 f"(it supports {', '.join(sorted(supported))})", io.rs.loc("channels", j))


def _expressions(asm: Assembly) -> Iterator[tuple[str, Document, tuple[str | int, ...]]]:
    """Every expression of the product: step conditions, rules, derived values, with their place."""
    for io in asm.steps.values():
        if io.rs.step.when is not None:
            yield io.rs.step.when, io.rs.origin.doc, ("steps", io.rs.index, "when")
    for rule, entry, i in asm.product.rules:
        yield rule.expr, entry.doc, ("rules", i, "expr")
    for name, (d, entry) in asm.product.derived.items():
        yield d.expr, entry.doc, ("derived", name, "expr")


def check_channel_comparisons(asm: Assembly) -> Iterator[Diagnostic]:
    """PK221 (warning): ``channel`` compared with no channel, or with one the product does not
    offer. An expression a line gives its members may name a channel only some members offer:
    there only a value that is no channel at all is flagged."""
    own = asm.product.entry.doc.file
    for text, doc, path in _expressions(asm):
        offered = asm.product.channels if doc.file == own else CHANNELS
        for dead in dead_channel_comparisons(text, offered):
            yield Diagnostic("PK221", dead.message, doc.text_loc(path, dead.offset), Severity.WARNING,
                             hint="compare with a channel in the product's channels, or drop the comparison; "
                             "to refuse a channel for good, use channel_policy")


def _unguarded(cond: Condition) -> bool:
    return "channel" not in cond.names and "channel" not in cond.cel


def check_channel_context(asm: Assembly) -> Iterator[Diagnostic]:
    """PK224 (warning): a condition or rule reads context that some channel it runs on does not
    supply, without testing ``channel``: there it reads null, and a rule then refuses everyone."""
    only = asm.product.context_channels
    if not only:
        return
    places: list[tuple[Condition, list[str], Location, str]] = [
        (io.condition, io.channels, io.rs.loc("when"), "{on} && ...") for io in asm.steps.values()
        if io.condition is not None]
    for rule, entry, i in asm.product.rules:
        cond = asm.conditions.get(f"rule:{rule.id}")
        if cond is not None:
            places.append((cond, asm.product.channels, entry.doc.loc(("rules", i, "expr")), "!({on}) || ..."))
    for cond, channels, at, guard in places:
        for path in sorted(set(cond.names) & set(only)):
            missing = [c for c in channels if c not in only[path]]
            if missing and _unguarded(cond):
                yield Diagnostic("PK224", f"{path} is supplied on {', '.join(only[path])} only, and this "
                                 f"expression also runs on {', '.join(missing)}, where it reads null", at,
                                 Severity.WARNING, related=(Related(asm.product.context[path][1], "declared here"),),
                                 hint="guard it: " + guard.format(on=f"channel in {_cel_list(only[path])}"))


def _cel_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def check_shows(asm: Assembly) -> Iterator[Diagnostic]:
    """PK415: every name a screen shows is a parameter, a derived value or data of the product."""
    for sid, io in asm.steps.items():
        comp = _comp(io)
        if not isinstance(comp, UIComponent) or io.rs.component is None:
            continue
        for j, name in enumerate(comp.shows):
            if name not in asm.scope:
                what = "data" if "." in name else "parameter or derived value"
                yield Diagnostic("PK415", f"screen '{sid}' shows {name}, but no {what} of that name exists "
                                 f"in {asm.product.model.id}", io.rs.loc("use"),
                                 related=(Related(io.rs.component.doc.loc(("shows", j)), "shown here"),),
                                 hint=did_you_mean(name, asm.scope))


def check_eligibility_at_start(asm: Assembly) -> Iterator[Diagnostic]:
    """PK414: an eligibility rule is checked when the application starts, so it reads only what
    is known then: parameters, derived values of those, the context and the channel."""
    known = set(asm.product.context)
    for rule, entry, i in asm.product.rules:
        cond = asm.conditions.get(f"rule:{rule.id}")
        if rule.kind != "eligibility" or cond is None:
            continue
        late = [p for p in _condition_reads(asm, cond) if p not in known]
        if late:
            writers = sorted({sid for sid, io in asm.steps.items() for p in late if p in io.writes})
            by = f", written by step(s) {', '.join(repr(w) for w in writers)}" if writers else ""
            yield Diagnostic("PK414", f"eligibility rule '{rule.id}' reads {', '.join(late)}{by}; an "
                             "eligibility rule is checked when the application starts, before any step",
                             entry.doc.loc(("rules", i, "expr")),
                             hint="read only parameters, the context and channel here, or refuse later with "
                             "an end step (end: rejected) whose when reads the value")


def check_finally(asm: Assembly) -> Iterator[Diagnostic]:
    """PK413: a finally step is a service step outside the flow that never changes the outcome:
    no routes, no order of its own, and nothing reads what it writes."""
    finals = {sid: io for sid, io in asm.steps.items() if is_finally(io)}
    for sid, io in finals.items():
        yield from _finally_shape(sid, io)
    written = {path: sid for sid, io in finals.items() for path in io.writes}
    for sid, io in asm.steps.items():
        yield from _finally_refs(sid, io, finals)
        for path in _all_reads(asm, io):
            if path in written:
                yield Diagnostic("PK413", f"step '{sid}' reads {path}, written by the finally step "
                                 f"'{written[path]}', which runs after every other step",
                                 io.rs.loc("use" if path in io.reads else "when"))
    for rule, entry, i in asm.product.rules:
        cond = asm.conditions.get(f"rule:{rule.id}")
        for path in sorted(set(_condition_reads(asm, cond) if cond else []) & set(written)):
            yield Diagnostic("PK413", f"rule '{rule.id}' reads {path}, written by the finally step "
                             f"'{written[path]}'", entry.doc.loc(("rules", i, "expr")))


def _finally_refs(sid: str, io: StepIO, finals: dict[str, StepIO]) -> Iterator[Diagnostic]:
    """PK413: a flow step ordered after, or jumping to, a finally step."""
    for j, before in enumerate(io.rs.step.after):
        if before in finals and sid not in finals:
            yield Diagnostic("PK413", f"step '{sid}' is declared after the finally step '{before}', which "
                             "runs only once the application has an outcome", io.rs.loc("after", j))
    for code, route in io.rs.step.on_error.items():
        if route.goto in finals:
            yield Diagnostic("PK413", f"error {code} of step '{sid}' goes to the finally step "
                             f"'{route.goto}', which runs on every outcome anyway",
                             io.rs.loc("on_error", code, "goto"))


def _finally_shape(sid: str, io: StepIO) -> Iterator[Diagnostic]:
    comp = _comp(io)
    if not (isinstance(comp, ProcessComponent) and comp.task == "service"):
        what = "an end" if io.rs.step.end else ("a screen" if isinstance(comp, UIComponent)
                                                  else f"a {getattr(comp, 'task', 'service')} step")
        yield Diagnostic("PK413", f"step '{sid}' is {what}; only a service step (a handler call) can run "
                         "on every outcome", io.rs.loc("finally"))
    for code in io.rs.step.on_error:
        yield Diagnostic("PK413", f"the finally step '{sid}' routes error {code}; a finally step never "
                         "changes the outcome (its errors and failures are recorded)",
                         io.rs.loc("on_error", code, key=True))
    for j, _before in enumerate(io.rs.step.after):
        yield Diagnostic("PK413", f"the finally step '{sid}' has after:; finally steps run in the order they "
                         "are declared, once the flow has ended", io.rs.loc("after", j))


GRAPH_CHECKS = (check_cycles, check_step_channels, check_providers, check_writers, check_every_path, check_types,
                check_reachable, check_conflicts, check_capabilities, check_unused, check_shows,
                check_eligibility_at_start, check_finally, check_channel_comparisons, check_channel_context)
