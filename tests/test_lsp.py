"""``productkit lsp`` driven over stdio like an editor drives it, on a copy of the repo
catalogue: an edit that breaks a bound is published with its code and place, the fix clears it,
completion offers component ids with ranges and step ids, hover shows a parameter's provenance."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from productkit.lsp._rpc import read_message, write_message

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = Path("products/deposit/time-deposit-1y.yaml")


class Editor:
    """A minimal LSP client: requests wait for their answer; diagnostics are kept per file."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "productkit", "lsp"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.next = 0
        self.root = root

    def notify(self, method: str, params: Any) -> None:
        assert self.proc.stdin is not None
        write_message(self.proc.stdin, {"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next += 1
        write_message(self.proc.stdin, {"id": self.next, "method": method, "params": params})
        while (msg := read_message(self.proc.stdout)) is not None:
            self._keep(msg)
            if msg.get("id") == self.next:
                return msg.get("result")
        raise AssertionError("the server closed")

    def until_published(self, uri: str) -> list[dict[str, Any]]:
        """Read messages until ``uri`` gets its diagnostics; those diagnostics."""
        assert self.proc.stdout is not None
        self.published.pop(uri, None)
        while uri not in self.published:
            msg = read_message(self.proc.stdout)
            assert msg is not None, "the server closed"
            self._keep(msg)
        return self.published[uri]

    def _keep(self, msg: dict[str, Any]) -> None:
        if msg.get("method") == "textDocument/publishDiagnostics":
            self.published[msg["params"]["uri"]] = msg["params"]["diagnostics"]


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("lsp") / "catalogue"
    for sub in ("components", "products"):
        shutil.copytree(ROOT / sub, root / sub)
    ed = Editor(root)
    answer = ed.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {}})
    assert answer["capabilities"]["hoverProvider"] is True
    ed.notify("initialized", {})
    yield ed
    ed.request("shutdown", None)
    ed.notify("exit", None)
    assert ed.proc.wait(timeout=30) == 0


def test_an_edit_that_breaks_a_bound_is_published_then_cleared_by_the_fix(editor: Editor) -> None:
    uri = (editor.root / PRODUCT).as_uri()
    text = (editor.root / PRODUCT).read_text(encoding="utf-8")
    editor.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                            "text": text}})
    assert [d for d in editor.until_published(uri) if d["severity"] == 1] == []
    broken = text.replace("    value: 1.20\n", "    value: 2.50\n", 1)  # annual_rate's value
    assert broken != text
    started = time.monotonic()
    editor.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": broken}]})
    found = editor.until_published(uri)
    print(f"\nlsp: diagnostics for the edit after {1000 * (time.monotonic() - started):.0f} ms")
    errors = [(d["code"], d["range"]["start"]["line"]) for d in found if d["severity"] == 1]
    line = broken.splitlines().index(next(x for x in broken.splitlines() if x == "    value: 2.50"))
    assert errors and all(code.startswith("PK1") and at == line for code, at in errors), found
    assert all(d["source"] == "productkit" and "2.5" in d["message"] for d in found if d["severity"] == 1)
    editor.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                             "contentChanges": [{"text": text}]})
    assert [d for d in editor.until_published(uri) if d["severity"] == 1] == []


def test_completion_offers_component_ids_with_ranges_and_step_ids(editor: Editor) -> None:
    uri = (editor.root / PRODUCT).as_uri()
    lines = (editor.root / PRODUCT).read_text(encoding="utf-8").splitlines()
    at = next(i for i, x in enumerate(lines) if x.strip().startswith("use: notify.app-push"))
    col = lines[at].index("use:") + len("use: ")
    items = editor.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": at, "character": col}})
    labels = {i["label"] for i in items}
    assert "notify.app-push@^1" in labels and "kyc.identity-verification@^2" in labels


def test_hover_shows_a_parameters_value_and_provenance(editor: Editor) -> None:
    uri = (editor.root / PRODUCT).as_uri()
    lines = (editor.root / PRODUCT).read_text(encoding="utf-8").splitlines()
    at = next(i for i, x in enumerate(lines) if x.strip().startswith("annual_rate:"))
    found = editor.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": at, "character": lines[at].index("annual") + 2}})
    text = found["contents"]["value"]
    assert text.startswith("**annual_rate** = 1.2") and "`product:deposit.time-1y`" in text
