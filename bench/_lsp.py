"""``productkit lsp`` measured as an editor sees it: a stdio client opens a product file, types a
step reference that does not exist (``after: [missing-step]``, PK202) and times until the
server publishes that diagnostic for the file, then deletes it again and times until the clean
publish. Median of several edits; the start-up (initialize to the open file's first publish) is
reported too.

    python -m bench._lsp <catalogue root> [--edits N]
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["Client", "measure_lsp"]

Diagnostics = list[dict[str, Any]]


class Client:
    """A language client over a server's stdin/stdout: requests wait for their answer, and every
    publishDiagnostics is kept (the latest per uri) and queued for :meth:`until`."""

    def __init__(self, cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=cwd, env=env)
        self.published: dict[str, Diagnostics] = {}
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.answers: dict[int, Any] = {}
        self.next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while (msg := read_message(self.proc.stdout)) is not None:
            self.inbox.put(msg)
        self.inbox.put(None)

    def notify(self, method: str, params: Any) -> None:
        assert self.proc.stdin is not None
        write_message(self.proc.stdin, {"method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 600) -> Any:
        assert self.proc.stdin is not None
        self.next += 1
        ident = self.next
        write_message(self.proc.stdin, {"id": ident, "method": method, "params": params})
        self._wait(lambda: ident in self.answers, timeout)
        return self.answers.pop(ident)

    def until(self, uri: str, wanted: Callable[[Diagnostics], bool], timeout: float = 120) -> Diagnostics:
        """Wait for a publish for ``uri`` whose diagnostics satisfy ``wanted``; those diagnostics."""
        found: list[Diagnostics] = []

        def seen(msg: dict[str, Any]) -> bool:
            params = msg.get("params") or {}
            if msg.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri \
                    and wanted(params["diagnostics"]):
                found.append(params["diagnostics"])
            return bool(found)

        self._wait(lambda: bool(found), timeout, seen)
        return found[0]

    def _wait(self, done: Callable[[], bool], timeout: float,
              each: Callable[[dict[str, Any]], bool] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            msg = self.inbox.get(timeout=max(deadline - time.monotonic(), 0.001))
            if msg is None:
                raise RuntimeError("the language server closed its output")
            self._keep(msg)
            if each is not None and each(msg):
                return

    def _keep(self, msg: dict[str, Any]) -> None:
        if msg.get("method") == "textDocument/publishDiagnostics":
            self.published[msg["params"]["uri"]] = msg["params"]["diagnostics"]
        elif "id" in msg and "method" not in msg:
            self.answers[msg["id"]] = msg.get("result", msg.get("error"))
        elif "id" in msg:  # a request from the server (registration, configuration): answer it
            assert self.proc.stdin is not None
            write_message(self.proc.stdin, {"id": msg["id"], "result": None})

    def close(self) -> int:
        self.request("shutdown", None)
        self.notify("exit", None)
        return self.proc.wait(timeout=60)


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next Content-Length framed JSON-RPC message, or None at the end of the stream."""
    length = -1
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    found = json.loads(stream.read(length)) if length >= 0 else None
    return found if isinstance(found, dict) else None


def write_message(stream: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def initialize(client: Client, root: Path) -> None:
    client.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                  "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}]})
    client.notify("initialized", {})


def errors(found: Diagnostics, code: str | None = None) -> Diagnostics:
    return [d for d in found if d.get("severity") == 1 and (code is None or d.get("code") == code)]


def product_file(root: Path) -> Path:
    return next(p for p in sorted((root / "products").rglob("*.yaml")) if "\nkind: Product\n" in p.read_text("utf-8"))


def free_step_line(text: str) -> int:
    """The line after the first ``- id:`` of a step that has no ``after`` yet."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  - id: ") and "steps:" in "".join(lines[:i]):
            block = []
            for nxt in lines[i + 1:]:
                if not nxt.startswith("    "):
                    break
                block.append(nxt)
            if not any(b.startswith("    after:") for b in block):
                return i + 1
    raise SystemExit("bench: no step without 'after' in the product file")


def _change(client: Client, uri: str, version: int, at: int, text: str, remove: bool) -> None:
    end = {"line": at + 1, "character": 0} if remove else {"line": at, "character": 0}
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": {"start": {"line": at, "character": 0}, "end": end}, "text": text}]})


def measure_lsp(cmd: Sequence[str], root: Path, edits: int = 5, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> dict[str, Any]:
    """Seconds from a didChange to the publish with its PK202 (median, runs), to the clean publish
    after undoing it ("clean"), and from initialize to the open file's first publish ("startup")."""
    path = product_file(root)
    uri, text = path.as_uri(), path.read_text("utf-8")
    at = free_step_line(text)
    client = Client([*cmd, "lsp"], cwd=cwd, env=env)
    try:
        start = time.perf_counter()
        initialize(client, root)
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                                "text": text}})
        client.until(uri, lambda found: not errors(found))
        startup = time.perf_counter() - start
        broken, clean = [], []
        for i in range(edits):
            start = time.perf_counter()
            _change(client, uri, 2 + 2 * i, at, f"    after: [missing-step-{i}]\n", remove=False)
            client.until(uri, lambda found: bool(errors(found, "PK202")))
            broken.append(time.perf_counter() - start)
            start = time.perf_counter()
            _change(client, uri, 3 + 2 * i, at, "", remove=True)
            client.until(uri, lambda found: not errors(found))
            clean.append(time.perf_counter() - start)
        code = client.close()
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
    if code != 0:
        raise SystemExit(f"bench: productkit lsp exited with {code}")
    print(f"  {'lsp: an edit to its PK202':<34} {statistics.median(broken) * 1000:8.0f} ms  (clean again "
          f"{statistics.median(clean) * 1000:.0f} ms, start-up {startup:.1f} s)", flush=True)
    return {"median": statistics.median(broken), "runs": broken, "startup": startup,
            "clean": {"median": statistics.median(clean), "runs": clean}, "file": str(path.relative_to(root))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._lsp")
    parser.add_argument("root", type=Path)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args(argv)
    out = measure_lsp([sys.executable, "-m", "productkit"], args.root.resolve(), args.edits)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
