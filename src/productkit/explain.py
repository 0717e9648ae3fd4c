"""``explain`` and ``graph``: what a designer sees of an assembled product."""

from __future__ import annotations

from typing import Any

from .assemble import START, Assembly, is_finally
from .compile import json_value

__all__ = ["explain_text", "graph_source"]


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


def graph_source(asm: Any, fmt: str) -> str:
    assert isinstance(asm, Assembly)
    edges = sorted((a, b, d.get("reason", "")) for a, b, d in asm.graph.edges(data=True) if a != START)
    if fmt == "dot":
        out = [f'digraph "{asm.product.model.id}" {{', "  rankdir=LR;"]
        out += [f'  "{s}" [shape={"doublecircle" if asm.steps[s].rs.step.end else "box"}];' for s in asm.order]
        out += [f'  "{a}" -> "{b}";' for a, b, _ in edges]
        return "\n".join(out) + "\n}\n"
    out = ["flowchart LR"]
    for sid in asm.order:
        io = asm.steps[sid]
        label = sid + (f"<br/>when {io.rs.step.when}" if io.rs.step.when else "")
        label = label.replace('"', "'")
        out.append(f'  {_mid(sid)}(["{label}"])' if io.rs.step.end else f'  {_mid(sid)}["{label}"]')
    out += [f"  {_mid(a)} --> {_mid(b)}" for a, b, _ in edges]
    return "\n".join(out) + "\n"


def _mid(sid: str) -> str:
    """A Mermaid node id: one per step id ('a-b' and 'a_b' differ) and never a keyword ('end')."""
    return "s_" + sid.replace("_", "__").replace("-", "_h")
