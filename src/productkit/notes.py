"""Release notes for business readers (branch staff, call centre, compliance), in zh-CN or en:
one entry per product change in business words, its class and its effective date."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .diagnostics import json_safe, safe_text
from .diff import ORDER, Change, ChangeClass, Diff, ProductDiff

__all__ = ["notes", "render_notes"]

_CLASS = {
    ChangeClass.CONFIGURATION: ("参数配置变更（T+1 生效，无需软件发布）", "Configuration change (live T+1, no software release)"),
    ChangeClass.ASSEMBLY: ("产品装配变更（已通过场景测试并经复核）", "Product assembly change (scenarios tested, reviewed)"),
    ChangeClass.CODE: ("需随软件版本发布", "Ships with a software release"),
    ChangeClass.BREAKING: ("影响在途申请，需迁移方案", "Affects applications in progress: needs a migration plan"),
}
_CHANNELS = {"mobile": ("手机银行", "the mobile app"), "web": ("网上银行", "web banking"),
             "counter": ("网点柜面", "branch counters"), "mini-program": ("小程序及合作方页面", "mini-programs and partner pages"),
             "open-api": ("开放接口", "the open API"), "staff": ("行内员工", "bank staff")}

# kind -> (zh-CN, en) sentence templates; {t} a title, {a}/{b} before/after, {c} a channel
_SAY: dict[str, tuple[str, str]] = {
    "parameter": ("{t}由 {a} 调整为 {b}", "{t} changes from {a} to {b}"),
    "parameter-schedule": ("{t}的阶段性（活动）取值调整为：{b}", "Dated (campaign) values of {t}: {b}"),
    "parameter-added": ("新增产品参数：{t}", "New product term: {t}"),
    "parameter-removed": ("取消产品参数：{t}", "Product term withdrawn: {t}"),
    "parameter-type": ("{t}的取值方式调整", "{t} is now expressed differently"),
    "label": ("名称或说明文字调整：{t}", "Wording changes: {t}"),
    "effective": ("生效日期调整为 {b}", "Effective dates change to {b}"),
    "channel-added": ("新增销售渠道：{c}", "Now offered through {c}"),
    "channel-removed": ("停止通过{c}销售", "No longer offered through {c}"),
    "step-added": ("申请流程新增环节：{t}", "New step in the application: {t}"),
    "step-removed": ("申请流程取消环节：{t}", "Step removed from the application: {t}"),
    "steps-reordered": ("申请流程环节顺序调整", "The order of the application steps changes"),
    "step": ("“{t}”环节的处理方式调整", "The step \u201c{t}\u201d works differently"),
    "condition": ("“{t}”环节的适用条件调整", "When the step \u201c{t}\u201d applies changes"),
    "rule": ("准入或约束规则“{t}”调整", "Eligibility or constraint rule \u201c{t}\u201d changes"),
    "derived": ("“{t}”的计算方式调整", "How \u201c{t}\u201d is calculated changes"),
    "form": ("{c}的“{t}”页面填写内容调整", "The \u201c{t}\u201d screen on {c} asks for different information"),
    "form-labels": ("{c}的“{t}”页面文字调整", "Wording of the \u201c{t}\u201d screen on {c} changes"),
    "component": ("使用的业务组件“{t}”由 {a} 版升级为 {b} 版", "Uses version {b} of the component \u201c{t}\u201d (was {a})"),
    "handler-needed": ("需要新的系统对接：{t}", "Needs a new system connection: {t}"),
    "type-needed": ("需要新的数据类型支持：{t}", "Needs support for a new kind of value: {t}"),
    "target-needed": ("需要新的输出格式：{t}", "Needs a new output format: {t}"),
    "version-not-bumped": ("内容已变更但版本号未更新", "Changed without a new version number"),
    "version-retired": ("{t} 版停止受理", "Version {t} is withdrawn"),
    "product-added": ("新产品上线", "New product"),
    "product-removed": ("产品下架", "Product withdrawn"),
}


def _lang(label: Any, lang: str) -> str | None:
    return label.get(lang) if isinstance(label, Mapping) else None


def _amount(value: Any, detail: Mapping[str, Any]) -> str:
    if value is None:
        return "-"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if detail.get("type") == "percent":
        return f"{text}%"
    if detail.get("currency"):
        return f"{text} {detail['currency']}"
    return f"{text} {detail['unit']}" if detail.get("unit") else text


def _sentence(change: Change, lang: str) -> str:
    zh, en = _SAY.get(change.kind, ("{t}", "{t}"))
    d = change.detail
    title = _lang(d.get("title"), lang) or _lang(change.after, lang) or _lang(change.before, lang) or change.subject
    if change.kind == "version-retired":
        title = str(change.before)
    channel = _CHANNELS.get(str(d.get("channel") or change.subject), (change.subject, change.subject))
    before, after = _amount(change.before, d), _amount(change.after, d)
    if change.kind == "effective":
        after = _dates(change.after, lang)
    return (zh if lang == "zh-CN" else en).format(t=title, a=before, b=after, c=channel[0 if lang == "zh-CN" else 1])


def _dates(value: Any, lang: str) -> str:
    start = value.get("from") if isinstance(value, Mapping) else None
    until = value.get("until") if isinstance(value, Mapping) else None
    if lang == "zh-CN":
        return f"{start or '即日'}起" + (f"至{until}" if until else "")
    return f"from {start or 'now'}" + (f" until {until}" if until else "")


def _entry(p: ProductDiff, lang: str) -> dict[str, Any]:
    name = (p.name.zh_CN if lang == "zh-CN" else p.name.en) if p.name is not None else p.id
    return {"id": p.id, "version": p.version, "name": name, "class": str(p.cls),
            "class_text": _CLASS[p.cls][0 if lang == "zh-CN" else 1], "effective": p.effective,
            "effective_as_written": p.effective_as_written,
            "changes": [_sentence(c, lang) for c in p.changes if c.kind != "version-not-bumped"]
            + [_sentence(c, lang) for c in p.changes if c.kind == "version-not-bumped"]}


def notes(result: Diff, lang: str = "zh-CN") -> list[dict[str, Any]]:
    """One entry per changed product version, the most demanding class first."""
    ordered = sorted(result.products, key=lambda p: (-ORDER.index(p.cls), p.id, p.version))
    return [_entry(p, lang) for p in ordered]


def render_notes(result: Diff, lang: str = "zh-CN", fmt: str = "markdown") -> str:
    entries = notes(result, lang)
    if fmt == "json":
        text = json.dumps({"language": lang, "entries": entries}, ensure_ascii=False, indent=2, sort_keys=True)
        return json_safe(text) + "\n"
    zh = lang == "zh-CN"
    lines = ["# 产品变更说明" if zh else "# Product release notes", ""]
    if not entries:
        lines.append("本次发布无产品变更。" if zh else "No product changes in this release.")
    for e in entries:
        day = e["effective"] + (f" ({e['effective_as_written']})" if e["effective_as_written"] else "") \
            if e["effective"] else ""
        when = (f"生效日期：{day}" if zh else f"Effective: {day}") if day else ""
        lines += [f"## {e['name']} ({e['id']} {e['version']})", "", f"*{e['class_text']}*" + (f" · {when}" if when else ""), ""]
        lines += [f"- {safe_text(s)}" for s in e["changes"]] + [""]
    return "\n".join(safe_text(line) if not line.startswith("- ") else line for line in lines).rstrip() + "\n"
