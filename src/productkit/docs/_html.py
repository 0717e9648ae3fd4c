"""The page shell and small HTML helpers shared by every page of the site."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ._words import label

__all__ = ["LANGS", "T", "e", "inline_json", "page", "table", "tr"]

LANGS = ("zh-CN", "en")
OTHER = {"zh-CN": "en", "en": "zh-CN"}
LANG_NAME = {"zh-CN": "中文", "en": "English"}

T: dict[str, dict[str, str]] = {
    "en": {
        "site": "Product catalogue", "products": "Products", "components": "Components", "lines": "Product lines",
        "dictionaries": "Dictionaries", "search": "Search", "search_hint": "ids, titles, parameters",
        "version": "Version", "channels": "Channels", "effective": "On sale", "from": "from", "until": "until",
        "open": "open-ended", "eligibility": "Eligibility", "rules": "Rules", "parameters": "Parameters",
        "derived": "Derived values", "journey": "Journey", "screens": "Screens", "scenarios": "Scenarios",
        "coverage": "Coverage", "changes": "Changes since the previous build", "used_by": "Used by",
        "uses": "Uses", "name": "Name", "title": "Title", "value": "Value", "bounds": "Bounds",
        "provenance": "Where the value comes from", "locked": "locked", "outcome": "Outcome",
        "passed": "passed", "failed": "FAILED", "channel": "Channel", "extends": "Extends", "release": "Release date",
        "step_settings": "Step settings", "step": "Step", "staff": "Staff tasks", "none": "none",
        "resolved": "resolved from", "description": "What it is", "file": "Source file", "kind": "Kind",
        "class": "class", "no_results": "Nothing found", "legend": "Legend", "detail": "Detail",
        "preview_note": "Rendered with JSON Forms from the built form file, as the channel receives it.",
        "constraint": "Constraints", "scenario": "Scenario", "steps": "Steps run",
    },
    "zh-CN": {
        "site": "产品目录", "products": "产品", "components": "组件", "lines": "产品线",
        "dictionaries": "字典", "search": "搜索", "search_hint": "标识、名称、参数",
        "version": "版本", "channels": "渠道", "effective": "销售期", "from": "自", "until": "至",
        "open": "长期", "eligibility": "准入条件", "rules": "规则", "parameters": "参数",
        "derived": "派生值", "journey": "办理流程", "screens": "页面", "scenarios": "测试场景",
        "coverage": "覆盖率", "changes": "与上次构建相比的变更", "used_by": "使用方",
        "uses": "使用", "name": "名称", "title": "标题", "value": "取值", "bounds": "取值范围",
        "provenance": "取值来源", "locked": "已锁定", "outcome": "结果",
        "passed": "通过", "failed": "失败", "channel": "渠道", "extends": "继承", "release": "发布日期",
        "step_settings": "步骤设置", "step": "步骤", "staff": "员工任务", "none": "无",
        "resolved": "解析自", "description": "说明", "file": "源文件", "kind": "类型",
        "class": "类别", "no_results": "未找到", "legend": "图例", "detail": "详情",
        "preview_note": "使用 JSON Forms 按渠道实际收到的表单文件渲染。",
        "constraint": "约束", "scenario": "场景", "steps": "执行的步骤",
    },
}


def e(value: object) -> str:
    """Escaped text of ``value``."""
    return escape("" if value is None else str(value))


def inline_json(value: Any) -> str:
    """JSON safe inside a <script> element (no ``</`` closes it early)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def tr(cells: Iterable[str], head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    body = "".join(tr(r) for r in rows)
    return f'<table class="{css}"><thead>{tr(head, True)}</thead><tbody>{body}</tbody></table>'


def page(lang: str, path: str, title: object, body: str, scripts: Sequence[str] = ()) -> str:
    """A whole page at ``<lang>/<path>``: header with navigation, search and the language switch."""
    t = T[lang]
    up = "../" * path.count("/")
    home = f"{up}index.html"
    other = OTHER[lang]
    nav = "".join(f'<a href="{home}#{k}">{e(t[k])}</a>' for k in ("products", "components", "lines", "dictionaries"))
    head = (f'<header><a class="brand" href="{home}">{e(t["site"])}</a><nav>{nav}</nav>'
            f'<form class="search" action="{up}search.html" method="get"><input name="q" type="search" '
            f'placeholder="{e(t["search"])}: {e(t["search_hint"])}" aria-label="{e(t["search"])}"></form>'
            f'<a class="lang" hreflang="{other}" href="{up}../{other}/{path}">{LANG_NAME[other]}</a></header>')
    tail = "".join(f'<script src="{up}../assets/{s}"></script>' for s in scripts)
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(_text(title, lang))}'
            f' · {e(t["site"])}</title><link rel="stylesheet" href="{up}../assets/site.css"></head>'
            f'<body>{head}<main>{body}</main>{tail}</body></html>\n')


def _text(title: object, lang: str) -> str:
    return label(title, lang) if isinstance(title, dict) else str(title)
