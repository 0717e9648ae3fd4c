"""``productkit lsp``: productkit's diagnostics, completion and hover in any editor that speaks
the Language Server Protocol, over stdio."""

from __future__ import annotations

import sys
from typing import IO, Any

from ._rpc import read_message, write_message
from ._server import Workspace, _path

__all__ = ["serve"]

_CAPABILITIES = {"textDocumentSync": {"openClose": True, "change": 1, "save": True},
                 "completionProvider": {"triggerCharacters": [" ", "@", "[", ",", "."]}, "hoverProvider": True}


def serve(stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Serve one editor session on ``stdin``/``stdout``; the exit code the protocol asks for."""
    inp, out = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
    ws = Workspace(lambda msg: write_message(out, msg))
    shutdown = False
    try:
        while (msg := read_message(inp)) is not None:
            method = msg.get("method")
            if method == "exit":
                return 0 if shutdown else 1
            shutdown = shutdown or method == "shutdown"
            result = _dispatch(ws, method, msg.get("params") or {})
            if "id" in msg:
                write_message(out, {"id": msg["id"], "result": result})
    finally:
        ws.close()
    return 1


def _dispatch(ws: Workspace, method: Any, params: dict[str, Any]) -> Any:
    doc = params.get("textDocument") or {}
    pos = params.get("position") or {}
    if method == "initialize":
        folders = params.get("workspaceFolders") or []
        uri = folders[0]["uri"] if folders else params.get("rootUri")
        if uri:
            ws.open_root(_path(uri))
        return {"capabilities": _CAPABILITIES, "serverInfo": {"name": "productkit"}}
    if method == "textDocument/didOpen":
        ws.edit(doc["uri"], doc.get("text", ""))
    elif method == "textDocument/didChange":
        changes = params.get("contentChanges") or []
        if changes:
            ws.edit(doc["uri"], changes[-1].get("text", ""))
    elif method == "textDocument/completion":
        return ws.complete(doc["uri"], pos.get("line", 0), pos.get("character", 0))
    elif method == "textDocument/hover":
        return ws.hover(doc["uri"], pos.get("line", 0), pos.get("character", 0))
    return None
