"""``explain`` and ``graph``: what a designer sees of an assembled product."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from .assemble import START, Assembly, is_finally
from .compile import compile_product, json_value
from .docs._words import condition_words, duration_words
from .ir import full_json

__all__ = ["explain_channel_text", "explain_line_text", "explain_text", "graph_source", "line_text", "reduced_edges"]


def explain_text(asm: Any) -> str:
    assert isinstance(asm, Assembly)
    rp = asm.product
    lines = [f"{rp.model.kind} {rp.model.id} {rp.model.version}: {rp.model.name.en} / {rp.model.name.zh_cn}"]
    if rp.chain:
        lines.append("extends: " + " -> ".join(f"{e.model.id}@{e.model.version}" for e in rp.chain))
    lines.append(f"channels: {', '.join(rp.channels)}")
    if rp.forbidden:
        lines.append(f"never on: {', '.join(sorted(rp.forbidden))} (channel policy, {_where(rp.forbidden)})")
    lines.append("\nparameters:")
    for name, p in sorted(rp.params.items()):
        lock = " (locked)" if p.locked else ""
        lines.append(f"  {name} = {json_value(p.value)}{lock}")
        for item in reversed(p.provenance):
            lines.append(f"      {item.value:>16}  {item.source:<28} {item.location}")
    lines.append("\nsteps:")
    for i, sid in enumerate(asm.order, 1):
        io = asm.steps[sid]
        comp = io.rs.component.model if io.rs.component else None
        what = f"{comp.id}@{comp.version}" if comp else f"end: {io.rs.step.end}"
        lines.append(f"  {i:>2}. {sid}  [{what}]" + ("  (locked)" if io.rs.step.locked else ""))
        if io.rs.step.when:
            lines.append(f"        when: {io.rs.step.when}")
        if io.reads:
            lines.append(f"        needs: {', '.join(sorted(io.reads))}")
        if io.writes:
            lines.append(f"        provides: {', '.join(sorted(io.writes))}")
        before = sorted(p for p in asm.graph.predecessors(sid) if p != START)
        if before:
            lines.append(f"        after: {', '.join(before)}")
    lines += _policies(rp)
    finals = [sid for sid, io in asm.steps.items() if is_finally(io)]
    if finals:
        lines.append("\nfinally (once the application has its outcome, in this order):")
    for sid in finals:
        io = asm.steps[sid]
        comp = io.rs.component.model if io.rs.component else None
        lines.append(f"  - {sid}  [{comp.id}@{comp.version}]" if comp else f"  - {sid}")
        if io.rs.step.when:
            lines.append(f"        when: {io.rs.step.when}")
    return "\n".join(lines) + "\n"


def _where(places: dict[str, Any]) -> str:
    return ", ".join(sorted({loc.file for loc in places.values()}))


def _policies(rp: Any) -> list[str]:
    """Rules and derived values with where each comes from, the locked ones marked."""
    out = []
    if rp.rules:
        out.append("\nrules:")
        for rule, entry, _ in rp.rules:
            lock = "  (locked)" if rule.locked else ""
            out.append(f"  {rule.id} [{rule.kind}] from {entry.model.id}{lock}: {' '.join(rule.expr.split())}")
    if rp.derived:
        out.append("\nderived:")
        for name, (d, entry) in sorted(rp.derived.items()):
            lock = "  (locked)" if d.locked else ""
            out.append(f"  {name} [{d.type}] from {entry.model.id}{lock}: {' '.join(d.expr.split())}")
    return out


def _steps_of(asm: Assembly) -> dict[str, Any]:
    """The compiled steps as JSON data: channels, conditions, error routes, compensations, waits."""
    steps: dict[str, Any] = full_json(compile_product(asm))["steps"]
    return steps


def reduced_edges(asm: Assembly, channel: str | None = None) -> list[tuple[str, str]]:
    """The step graph's transitive reduction (an edge only where no longer path says the same),
    restricted to the steps of ``channel`` (orders through a left-out step are kept)."""
    graph = nx.DiGraph(asm.graph.to_networkx().subgraph([n for n in asm.graph if n != START]))
    if channel is not None:
        steps = _steps_of(asm)
        graph = nx.transitive_closure_dag(graph)
        graph.remove_nodes_from([s for s in list(graph) if channel not in steps[s]["channels"]])
    return sorted(nx.transitive_reduction(graph).edges())


def graph_source(asm: Any, fmt: str, channel: str | None = None) -> str:
    """The reduced step graph as Mermaid or Graphviz: channels on steps not on every channel,
    conditions, error routes (dashed, to the outcome or step), compensations (dotted)."""
    assert isinstance(asm, Assembly)
    steps = _steps_of(asm)
    edges = reduced_edges(asm, channel)
    order = [s for s in asm.order if channel is None or channel in steps[s]["channels"]]
    extras = _extras(order, steps)
    if fmt == "dot":
        return _dot(asm, order, steps, edges, extras)
    out = ["flowchart LR"]
    for sid in order:
        label = _label_lines(sid, steps[sid], asm.product.channels, channel)
        out.append(f'  {_mid(sid)}(["{label}"])' if steps[sid]["kind"] == "end" else f'  {_mid(sid)}["{label}"]')
    out += [f"  {_mid(a)} --> {_mid(b)}" for a, b in edges]
    for kind, src, dst, text in extras:
        if kind == "error":
            target = _mid(dst) if dst in steps else _outcome_id(dst)
            out.append(f'  {_mid(src)} -.->|"{_q(text)}"| {target}')
        else:
            out.append(f'  {_mid(src)} -.- {_comp_id(src)}')
    out += [f'  {_outcome_id(o)}(("{o}"))' for o in sorted({d for k, _, d, _ in extras if k == "error"} - set(steps))]
    out += [f'  {_comp_id(src)}[/"undo: {_q(text)}"/]' for kind, src, _, text in extras if kind == "compensation"]
    return "\n".join(out) + "\n"


def _extras(order: Iterable[str], steps: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(kind, step, target, text) of every error route and compensation of the steps drawn."""
    out: list[tuple[str, str, str, str]] = []
    for sid in order:
        for code, route in sorted((steps[sid].get("errors") or {}).items()):
            out.append(("error", sid, route.get("goto") or route.get("end") or "failed", code))
        if steps[sid].get("compensation"):
            out.append(("compensation", sid, sid, steps[sid]["compensation"]["handler"]))
    return out


def _label_lines(sid: str, step: Mapping[str, Any], channels: list[str], shown: str | None) -> str:
    parts = [sid]
    if step.get("when"):
        parts.append("when " + " ".join(step["when"]["cel"].split()))
    if shown is None and set(step["channels"]) != set(channels):
        parts.append("on " + ", ".join(step["channels"]))
    if step.get("duration"):
        parts.append("waits " + duration_words(step["duration"], "en"))
    return _q("<br/>".join(parts))


def _q(text: str) -> str:
    return text.replace('"', "'")


def _outcome_id(outcome: str) -> str:
    return "o_" + outcome.replace("-", "_h")


def _comp_id(sid: str) -> str:
    return "c" + _mid(sid)


def _dot(asm: Assembly, order: list[str], steps: Mapping[str, Any], edges: list[tuple[str, str]],
         extras: list[tuple[str, str, str, str]]) -> str:
    out = [f'digraph "{asm.product.model.id}" {{', "  rankdir=LR;"]
    out += [f'  "{s}" [shape={"doublecircle" if steps[s]["kind"] == "end" else "box"}];' for s in order]
    out += [f'  "{a}" -> "{b}";' for a, b in edges]
    ends = sorted({dst for kind, _, dst, _ in extras if kind == "error" and dst not in steps})
    out += [f'  "outcome:{o}" [shape=oval, label="{o}"];' for o in ends]
    for kind, src, dst, text in extras:
        if kind == "error":
            out.append(f'  "{src}" -> "{dst if dst in steps else "outcome:" + dst}" [style=dashed, label="{text}"];')
        else:
            out.append(f'  "undo:{src}" [shape=note, label="undo: {text}"];')
            out.append(f'  "{src}" -> "undo:{src}" [style=dotted, arrowhead=none];')
    return "\n".join(out) + "\n}\n"


def _mid(sid: str) -> str:
    """A Mermaid node id: one per step id ('a-b' and 'a_b' differ) and never a keyword ('end')."""
    return "s_" + sid.replace("_", "__").replace("-", "_h")


def explain_channel_text(asm: Any, channel: str) -> str:
    """What runs on ``channel``: the steps in order (with their conditions in words), the steps
    left out, the screens with their fields, and the rules every application meets."""
    assert isinstance(asm, Assembly)
    rp = asm.product
    defn = full_json(compile_product(asm))
    steps = defn["steps"]
    on = [s for s in asm.order if channel in steps[s]["channels"]]
    lines = [f"{rp.model.kind} {rp.model.id} {rp.model.version} on {channel}: {rp.model.name.en} / "
             f"{rp.model.name.zh_cn}", f"\nsteps that run on {channel} ({len(on)} of {len(steps)}):"]
    for i, sid in enumerate(on, 1):
        lines += _channel_step(i, steps[sid])
    off = [f"{s} (on {', '.join(steps[s]['channels']) or 'no channel'})" for s in asm.order if s not in on]
    if off:
        lines.append(f"\nnot on {channel}: " + ", ".join(off))
    lines.append(f"\nscreens on {channel}, in order:")
    for sid in defn["journeys"].get(channel, []):
        fields = [f for f, spec in steps[sid]["fields"].items()
                  if not spec.get("channels") or channel in spec["channels"]]
        title = steps[sid]["title"] or {}
        lines.append(f"  {sid}: {title.get('en', '')} / {title.get('zh-CN', '')}")
        lines.append(f"      fields: {', '.join(fields) or '(none; shows ' + ', '.join(steps[sid]['shows']) + ')'}")
    lines.append("\nconditions:")
    lines += [f"  {r['kind']} {r['id']}: {condition_words(r['condition']['cel'], 'en')}" for r in defn["rules"]]
    return "\n".join(lines) + "\n"


def _channel_step(i: int, step: Mapping[str, Any]) -> list[str]:
    kind = "screen" if step["kind"] == "user" and step.get("actor") != "staff" else (
        "staff task" if step["kind"] == "user" else step["kind"])
    out = [f"  {i:>2}. {step['id']}  [{kind}{': ' + step['handler'] if step.get('handler') else ''}]"]
    if step.get("when"):
        out.append(f"        only if: {condition_words(step['when']['cel'], 'en')}")
    for code, route in sorted((step.get("errors") or {}).items()):
        where = f"ends {route['end']}" if route.get("end") else f"goes on at {route['goto']}"
        out.append(f"        on {code}: {where}")
    if step.get("compensation"):
        out.append(f"        undone by: {step['compensation']['handler']}")
    if step.get("duration"):
        out.append(f"        waits: {duration_words(step['duration'], 'en')}")
    return out


def explain_line_text(rp: Any, members: Iterable[str]) -> str:
    """A product line: its parameters with provenance, its steps and policies, and its members."""
    model = rp.model
    lines = [f"{model.kind} {model.id} {model.version}: {model.name.en} / {model.name.zh_cn}"]
    if rp.chain:
        lines.append("extends: " + " -> ".join(f"{e.model.id}@{e.model.version}" for e in rp.chain))
    if rp.channels:
        lines.append(f"channels: {', '.join(rp.channels)}")
    if rp.forbidden:
        lines.append(f"never on: {', '.join(sorted(rp.forbidden))} (channel policy, {_where(rp.forbidden)})")
    lines.append("\nparameters:")
    for name, p in sorted(rp.params.items()):
        value = "(set by each product)" if p.value is None else json_value(p.value)
        lines.append(f"  {name} = {value}{' (locked)' if p.locked else ''}")
        for item in reversed(p.provenance):
            lines.append(f"      {item.value:>16}  {item.source:<28} {item.location}")
    lines.append("\nsteps:")
    for i, rs in enumerate(rp.steps, 1):
        what = rs.step.use or f"end: {rs.step.end}"
        lines.append(f"  {i:>2}. {rs.step.id}  [{what}]" + ("  (locked)" if rs.step.locked else ""))
    lines += _policies(rp)
    lines.append("\nmembers: " + (", ".join(sorted(members)) or "none"))
    return "\n".join(lines) + "\n"


def line_text(ctx: Any, catalog: Any, ref: Any) -> str | None:
    """The explanation of the product line ``ref`` names (its newest version, or the one named),
    or None when no line has that id."""
    from .resolve import resolve_product
    from .sources import parse_version

    lines = [e for e in catalog.kind("ProductLine") if e.model.id == ref.id
             and (ref.version is None or e.model.version == ref.version)]
    if not lines:
        return None
    entry = max(lines, key=lambda e: parse_version(e.model.version))
    members = [f"{k[1]}@{k[2]}" for k, asm in ctx.assemblies.items()
               if k[0] == "Product" and any(e.key == entry.key for e in asm.product.chain)]
    return explain_line_text(resolve_product(ctx, entry), members)
