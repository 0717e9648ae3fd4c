"""The static catalogue site: ``productkit docs``.

Every page is a plain file that works from ``file://`` and any static host: the data a page
needs (form files, search index) is inline, the only scripts are the site's own search and the
JSON Forms preview bundle (``tools/forms/bundle-preview.js``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..diagnostics import Diagnostic, Location
from ._bundle import bundle_previews
from ._collect import SiteData, collect
from ._html import LANGS
from ._pages import doc_page, doc_path, home_page, root_page, search_page
from ._product import product_page, product_path

__all__ = ["SiteData", "SiteResult", "bundle_previews", "collect", "make_site", "write_site"]


@dataclass(frozen=True, slots=True)
class SiteResult:
    """What was written: the pages (relative to the site folder) and whether previews are live."""

    pages: tuple[str, ...]
    previews: bool
    why_no_previews: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()


def make_site(build_dir: Path, out: Path, root: Path | None, forms_bundle: Path | None = None,
              tools: Path | None = None, scenarios: bool = True) -> SiteResult:
    """The site of the build in ``build_dir`` (with the catalogue sources at ``root``) in ``out``.

    The preview script is ``forms_bundle`` when given, else bundled from ``tools`` (``tools/forms``
    of the catalogue by default); without either the site is written with empty preview frames."""
    site = collect(build_dir, root, scenarios=scenarios)
    why = None
    if forms_bundle is None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = Diagnostic("PK512", f"cannot write the site: {exc.strerror or exc}", Location(str(out)))
            return SiteResult((), False, None, (*site.diagnostics, problem))
        tools = tools or ((root or Path(".")) / "tools" / "forms")
        forms_bundle = out / "assets" / "forms.js"
        why = bundle_previews(tools, forms_bundle)
        if why is not None:
            forms_bundle = None
    try:
        result = write_site(site, out, forms_bundle)
    except OSError as exc:
        problem = Diagnostic("PK512", f"cannot write the site: {exc.strerror or exc}", Location(str(out)))
        return SiteResult((), False, why, (*site.diagnostics, problem))
    return SiteResult(result.pages, result.previews, why, tuple(site.diagnostics))


def write_site(site: SiteData, out: Path, forms_bundle: Path | None = None) -> SiteResult:
    """Write the site into ``out`` (created; files of an earlier site are replaced).

    Without ``forms_bundle`` the pages keep an empty preview frame with the form's caption."""
    out.mkdir(parents=True, exist_ok=True)
    pages = {"index.html": root_page()}
    known = {doc_path(d).removesuffix(".html") for d in site.docs}
    for lang in LANGS:
        pages[f"{lang}/index.html"] = home_page(site, lang)
        pages[f"{lang}/search.html"] = search_page(site, lang)
        for p in site.products:
            pages[f"{lang}/{product_path(p.key)}"] = product_page(p, lang, known)
        for d in site.docs:
            pages[f"{lang}/{doc_path(d)}"] = doc_page(d, site, lang)
    for rel, text in pages.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _assets(out / "assets", forms_bundle)
    return SiteResult(tuple(sorted(pages)), forms_bundle is not None)


def _assets(folder: Path, forms_bundle: Path | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("site.css", "search.js"):
        (folder / name).write_bytes(resources.files(__package__).joinpath("assets", name).read_bytes())
    target = folder / "forms.js"
    if forms_bundle is not None:
        if forms_bundle.resolve() != target.resolve():
            shutil.copyfile(forms_bundle, target)
    else:
        target.write_text("/* no form preview bundle: build it with tools/forms/bundle-preview.js */\n",
                          encoding="utf-8")
