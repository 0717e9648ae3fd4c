"""JSON-RPC 2.0 framed by Content-Length headers, the transport of the Language Server Protocol."""

from __future__ import annotations

import json
from typing import IO, Any

__all__ = ["read_message", "write_message"]


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at the end of the stream."""
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
    if length < 0:
        return None
    found = json.loads(stream.read(length))
    return found if isinstance(found, dict) else None


def write_message(stream: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()
