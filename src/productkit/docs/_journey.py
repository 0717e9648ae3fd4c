"""The journey of a product on one channel as a layered SVG of productkit's own.

The built definition's ``flow`` is already series-parallel (the transitive reduction of the
step graph), so the drawing needs no layout engine: a series stacks top to bottom, a parallel
block puts its branches side by side between a fork bar and a join bar. Conditions are written
in words; error routes, compensations, waits and screens are annotated on their step, each in
its own colour and glyph."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ._words import condition_words, duration_words, label

__all__ = ["channel_flow", "journey_svg"]

NODE_W, LINE_H, GAP, HGAP, BAR = 270, 15, 26, 22, 14
WRAP = 40  # characters per annotation line (a CJK character counts two)

_TEXT = {
    "en": {"if": "only if", "err": "on", "ends": "ends", "goto": "goes on at", "undo": "undone by",
           "wait": "waits", "cancel": "the customer may cancel", "screen": "screen", "staff": "staff task",
           "staff_err": "an employee's error goes to", "start": "start", "service": "service",
           "finally": "runs once the application has its outcome, whatever it is"},
    "zh-CN": {"if": "仅当", "err": "出现", "ends": "结束为", "goto": "转到", "undo": "冲正处理",
              "wait": "等待", "cancel": "客户可取消", "screen": "页面", "staff": "员工任务",
              "staff_err": "员工处理异常时写入", "start": "开始", "service": "服务",
              "finally": "申请得出结果后执行（无论结果如何）"},
}
_OUTCOME_CLASS = {"approved": "ok", "completed": "ok", "rejected": "bad", "failed": "bad"}


@dataclass(slots=True)
class _Node:
    sid: str
    css: str  # the step's kind and outcome, as CSS classes
    lines: list[tuple[str, str]]  # (css class, text)

    @property
    def w(self) -> int:
        return NODE_W

    @property
    def h(self) -> int:
        return 12 + LINE_H * len(self.lines)


@dataclass(slots=True)
class _Series:
    items: list[_Node | _Series | _Parallel] = field(default_factory=list)

    @property
    def w(self) -> int:
        return max((i.w for i in self.items), default=0)

    @property
    def h(self) -> int:
        return sum(i.h for i in self.items) + GAP * max(0, len(self.items) - 1)


@dataclass(slots=True)
class _Parallel:
    branches: list[_Series]

    @property
    def w(self) -> int:
        return sum(b.w for b in self.branches) + HGAP * (len(self.branches) - 1)

    @property
    def h(self) -> int:
        return 2 * BAR + 2 * GAP + max(b.h for b in self.branches)


_Block = _Node | _Series | _Parallel


def channel_flow(flow: Sequence[Any], steps: Mapping[str, Any], channel: str | None) -> list[Any]:
    """``flow`` with only the steps that run on ``channel`` (all of them for None); empty
    branches are dropped and a block left with one branch becomes part of the series."""
    out: list[Any] = []
    for item in flow:
        if isinstance(item, str):
            chans = steps.get(item, {}).get("channels")
            if channel is None or not chans or channel in chans:
                out.append(item)
        elif isinstance(item, Mapping):
            branches = [b for b in (channel_flow(_as_list(v), steps, channel)
                                    for vs in item.values() for v in _branches(vs)) if b]
            if len(branches) == 1:
                out.extend(branches[0])
            elif branches:
                out.append({"parallel": branches})
    return out


def _branches(value: Any) -> list[Any]:
    """The branches of a block: a list of lists (parallel), else the value as one branch."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return value
    return [value]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def journey_svg(flow: Sequence[Any], steps: Mapping[str, Any], channel: str | None, lang: str) -> str:
    """The SVG of ``flow`` on ``channel`` (reduced: each step drawn once, edges only between
    neighbours of a series and through the bars of a parallel block)."""
    series = _layout(channel_flow(flow, steps, channel), steps, lang)
    width, height = series.w + 40, series.h + 40
    body = _draw(series, 20, 20, width - 40)
    count = sum(1 for _ in _step_ids(series))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="pk-journey" role="img" '
            f'data-channel="{escape(channel or "")}" data-steps="{count}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" '
            f'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" class="arrow"/></marker>'
            f'</defs>{"".join(body)}</svg>')


def _step_ids(block: _Block) -> Iterator[str]:
    if isinstance(block, _Node):
        yield block.sid
    elif isinstance(block, _Series):
        for i in block.items:
            yield from _step_ids(i)
    else:
        for b in block.branches:
            yield from _step_ids(b)


def _layout(flow: Sequence[Any], steps: Mapping[str, Any], lang: str) -> _Series:
    out = _Series()
    for item in flow:
        if isinstance(item, str):
            step = steps.get(item, {"id": item})
            out.items.append(_Node(item, _node_class(step), _node_lines(step, lang)))
        else:
            out.items.append(_Parallel([_layout(b, steps, lang) for b in item["parallel"]]))
    return out


def _node_lines(step: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    t = _TEXT[lang]
    kind = step.get("kind", "service")
    title = label(step.get("title"), lang, step.get("id", ""))
    if kind == "end":
        title = f'{t["ends"]}: {step.get("outcome") or ""}'
    lines = [("title", title), ("sid", f'{step.get("id", "")} · {_kind_text(step, lang)}')]
    if step.get("finally"):
        lines += [("wait", x) for x in _wrap(f'⟳ {t["finally"]}')]
    when = step.get("when")
    if when:
        lines += [("cond", x) for x in _wrap(f'{t["if"]}: {condition_words(when["cel"], lang)}')]
    for code, route in sorted((step.get("errors") or {}).items()):
        where = f'{t["ends"]} {route["end"]}' if route.get("end") else f'{t["goto"]} {route.get("goto")}'
        lines += [("err", x) for x in _wrap(f'⚠ {t["err"]} {code} → {where}')]
    if step.get("error_path"):
        lines += [("err", x) for x in _wrap(f'⚠ {t["staff_err"]} {step["error_path"]}')]
    if step.get("compensation"):
        lines += [("comp", x) for x in _wrap(f'↺ {t["undo"]} {step["compensation"]["handler"]}')]
    if step.get("duration"):
        cancel = f' ({t["cancel"]})' if step.get("interruptible") else ""
        lines.append(("wait", f'⏳ {t["wait"]} {duration_words(step["duration"], lang)}{cancel}'))
    return lines


def _kind_text(step: Mapping[str, Any], lang: str) -> str:
    t = _TEXT[lang]
    kind = step.get("kind", "service")
    if kind == "user":
        return t["staff"] if step.get("actor") == "staff" else t["screen"]
    if kind == "service":
        return f'{t["service"]} {step.get("handler") or ""}'.strip()
    return str(kind)


def _wrap(text: str, width: int = WRAP) -> list[str]:
    """Lines of at most ``width`` columns (CJK counts two), broken at spaces where possible."""
    lines, current, cols = [], "", 0
    for word in text.split(" "):
        wcols = sum(2 if ord(c) > 0x2E80 else 1 for c in word)
        if current and cols + 1 + wcols > width:
            lines.append(current)
            current, cols = word, wcols
        else:
            current, cols = (f"{current} {word}" if current else word), cols + wcols + (1 if current else 0)
    return [*lines, current][:4]


def _draw(block: _Block, x: int, y: int, width: int) -> list[str]:
    """SVG elements of ``block`` centred in the column [x, x + width) from ``y`` down."""
    left = x + (width - block.w) // 2
    if isinstance(block, _Node):
        return _draw_node(block, left, y)
    if isinstance(block, _Series):
        return _draw_series(block, x, y, width)
    return _draw_parallel(block, left, y)


def _draw_series(series: _Series, x: int, y: int, width: int) -> list[str]:
    out: list[str] = []
    mid = x + width // 2
    for i, item in enumerate(series.items):
        if i:
            out.append(f'<line class="edge" x1="{mid}" y1="{y - GAP}" x2="{mid}" y2="{y - 2}" '
                       'marker-end="url(#arrow)"/>')
        out += _draw(item, x, y, width)
        y += item.h + GAP
    return out


def _draw_parallel(block: _Parallel, x: int, y: int) -> list[str]:
    out = [f'<rect class="bar" x="{x}" y="{y}" width="{block.w}" height="4"/>']
    bottom = y + block.h - 4
    out.append(f'<rect class="bar" x="{x}" y="{bottom}" width="{block.w}" height="4"/>')
    top = y + BAR + GAP
    for branch in block.branches:
        mid = x + branch.w // 2
        out.append(f'<line class="edge" x1="{mid}" y1="{y + 4}" x2="{mid}" y2="{top - 2}" marker-end="url(#arrow)"/>')
        out.append(f'<line class="edge" x1="{mid}" y1="{top + branch.h}" x2="{mid}" y2="{bottom - 2}" '
                   'marker-end="url(#arrow)"/>')
        out += _draw_series(branch, x, top, branch.w)
        x += branch.w + HGAP
    return out


def _draw_node(node: _Node, x: int, y: int) -> list[str]:
    out = [f'<g class="pk-step {node.css}" data-step="{escape(node.sid)}"><title>{escape(node.sid)}</title>',
           f'<rect x="{x}" y="{y}" width="{node.w}" height="{node.h}" rx="{18 if node.css.startswith("end") else 6}"/>']
    for i, (cls, text) in enumerate(node.lines):
        out.append(f'<text class="{cls}" x="{x + 10}" y="{y + 18 + i * LINE_H}">{escape(text)}</text>')
    return [*out, "</g>"]


def _node_class(step: Mapping[str, Any]) -> str:
    kind = str(step.get("kind", "service"))
    if kind == "end":
        return "end " + _OUTCOME_CLASS.get(str(step.get("outcome")), "other")
    extra = [c for c, key in (("wait", "duration"), ("comp", "compensation"), ("err", "errors"), ("cond", "when"))
             if step.get(key)]
    staff = ["staff"] if step.get("actor") == "staff" else []
    return " ".join([kind, *staff, *extra])
