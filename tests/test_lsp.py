"""``productkit lsp`` driven over stdio like an editor drives it, on a copy of the repo catalogue:
an edit's diagnostics (code, place, message with hint, related places) for the edited file and
for the files it breaks, clearing when fixed and when an unsaved buffer is closed; completion of
component ids with ranges, step ids, dictionary parameters and data names; hover with a
parameter's value and provenance. The same client (bench/_lsp.py) measures the latency."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the stdio client lives in bench/, beside src/ and tests/
    sys.path.insert(0, str(REPO))

from bench._lsp import Client, errors, free_step_line, initialize  # noqa: E402

PRODUCT = Path("products/deposit/time-deposit-1y.yaml")
LINE = Path("products/deposit/time-deposit-line.yaml")


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Path]]:
    root = tmp_path_factory.mktemp("lsp") / "catalogue"
    for sub in ("components", "products"):
        shutil.copytree(REPO / sub, root / sub)
    client = Client([sys.executable, "-m", "productkit", "lsp"], cwd=root.parent)
    initialize(client, root)
    yield client, root
    assert client.close() == 0


def _open(client: Client, root: Path, rel: Path) -> tuple[str, str]:
    uri, text = (root / rel).as_uri(), (root / rel).read_text(encoding="utf-8")
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                            "text": text}})
    assert errors(client.until(uri, lambda found: True)) == []
    return uri, text


def _replace_all(client: Client, uri: str, text: str, version: int) -> None:
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                             "contentChanges": [{"text": text}]})


def _at(client: Client, uri: str, line: int, col: int, method: str) -> Any:
    return client.request(f"textDocument/{method}", {"textDocument": {"uri": uri},
                                                     "position": {"line": line, "character": col}})


def test_an_unknown_step_is_published_at_its_place_and_cleared_by_the_fix(editor: tuple[Client, Path]) -> None:
    client, root = editor
    uri, text = _open(client, root, PRODUCT)
    at = free_step_line(text)
    client.notify("textDocument/didChange", {  # typed in: an incremental change
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": at, "character": 0}, "end": {"line": at, "character": 0}},
                            "text": "    after: [payout]\n"}]})
    found = errors(client.until(uri, lambda f: bool(errors(f))))
    assert [(d["code"], d["range"]["start"], d["range"]["end"]) for d in found] == [
        ("PK202", {"line": at, "character": 12}, {"line": at, "character": 18})]
    assert found[0]["source"] == "productkit" and "'payout'" in found[0]["message"]
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 3},
        "contentChanges": [{"range": {"start": {"line": at, "character": 0}, "end": {"line": at + 1, "character": 0}},
                            "text": ""}]})
    assert errors(client.until(uri, lambda f: True)) == []


def test_an_edit_of_a_line_is_published_for_the_members_it_breaks(editor: tuple[Client, Path]) -> None:
    client, root = editor
    uri, text = _open(client, root, LINE)
    member = (root / PRODUCT).as_uri()
    _replace_all(client, uri, text.replace("annual_rate: {min: 0.50, max: 2.50}",
                                           "annual_rate: {min: 0.50, max: 1.00}"), 2)
    found = errors(client.until(member, lambda f: bool(errors(f))))
    assert {d["code"] for d in found} == {"PK111", "PK206"}
    widened = next(d for d in found if d["code"] == "PK206")
    declared = widened["relatedInformation"][0]
    assert declared["location"]["uri"] == uri and declared["message"] == "declared here"
    line = text.splitlines().index("  annual_rate: {min: 0.50, max: 2.50}")
    assert declared["location"]["range"]["start"] == {"line": line, "character": 2}
    assert errors(client.published[uri]) == []  # the line itself is fine
    _replace_all(client, uri, text, 3)
    assert client.until(member, lambda f: True) == []  # cleared where it was published


def test_closing_an_unsaved_buffer_returns_to_the_file_on_disk(editor: tuple[Client, Path]) -> None:
    client, root = editor
    uri, text = _open(client, root, PRODUCT)
    _replace_all(client, uri, text.replace("\nkind: Product\n", "\nkind: Product\n  bad: [indent\n"), 4)
    assert [d["code"] for d in errors(client.until(uri, lambda f: bool(errors(f))))] == ["PK005"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert errors(client.until(uri, lambda f: True)) == []


def _labels(items: list[dict[str, Any]]) -> set[str]:
    return {i["label"] for i in items}


def test_completion_offers_each_kind_of_name(editor: tuple[Client, Path]) -> None:
    client, root = editor
    uri, text = _open(client, root, PRODUCT)
    lines = text.splitlines()
    use = next(i for i, x in enumerate(lines) if x.strip().startswith("use: notify.app-push"))
    assert {"notify.app-push@^1", "kyc.identity-verification@^2"} <= _labels(
        _at(client, uri, use, lines[use].index("use:") + len("use: "), "completion"))
    steps = {x.split("id:")[1].strip() for x in lines if x.startswith("  - id:")}
    at = free_step_line(text)
    _replace_all(client, uri, "\n".join([*lines[:at], "    after: [", *lines[at:]]) + "\n", 5)
    assert _labels(_at(client, uri, at, len("    after: ["), "completion")) == steps
    params = next(i for i, x in enumerate(lines) if x == "parameters:") + 1
    offered = _labels(_at(client, uri, params, 2, "completion"))
    assert {"face_match_threshold", "annual_rate"} <= offered and "notify.app-push@^1" not in offered
    data = _labels(_at(client, uri, len(lines), 0, "completion"))
    assert "applicant.resident" in data or any(label.startswith("applicant.") for label in data)
    _replace_all(client, uri, text, 6)
    client.until(uri, lambda f: True)


def test_hover_shows_a_parameters_value_and_provenance(editor: tuple[Client, Path]) -> None:
    client, root = editor
    uri, text = _open(client, root, PRODUCT)
    lines = text.splitlines()
    at = next(i for i, x in enumerate(lines) if x.strip().startswith("annual_rate:"))
    found = _at(client, uri, at, lines[at].index("annual") + 2, "hover")
    value = found["contents"]["value"]
    assert value.startswith("**annual_rate** = 1.2") and "`product:deposit.time-1y`" in value
    assert "time-deposit-1y.yaml:14:5" in value  # where the product sets it
    assert _at(client, uri, 0, 1, "hover") is None  # apiVersion is no parameter


def test_it_runs_next_to_yaml_language_server(tmp_path: Path) -> None:
    """The README's setup: yaml-language-server checks the shape against the shipped schemas,
    productkit everything else. On one file with a misspelt key and an unknown step, both
    underline the key at its line, and only productkit the step."""
    from yaml_ls import diagnostics

    root = tmp_path / "catalogue"
    for sub in ("components", "products", "schemas", ".vscode"):
        shutil.copytree(REPO / sub, root / sub)
    path = root / PRODUCT
    text = path.read_text(encoding="utf-8")
    at = free_step_line(text)
    lines = text.splitlines()
    lines[at:at] = ["    after: [payout]", "    retyr: 3"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shape = [(d["range"]["start"]["line"], d["message"]) for d in diagnostics(root, [path])[path]]
    assert [line for line, message in shape if "retyr" in message] == [at + 1] and len(shape) == 1, shape
    client = Client([sys.executable, "-m", "productkit", "lsp"], cwd=root)
    try:
        initialize(client, root)
        client.notify("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "yaml",
                                                                "version": 1, "text": path.read_text("utf-8")}})
        found = errors(client.until(path.as_uri(), lambda f: True))
    finally:
        assert client.close() == 0
    assert sorted((d["range"]["start"]["line"], d["code"]) for d in found) == [(at, "PK202"), (at + 1, "PK103")]


def test_a_new_unsaved_buffer_is_a_document_until_closed(editor: tuple[Client, Path]) -> None:
    client, root = editor
    text = (root / PRODUCT).read_text(encoding="utf-8")
    copy = root / "products" / "deposit" / "time-deposit-zz-draft.yaml"  # sorts after the original
    uri = copy.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                            "text": text}})
    found = errors(client.until(uri, lambda f: bool(errors(f))))
    assert [d["code"] for d in found] == ["PK201"]
    assert found[0]["relatedInformation"][0]["location"]["uri"] == (root / PRODUCT).as_uri()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})  # never saved: gone
    assert client.until(uri, lambda f: True) == []


def test_files_outside_the_catalogue_sources_are_left_alone(editor: tuple[Client, Path]) -> None:
    client, root = editor
    scenario = next((root / "products").rglob("*.scenario.yaml"))
    uri = scenario.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                            "text": "not: [valid"}})
    assert _at(client, uri, 0, 1, "hover") is None and _at(client, uri, 0, 5, "completion") == []
    assert uri not in client.published  # scenarios are `productkit test`'s, not the language server's
