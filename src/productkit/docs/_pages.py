"""The catalogue's other pages: the home page, components, lines and dictionaries with who uses
them, and the search page with its index of ids, titles and parameters in both languages."""

from __future__ import annotations

from typing import Any

from ._collect import Doc, ProductData, SiteData
from ._html import LANG_NAME, LANGS, T, e, inline_json, page, table
from ._product import product_path
from ._words import label

__all__ = ["DOC_DIR", "doc_page", "doc_path", "home_page", "root_page", "search_page"]

DOC_DIR = {"ProcessComponent": "component", "UIComponent": "component", "ProductLine": "line",
           "ParameterDictionary": "dictionary", "DataDictionary": "dictionary"}
_SECTION = {"component": "components", "line": "lines", "dictionary": "dictionaries"}


def doc_path(doc: Doc) -> str:
    return f"{DOC_DIR[doc.kind]}/{doc.key}.html"


def root_page() -> str:
    links = "".join(f'<li><a hreflang="{lang}" href="{lang}/index.html">{LANG_NAME[lang]}</a></li>' for lang in LANGS)
    return ('<!doctype html><html><head><meta charset="utf-8"><title>productkit</title>'
            f'<link rel="stylesheet" href="assets/site.css"></head><body><main><h1>产品目录 · Product catalogue</h1>'
            f'<ul class="langs">{links}</ul></main></body></html>\n')


def home_page(site: SiteData, lang: str) -> str:
    t = T[lang]
    rows = [(f'<a href="{product_path(p.key)}">{e(label(p.definition.get("name"), lang, p.key))}</a>',
             f"<code>{e(p.key)}</code>", e(", ".join(p.definition.get("channels", []))),
             e((p.definition.get("effective") or {}).get("from")), _change(p)) for p in site.products]
    body = (f'<h1>{e(t["site"])}</h1><p class="muted">{e(t["release"])}: {e(site.manifest.get("release_date"))}</p>'
            f'<h2 id="products">{e(t["products"])}</h2>'
            + table([e(t["name"]), "id", e(t["channels"]), e(t["effective"]), e(t["class"])], rows))
    for section in ("component", "line", "dictionary"):
        docs = [d for d in site.docs if DOC_DIR[d.kind] == section]
        drows = [(f'<a href="{doc_path(d)}">{e(d.key)}</a>', e(label(d.title, lang)), e(d.kind), str(len(d.used_by)))
                 for d in docs]
        body += (f'<h2 id="{_SECTION[section]}">{e(t[_SECTION[section]])}</h2>'
                 + table(["id", e(t["title"]), e(t["kind"]), e(t["used_by"])], drows))
    return page(lang, "index.html", t["site"], body)


def _change(p: ProductData) -> str:
    if not p.change:
        return ""
    return f'<span class="badge {e(p.change.get("class"))}">{e(p.change.get("class"))}</span>'


def doc_page(doc: Doc, site: SiteData, lang: str) -> str:
    t = T[lang]
    names = {p.key: label(p.definition.get("name"), lang, p.key) for p in site.products}
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in
                    [(t["kind"], doc.kind), (t["version"], doc.version), (t["file"], doc.file), *doc.facts])
    rows = [(f'<code>{e(n)}</code>', e(label(title, lang)), e(detail)) for n, title, detail in doc.entries]
    users = "".join(f'<li><a href="../{product_path(k)}">{e(names.get(k, k))}</a> <code>{e(k)}</code></li>'
                    for k in doc.used_by) or f"<li>{e(t['none'])}</li>"
    body = (f'<h1>{e(label(doc.title, lang, doc.key))}</h1><p class="muted"><code>{e(doc.key)}</code></p>'
            f'<table class="facts">{facts}</table>'
            + (table([e(t["name"]), e(t["title"]), e(t["detail"])], rows) if rows else "")
            + f'<h2 id="used-by">{e(t["used_by"])} ({len(doc.used_by)})</h2><ul class="cols">{users}</ul>')
    return page(lang, doc_path(doc), doc.title or doc.key, body)


def search_index(site: SiteData) -> list[dict[str, Any]]:
    """One entry per page: its address (from a language folder), kind, id, and every searchable text."""
    out: list[dict[str, Any]] = []
    for p in site.products:
        d = p.definition
        params = [f"{n} {label(v.get('title'), 'zh-CN')} {label(v.get('title'), 'en')}"
                  for n, v in sorted(d.get("parameters", {}).items())]
        out.append({"u": product_path(p.key), "k": "product", "i": p.key, "zh": label(d.get("name"), "zh-CN"),
                    "en": label(d.get("name"), "en"), "x": " ".join(params)})
    for doc in site.docs:
        entries = [f"{n} {label(title, 'zh-CN')} {label(title, 'en')}" for n, title, _ in doc.entries]
        out.append({"u": doc_path(doc), "k": DOC_DIR[doc.kind], "i": doc.key, "zh": label(doc.title, "zh-CN"),
                    "en": label(doc.title, "en"), "x": " ".join(entries)})
    return out


def search_page(site: SiteData, lang: str) -> str:
    t = T[lang]
    body = (f'<h1>{e(t["search"])}</h1><p><input id="q" type="search" autofocus '
            f'placeholder="{e(t["search_hint"])}" aria-label="{e(t["search"])}"></p>'
            f'<p id="none" class="muted" hidden>{e(t["no_results"])}</p><ol id="results"></ol>'
            f'<script>window.PK_INDEX = {inline_json(search_index(site))}; window.PK_LANG = "{lang}";</script>')
    return page(lang, "search.html", t["search"], body, scripts=("search.js",))
