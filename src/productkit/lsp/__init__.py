"""``productkit lsp``: productkit's diagnostics, completion and hover in any editor that speaks
the Language Server Protocol, over stdio (pygls).

The catalogue is loaded once and kept in memory; an edit re-checks only what it can affect
(see :mod:`productkit.lsp._session`), and the diagnostics are those ``productkit validate``
reports for the same files."""

from __future__ import annotations

import sys
from typing import BinaryIO

__all__ = ["serve"]


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Serve one editor session on ``stdin``/``stdout``; the exit code the protocol asks for."""
    try:
        from ._server import build_server
    except ModuleNotFoundError as exc:
        if exc.name not in ("pygls", "lsprotocol"):
            raise
        sys.stderr.write("productkit lsp needs pygls: pip install 'productkit[lsp]'\n")
        return 2
    server = build_server()
    server.start_io(stdin, stdout)
    return 0 if getattr(server.protocol, "_shutdown", False) else 1
