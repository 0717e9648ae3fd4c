"""yaml-language-server, the engine of VS Code's YAML extension, driven over stdio (LSP).

:func:`diagnostics` opens every file given in one server started on a workspace folder,
configured with the ``yaml.schemas`` mapping the project ships (``.vscode/settings.json``), and
returns what the editor would underline, per file. The server is pinned in ``tools/yaml-ls``
(``npm ci`` on first use).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
LS_DIR = REPO / "tools" / "yaml-ls"
SERVER = LS_DIR / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"


_REQUESTS = frozenset({"initialize", "shutdown", "textDocument/hover"})


def _server() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed to run yaml-language-server (tools/yaml-ls)")
    if not SERVER.is_file():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=LS_DIR, check=True,
                       capture_output=True, timeout=300)
    return [node, str(SERVER), "--stdio"]


class _Client:
    """A minimal LSP client: framed JSON-RPC over the server's stdin and stdout."""

    def __init__(self, command: list[str], settings: Mapping[str, Any]) -> None:
        self.settings = settings
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[int, Any] = {}
        self.lock = threading.Lock()
        self.last = time.monotonic()
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, method: str | None, params: Any = None, reply_to: Any = None) -> int:
        msg: dict[str, Any] = {"jsonrpc": "2.0"}
        if method is None:
            msg.update(id=reply_to, result=params)
        else:
            msg.update(method=method, params=params)
            if method in _REQUESTS:
                self._next += 1
                msg["id"] = self._next
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return int(msg.get("id") or 0)

    def answer(self, request: int, limit: float = 30) -> Any:
        """The result of the request numbered ``request``."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            with self.lock:
                if request in self.answers:
                    return self.answers[request]
            time.sleep(0.05)
        raise AssertionError(f"yaml-language-server did not answer request {request}")

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            self._handle(json.loads(out.read(length)))

    def _handle(self, msg: dict[str, Any]) -> None:
        with self.lock:
            self.last = time.monotonic()
            if "id" in msg and "method" not in msg:
                self.answers[msg["id"]] = msg.get("result")
            if msg.get("method") == "textDocument/publishDiagnostics":
                self.published[msg["params"]["uri"]] = msg["params"]["diagnostics"]
        if "id" in msg and "method" in msg:  # a request from the server: configuration, ...
            result: Any = None
            if msg["method"] == "workspace/configuration":
                result = [self.settings.get(i.get("section", ""), None) for i in msg["params"]["items"]]
            self.send(None, result, reply_to=msg["id"])

    def wait_quiet(self, uris: set[str], quiet: float, limit: float) -> None:
        """Until every file has diagnostics and the server has said nothing for ``quiet`` s."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            with self.lock:
                done = uris <= self.published.keys() and time.monotonic() - self.last > quiet
            if done:
                return
            time.sleep(0.05)
        raise AssertionError(f"yaml-language-server gave no diagnostics for {len(uris - self.published.keys())} files")

    def close(self) -> None:
        self.send("shutdown")
        self.send("exit")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _hover_text(client: _Client, path: Path, line: int, col: int) -> str:
    request = client.send("textDocument/hover", {"textDocument": {"uri": path.resolve().as_uri()},
                                                 "position": {"line": line, "character": col}})
    found = client.answer(request) or {}
    contents = found.get("contents", "")
    return str(contents.get("value", "") if isinstance(contents, dict) else contents)


def shipped_settings(root: Path = REPO) -> dict[str, Any]:
    """The ``yaml.*`` settings of the project's ``.vscode/settings.json``, as VS Code sends them."""
    flat = json.loads((root / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    yaml = {k.removeprefix("yaml."): v for k, v in flat.items() if k.startswith("yaml.")}
    return {"yaml": {"validate": True, "hover": True, "completion": True, **yaml}}


def diagnostics(root: Path, files: Iterable[Path], settings: Mapping[str, Any] | None = None,
                quiet: float = 1.5) -> dict[Path, list[dict[str, Any]]]:
    """What yaml-language-server reports for each file, with the workspace folder ``root``."""
    return session(root, files, settings, quiet)[0]


def session(root: Path, files: Iterable[Path], settings: Mapping[str, Any] | None = None, quiet: float = 1.5,
            hovers: Iterable[tuple[Path, int, int]] = ()) -> tuple[dict[Path, list[dict[str, Any]]], list[str]]:
    """The diagnostics of every file, and the hover text at each (file, line, column), 0-based."""
    client = _Client(_server(), settings or shipped_settings(root))
    try:
        root_uri = root.resolve().as_uri()
        client.send("initialize", {"processId": None, "rootUri": root_uri,
                                   "workspaceFolders": [{"uri": root_uri, "name": root.name}],
                                   "capabilities": {"workspace": {"configuration": True}}})
        client.send("initialized", {})
        client.send("workspace/didChangeConfiguration", {"settings": client.settings})
        paths = {p.resolve().as_uri(): p for p in files}
        for uri, path in paths.items():
            client.send("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "yaml", "version": 1, "text": path.read_text(encoding="utf-8")}})
        client.wait_quiet(set(paths), quiet, limit=120)
        texts = [_hover_text(client, path, line, col) for path, line, col in hovers]
        return {paths[u]: d for u, d in client.published.items() if u in paths}, texts
    finally:
        client.close()
