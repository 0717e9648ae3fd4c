"""``productkit docs``: the static site of the repo catalogue, read as files (the browser test
is test_docs_site_browser.py): every page in both languages, journeys drawn from the built flow
per channel, every form file inlined as built, search over ids, titles and parameters."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from forms_support import ROOT, built_catalogue
from productkit.cli import app
from productkit.docs import collect, write_site
from productkit.docs._html import inline_json
from productkit.docs._journey import channel_flow, journey_svg
from productkit.docs._words import condition_words, duration_words

LANGS = ("zh-CN", "en")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "build"
    built_catalogue(out)
    return out


@pytest.fixture(scope="module")
def site(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    write_site(collect(built, ROOT, scenarios=False), out)
    return out


def _manifest(built: Path) -> dict[str, Any]:
    return dict(json.loads((built / "manifest.json").read_text(encoding="utf-8")))


def _inline(page: str, name: str) -> Any:
    m = re.search(rf"<script>window\.{name} = (.*?);", page)
    assert m, name
    return json.loads(m[1].replace("<\\/", "</"))


def test_every_product_version_has_a_page_in_both_languages(site: Path, built: Path) -> None:
    for entry in _manifest(built)["products"]:
        for lang in LANGS:
            page = (site / lang / "product" / f'{entry["id"]}@{entry["version"]}.html').read_text(encoding="utf-8")
            assert f'<html lang="{lang}">' in page
            assert entry["name"][lang] in page
            other = "en" if lang == "zh-CN" else "zh-CN"
            assert f'href="../../{other}/product/{entry["id"]}@{entry["version"]}.html"' in page, "language switch"


def test_each_preview_is_the_built_form_file_itself(site: Path, built: Path) -> None:
    for entry in _manifest(built)["products"]:
        page = (site / "en" / "product" / f'{entry["id"]}@{entry["version"]}.html').read_text(encoding="utf-8")
        inlined = _inline(page, "PK_FORMS")
        for step, by_channel in entry["forms"].items():
            for channel, rel in by_channel.items():
                assert inlined[f"{step}.{channel}"] == json.loads((built / rel).read_text(encoding="utf-8"))
                assert f'data-form="{step}.{channel}" data-lang="en"' in page


def test_a_journey_per_channel_draws_exactly_the_steps_of_that_channel(site: Path, built: Path) -> None:
    for entry in _manifest(built)["products"]:
        defn = json.loads((built / entry["definition"]).read_text(encoding="utf-8"))
        page = (site / "en" / "product" / f'{entry["id"]}@{entry["version"]}.html').read_text(encoding="utf-8")
        for channel in defn["channels"]:
            svg = re.search(rf'<svg [^>]*data-channel="{channel}".*?</svg>', page, re.S)
            assert svg, (entry["id"], channel)
            drawn = re.findall(r'data-step="([^"]+)"', svg[0])
            want = {s for s, step in defn["steps"].items() if channel in step["channels"]}
            assert sorted(drawn) == sorted(want), (entry["id"], channel)


def test_error_routes_compensations_waits_and_conditions_are_drawn(site: Path) -> None:
    page = (site / "en" / "product" / "wealth.steady-income-365@1.0.0.html").read_text(encoding="utf-8")
    mobile = re.search(r'<svg [^>]*data-channel="mobile".*?</svg>', page, re.S)
    assert mobile
    svg = mobile[0]
    assert re.search(r'class="pk-step service comp[^"]*" data-step="order"', svg)
    assert "↺ undone by wealth.order.cancel" in svg
    assert re.search(r'class="pk-step wait[^"]*" data-step="cooling-off"', svg)
    assert "⏳ waits 24h (the customer may cancel)" in svg
    assert "⚠ on wealth.quota-exhausted → ends rejected" in _node_text(svg, "order")
    assert 'only if: suitability.result is "unsuitable"' in _node_text(svg, "reject-unsuitable")


def _node_text(svg: str, step: str) -> str:
    """The text of a step's box, its wrapped lines joined."""
    node = re.search(rf'data-step="{step}">.*?</g>', svg, re.S)
    assert node, step
    return html.unescape(" ".join(re.findall(r">([^<]+)</text>", node[0])))


def test_parameters_show_their_provenance_chain_and_bounds(site: Path) -> None:
    page = (site / "en" / "product" / "card.travel-platinum@1.0.0.html").read_text(encoding="utf-8")
    row = re.search(r'<code id="param-eligible_min_age">.*?</tr>', page, re.S)
    assert row
    sources = re.findall(r'<span class="src">([^<]+)</span> = <b>([^<]+)</b>', row[0])
    assert sources == [("dictionary", "18"), ("product:card.travel-platinum", "18")]
    assert "min 0, max 120" in row[0]
    assert "(resolved from T+1)" in page


def test_line_component_and_dictionary_pages_list_who_uses_them(site: Path, built: Path) -> None:
    line = (site / "en" / "line" / "deposit.time@1.0.0.html").read_text(encoding="utf-8")
    assert "<h1>Lump-sum time deposits</h1>" in line, "the line's title in the page's language"
    users = set(re.findall(r'href="\.\./product/([^"]+)\.html"', line))
    assert {"deposit.time-1y@1.0.0", "deposit.time-3m@1.0.0", "deposit.time-3y@1.0.0"} <= users
    everyone = {f'{e["id"]}@{e["version"]}' for e in _manifest(built)["products"]}
    for comp, version in (("kyc.identity-verification", "2.1.0"),):
        page = (site / "en" / "component" / f"{comp}@{version}.html").read_text(encoding="utf-8")
        users = set(re.findall(r'href="\.\./product/([^"]+)\.html"', page))
        want = {k for k in everyone for e in _manifest(built)["products"]
                if f'{e["id"]}@{e["version"]}' == k and e["components"].get(comp) == version}
        assert users == want and users


def test_search_index_covers_ids_titles_and_parameters_in_both_languages(site: Path) -> None:
    index = _inline((site / "zh-CN" / "search.html").read_text(encoding="utf-8"), "PK_INDEX")
    card = next(i for i in index if i["i"] == "card.travel-platinum@1.0.0")
    assert card["zh"] == "环球旅行白金信用卡" and card["en"] == "Global Travel Platinum credit card"
    assert "annual_fee" in card["x"] and "主卡年费" in card["x"] and "Annual fee" in card["x"]
    assert {i["k"] for i in index} == {"product", "component", "line", "dictionary"}
    for item in index:
        assert (site / "zh-CN" / item["u"]).is_file()


@given(st.text())
def test_inlined_json_never_closes_its_script(text: str) -> None:
    out = inline_json({"a": text})
    assert "</" not in out and "<!--" not in out
    assert json.loads(out.replace("<\\/", "</").replace("<\\!--", "<!--")) == {"a": text}


@pytest.mark.parametrize(("expr", "lang", "words"), [
    ('channel in ["mobile", "web"]', "en", 'channel is one of ["mobile", "web"]'),
    ("a >= 1 && !b || c != 'x && y'", "en", "a ≥ 1 and not b or c is not 'x && y'"),
    ("has(a.b) && a.c == 2", "zh-CN", "a.b 已提供 并且 a.c 是 2"),
])
def test_conditions_in_words(expr: str, lang: str, words: str) -> None:
    assert condition_words(expr, lang) == words


def test_durations_in_words() -> None:
    assert duration_words("PT24H", "en") == "24h"
    assert duration_words("P1DT2H30M", "zh-CN") == "1天 2小时 30分钟"
    assert duration_words("cooling_off_period", "en") == "cooling_off_period"


_IDS = st.sampled_from([f"s{i}" for i in range(12)])


@st.composite
def _flows(draw: st.DrawFn, depth: int = 2) -> list[Any]:
    items: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        if depth and draw(st.booleans()):
            items.append({"parallel": [draw(_flows(depth - 1)) for _ in range(draw(st.integers(2, 3)))]})
        else:
            items.append(draw(_IDS))
    return items


def _ids(flow: list[Any]) -> list[str]:
    return [x for item in flow for x in ([item] if isinstance(item, str) else
                                         [y for b in item["parallel"] for y in _ids(b)])]


@given(_flows(), st.sets(_IDS), st.sampled_from(LANGS))
def test_a_channel_keeps_its_steps_in_flow_order_and_draws_each(flow: list[Any], off: set[str], lang: str) -> None:
    steps = {s: {"id": s, "kind": "service", "channels": ["web"] if s in off else ["web", "mobile"]}
             for s in _ids(flow)}
    kept = channel_flow(flow, steps, "mobile")
    assert _ids(kept) == [s for s in _ids(flow) if s not in off]
    assert all(len(item["parallel"]) > 1 for item in kept if isinstance(item, dict))
    svg = journey_svg(flow, steps, "mobile", lang)
    assert re.findall(r'data-step="([^"]+)"', svg) == _ids(kept)


def test_docs_command_writes_the_site_and_refuses_a_folder_that_is_no_build(built: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["docs", str(tmp_path), "--out", str(tmp_path / "site")])
    assert bad.exit_code == 2 and "not a build folder" in bad.stderr
    fake = tmp_path / "bundle.js"
    fake.write_text("/* stand-in */", encoding="utf-8")
    ok = runner.invoke(app, ["docs", str(built), "--out", str(tmp_path / "site"), "--catalogue", str(ROOT),
                             "--forms-bundle", str(fake), "--no-scenarios"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "site" / "assets" / "forms.js").read_text(encoding="utf-8") == "/* stand-in */"
    assert (tmp_path / "site" / "en" / "index.html").is_file() and "site written: " in ok.stdout


def _docs(*args: str) -> Any:
    return CliRunner().invoke(app, ["docs", *args, "--no-scenarios", "--forms-bundle", str(Path(__file__))])


def test_a_damaged_build_gives_located_pk510_and_the_rest_of_the_site(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "build"
    shutil.copytree(built, copy)
    gone = copy / "forms" / "deposit.time-1y@1.0.0" / "amount.web.json"
    gone.unlink()
    (copy / "definitions" / "deposit.time-3m@1.0.0.json").write_text("{not json", encoding="utf-8")
    run = _docs(str(copy), "--out", str(tmp_path / "site"), "--catalogue", str(ROOT))
    assert run.exit_code == 1, run.output
    assert f"{gone}: error PK510: cannot read: No such file or directory" in run.stdout
    assert re.search(r"deposit\.time-3m@1\.0\.0\.json: error PK510: not JSON", run.stdout)
    page = (tmp_path / "site" / "en" / "product" / "deposit.time-1y@1.0.0.html").read_text(encoding="utf-8")
    assert 'data-form="amount.mobile"' in page and 'data-form="amount.web"' not in page
    assert not (tmp_path / "site" / "en" / "product" / "deposit.time-3m@1.0.0.html").exists()
    assert "Traceback" not in run.output


def test_a_build_not_of_the_catalogue_given_is_a_pk511_warning(built: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "products").mkdir(parents=True)
    run = _docs(str(built), "--out", str(tmp_path / "site"), "--catalogue", str(other))
    assert run.exit_code == 0, run.output
    warned = re.findall(r"manifest\.json: warning PK511: (\S+) is not in the catalogue", run.stdout)
    assert sorted(warned) == sorted(f'{e["id"]}@{e["version"]}' for e in _manifest(built)["products"])
    assert (tmp_path / "site" / "en" / "product" / "card.travel-platinum@1.0.0.html").is_file()


def test_a_site_folder_that_cannot_be_written_is_a_pk512(built: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    run = _docs(str(built), "--out", str(blocked / "site"), "--catalogue", str(ROOT))
    assert run.exit_code == 1 and "error PK512: cannot write the site" in run.stdout
