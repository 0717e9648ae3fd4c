"""The page of one product version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._collect import ProductData
from ._html import T, e, inline_json, page, table
from ._journey import journey_svg
from ._words import condition_words, label

__all__ = ["product_page", "product_path"]

STAFF = "staff"


def product_path(key: str) -> str:
    return f"product/{key}.html"


def product_page(p: ProductData, lang: str, known: set[str]) -> str:
    """The page: what it is, dates, channels, eligibility, parameters, journeys and screens, scenarios."""
    d = p.definition
    sections = [_summary(p, lang, known), _rules(d, lang), _parameters(d, p.bounds, lang), _step_settings(d, lang),
                _derived(d, lang)]
    channels = list(d.get("channels", []))
    sections += [_channel(p, ch, lang) for ch in channels]
    if any(STAFF in by for by in p.forms.values()):
        sections.append(_staff(p, lang))
    sections += [_scenarios(p, lang), _uses(p, lang, known)]
    forms = {f"{step}.{ch}": form for step, by in p.forms.items() for ch, form in by.items()}
    body = "".join(s for s in sections if s)
    body += f"<script>window.PK_FORMS = {inline_json(forms)};</script>"
    return page(lang, product_path(p.key), d.get("name") or p.key, body, scripts=("forms.js",))


def _summary(p: ProductData, lang: str, known: set[str]) -> str:
    d, t = p.definition, T[lang]
    eff = d.get("effective") or {}
    since = e(eff.get("from") or "")
    if eff.get("from_source") and eff.get("from_source") != eff.get("from"):
        since += f' <span class="muted">({e(t["resolved"])} {e(eff["from_source"])})</span>'
    until = e(eff.get("until") or t["open"])
    rows = [(e(t["version"]), e(d.get("version"))),
            (e(t["effective"]), f'{e(t["from"])} {since} {e(t["until"])} {until}'),
            (e(t["channels"]), " ".join(f'<a class="chip" href="#channel-{e(c)}">{e(c)}</a>' for c in d["channels"]))]
    if p.chain:
        rows.append((e(t["extends"]), " → ".join(_doc_link("line", k, known) for k in p.chain)))
    if p.change:
        kinds, cls = ", ".join(p.change.get("kinds", [])), e(p.change.get("class"))
        rows.append((e(t["changes"]), f'<span class="badge {cls}">{cls}</span> {e(kinds)}'))
    facts = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    desc = f'<p class="desc">{e(d.get("description"))}</p>' if d.get("description") else ""
    return (f'<h1>{e(label(d.get("name"), lang, p.key))}</h1><p class="muted"><code>{e(p.key)}</code></p>'
            f'{desc}<table class="facts">{facts}</table>')


def _doc_link(kind: str, key: str, known: set[str]) -> str:
    if f"{kind}/{key}" in known:
        return f'<a href="../{kind}/{e(key)}.html">{e(key)}</a>'
    return f"<code>{e(key)}</code>"


def _rules(d: Mapping[str, Any], lang: str) -> str:
    t = T[lang]
    out = []
    for kind, head in (("eligibility", t["eligibility"]), ("constraint", t["constraint"])):
        rows = [(f'<code>{e(r["id"])}</code>', e(label(r.get("message"), lang)),
                 e(condition_words(r["condition"]["cel"], lang))) for r in d.get("rules", []) if r["kind"] == kind]
        if rows:
            out.append(f'<h2 id="{kind}">{e(head)}</h2>' + table(["id", e(t["title"]), e(t["rules"])], rows))
    return "".join(out)


def _plain(value: Any) -> str:
    """A value as the catalogue writes it (``true``, not Python's ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _value(param: Mapping[str, Any]) -> str:
    text = _plain(param.get("value"))
    extra = param.get("currency") or param.get("unit") or ""
    return e(f"{text} {extra}".strip())


def _provenance(param: Mapping[str, Any]) -> str:
    items = [f'<li><span class="src">{e(i["source"])}</span> = <b>{e(i.get("value"))}</b> '
             f'<span class="muted">{e(i["file"])}:{i["line"]}:{i["col"]}</span></li>'
             for i in param.get("provenance", [])]
    return f'<ol class="prov">{"".join(items)}</ol>'


def _bounds(bounds: Mapping[str, Any]) -> str:
    return e(", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in bounds.items()))


def _parameters(d: Mapping[str, Any], bounds: Mapping[str, Mapping[str, Any]], lang: str) -> str:
    t = T[lang]
    rows = []
    for name, param in sorted(d.get("parameters", {}).items()):
        lock = f' <span class="badge">{e(t["locked"])}</span>' if param.get("locked") else ""
        rows.append((f'<code id="param-{e(name)}">{e(name)}</code>{lock}', e(label(param.get("title"), lang)),
                     _value(param), _bounds(bounds.get(name, {})), _provenance(param)))
    if not rows:
        return ""
    head = [e(t["name"]), e(t["title"]), e(t["value"]), e(t["bounds"]), e(t["provenance"])]
    return f'<h2 id="parameters">{e(t["parameters"])}</h2>' + table(head, rows, "params")


def _step_settings(d: Mapping[str, Any], lang: str) -> str:
    t = T[lang]
    rows = [(f'<code>{e(sid)}</code>', f'<code>{e(name)}</code>', e(label(param.get("title"), lang)), _value(param),
             _provenance(param))
            for sid, step in d.get("steps", {}).items() for name, param in sorted(step.get("parameters", {}).items())
            if any(i["source"].startswith("step:") for i in param.get("provenance", []))]
    if not rows:
        return ""
    head = [e(t["step"]), e(t["name"]), e(t["title"]), e(t["value"]), e(t["provenance"])]
    return f'<h2 id="step-settings">{e(t["step_settings"])}</h2>' + table(head, rows, "params")


def _derived(d: Mapping[str, Any], lang: str) -> str:
    t = T[lang]
    rows = [(f"<code>{e(name)}</code>", e(label(v.get("title"), lang)), e((v.get("condition") or {}).get("type")),
             e(condition_words((v.get("condition") or v.get("expr") or {}).get("cel", ""), lang)))
            for name, v in sorted(d.get("derived", {}).items())]
    if not rows:
        return ""
    return f'<h2 id="derived">{e(t["derived"])}</h2>' + table([e(t["name"]), e(t["title"]), "type", "="], rows)


def _channel(p: ProductData, channel: str, lang: str) -> str:
    d, t = p.definition, T[lang]
    # Finally steps are outside the flow: drawn after it, marked as running on every outcome.
    finals = [sid for sid in d.get("finally_steps", []) if sid in d.get("steps", {})]
    steps = {**d.get("steps", {}), **{sid: {**d["steps"][sid], "finally": True} for sid in finals}}
    svg = journey_svg([*d.get("flow", []), *finals], steps, channel, lang)
    screens = [s for s in d.get("journeys", {}).get(channel, []) if channel in p.forms.get(s, {})]
    return (f'<section class="channel" id="channel-{e(channel)}"><h2>{e(t["journey"])}: {e(channel)}</h2>'
            f'{_legend(lang)}<div class="diagram">{svg}</div>'
            f'<h3>{e(t["screens"])}: {e(channel)}</h3><p class="muted">{e(t["preview_note"])}</p>'
            f'{"".join(_screen(p, s, channel, lang) for s in screens)}</section>')


def _staff(p: ProductData, lang: str) -> str:
    t = T[lang]
    screens = [s for s, by in p.forms.items() if STAFF in by]
    return (f'<section class="channel" id="channel-{STAFF}"><h2>{e(t["staff"])}</h2>'
            f'{"".join(_screen(p, s, STAFF, lang) for s in screens)}</section>')


def _screen(p: ProductData, step: str, channel: str, lang: str) -> str:
    st = p.definition.get("steps", {}).get(step, {})
    title = label(st.get("title"), lang, step)
    form = p.forms[step][channel]
    shows = form.get("shows") or []
    shown = (f'<p class="shows">{e(_SHOWS[lang])}: ' + ", ".join(f"<code>{e(s)}</code>" for s in shows) + "</p>"
             if shows else "")
    return (f'<figure class="screen" id="screen-{e(step)}-{e(channel)}"><figcaption>{e(title)} '
            f'<code>{e(step)}</code> · {e(channel)}</figcaption>{shown}'
            f'<div class="pk-form" data-form="{e(step)}.{e(channel)}" data-lang="{lang}"></div></figure>')


_SHOWS = {"en": "shows the customer", "zh-CN": "向客户展示"}


_LEGEND = {"en": (("service", "service"), ("user", "screen"), ("user staff", "staff task"), ("wait", "wait"),
                  ("end ok", "good end"), ("end bad", "refusal or failure"), ("cond", "only if: condition"),
                  ("err", "⚠ error route"), ("comp", "↺ compensation")),
           "zh-CN": (("service", "服务"), ("user", "页面"), ("user staff", "员工任务"), ("wait", "等待"),
                     ("end ok", "成功结束"), ("end bad", "拒绝或失败"), ("cond", "仅当：条件"),
                     ("err", "⚠ 异常路由"), ("comp", "↺ 冲正"))}


def _legend(lang: str) -> str:
    items = "".join(f'<span class="key {c}">{e(text)}</span>' for c, text in _LEGEND[lang])
    return f'<p class="legend"><b>{e(T[lang]["legend"])}:</b> {items}</p>'


def _scenarios(p: ProductData, lang: str) -> str:
    t = T[lang]
    if not p.scenarios and not p.coverage:
        return ""
    rows = [(e(s["name"]), e(s["channel"]), e(s["outcome"] or "—"),
             f'<span class="{"ok" if s["passed"] else "bad"}">{e(t["passed"] if s["passed"] else t["failed"])}</span>',
             e(" → ".join(s["steps"]))) for s in p.scenarios]
    out = f'<h2 id="scenarios">{e(t["scenarios"])}</h2>'
    out += table([e(t["scenario"]), e(t["channel"]), e(t["outcome"]), "", e(t["steps"])], rows, "scen")
    if p.coverage:
        cats = p.coverage["categories"]
        crow = [(e(c), f'{v["percent"]}%', e(", ".join(v["missed"]) or "—")) for c, v in cats.items()]
        out += (f'<h3>{e(t["coverage"])}: {p.coverage["percent"]}%</h3>'
                + table([e(t["kind"]), "%", "missed"], crow))
    return out


def _uses(p: ProductData, lang: str, known: set[str]) -> str:
    t = T[lang]
    comps = sorted(p.definition.get("components", {}).items())
    items = "".join(f"<li>{_doc_link('component', f'{c}@{v}', known)}</li>" for c, v in comps)
    return f'<h2 id="uses">{e(t["uses"])}</h2><ul class="cols">{items}</ul>'
