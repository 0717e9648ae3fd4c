"""The repo catalogue's site opened in headless Chromium (Debian's chromium driven by
playwright-core, pinned in tools/forms), every page of it: no console error, every form preview
rendered by JSON Forms with each declared field's label in the page's language, every journey
diagram drawn with all its steps, no broken link (fragments included). Three screenshots are
written under the test's tmp folder, whose path is printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forms_support import ROOT, built_catalogue, chromium, node, node_tools
from productkit.docs import make_site

SHOTS = (("en/index.html", None, "home.png"),
         ("en/product/card.travel-platinum@1.0.0.html", "#channel-mobile .diagram", "journey.png"),
         ("zh-CN/product/deposit.time-1y@1.0.0.html", "#screen-amount-mobile", "screen-zh.png"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("docs-browser")
    built_catalogue(base / "build")
    result = make_site(base / "build", base / "site", ROOT, tools=node_tools())
    assert result.previews, result.why_no_previews
    return base / "site"


@pytest.fixture(scope="module")
def checked(site: Path) -> dict[str, Any]:
    shots = [{"page": page, "selector": sel, "file": str(site.parent / name)} for page, sel, name in SHOTS]
    result: dict[str, Any] = node("site-check.js", {"site": str(site), "chromium": chromium(), "shots": shots})
    print(f"\ndocs site screenshots: {', '.join(s['file'] for s in shots)}")
    return result


def test_every_page_opens_without_a_console_error(checked: dict[str, Any], site: Path) -> None:
    assert checked["pages"] == len(list(site.rglob("*.html"))) > 200
    assert checked["console"] == []


def test_every_preview_shows_each_declared_field_with_its_label(checked: dict[str, Any], site: Path) -> None:
    frames = sum(p.read_text(encoding="utf-8").count('class="pk-form"') for p in site.rglob("*.html"))
    assert checked["forms"] == frames > 400
    assert checked["fields"] > 500
    assert checked["missing"] == []


def test_every_diagram_renders_all_its_steps(checked: dict[str, Any]) -> None:
    assert checked["diagrams"] > 60
    assert checked["bad_diagrams"] == []


def test_no_link_is_broken(checked: dict[str, Any]) -> None:
    assert checked["links"] > 3000
    assert checked["broken"] == []


def test_three_screenshots_are_written(checked: dict[str, Any], site: Path) -> None:
    for _, _, name in SHOTS:
        shot = site.parent / name
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_scenarios_and_coverage_are_on_the_product_page(site: Path) -> None:
    page = (site / "en" / "product" / "card.travel-platinum@1.0.0.html").read_text(encoding="utf-8")
    assert '<h2 id="scenarios">Scenarios</h2>' in page and "approved-mobile" in page
    assert "<h3>Coverage: " in page
