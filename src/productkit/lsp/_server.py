"""productkit's own checks in the editor: a language server over stdio.

The catalogue stays in memory as the editor holds it: every open buffer is written to a shadow
copy of the catalogue's source files, and the whole shadow is validated (with the cache, so an
edit re-checks what it touches), so a change that breaks another file is published for that
file too. Completion offers component ids with version ranges, parameter names of the
dictionaries, data paths, and step ids; hover shows a parameter's resolved value and provenance."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..diagnostics import Diagnostic, Location
from ..options import Options
from ..sources import discover, find_root
from ..validate import ValidationResult, validate

__all__ = ["Workspace"]

_SEVERITY = {"error": 1, "warning": 2, "info": 3}
Send = Callable[[dict[str, Any]], None]


def _path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


class Workspace:
    """The catalogue as the editor holds it, and its last validation."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.root: Path | None = None
        self.shadow: Path | None = None
        self.result: ValidationResult | None = None
        self.published: set[str] = set()
        self.texts: dict[str, str] = {}

    def open_root(self, root: Path) -> None:
        self.root = find_root(root.resolve())
        self.shadow = Path(tempfile.mkdtemp(prefix="productkit-lsp-")) / "catalogue"
        for src in discover(self.root):
            dst = self.shadow / src.relative_to(self.root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_file():
                shutil.copyfile(src, dst)
        self.check()

    def close(self) -> None:
        if self.shadow is not None:
            shutil.rmtree(self.shadow.parent, ignore_errors=True)

    def edit(self, uri: str, text: str) -> None:
        """The buffer ``uri`` now holds ``text``: validate again and publish."""
        self.texts[uri] = text
        rel = self._relative(uri)
        if rel is None or self.shadow is None:
            return
        target = self.shadow / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self.check()

    def _relative(self, uri: str) -> Path | None:
        if self.root is None:
            return None
        try:
            return _path(uri).resolve().relative_to(self.root)
        except ValueError:
            return None

    def check(self) -> None:
        assert self.shadow is not None and self.root is not None
        self.result = validate([self.shadow], Options())
        by_file: dict[str, list[dict[str, Any]]] = {}
        for d in self.result.diagnostics:
            by_file.setdefault(self._uri(d.location), []).append(self._lsp(d))
        for uri in self.texts:  # an open file always hears back, if only that it is clean
            by_file.setdefault(uri, [])
        for uri in sorted(self.published - by_file.keys()):
            self.send({"method": "textDocument/publishDiagnostics", "params": {"uri": uri, "diagnostics": []}})
        for uri, found in sorted(by_file.items()):
            self.send({"method": "textDocument/publishDiagnostics", "params": {"uri": uri, "diagnostics": found}})
        self.published = set(by_file)

    def _uri(self, loc: Location) -> str:
        assert self.root is not None and self.shadow is not None
        path = Path(loc.file)
        if path.is_absolute():
            try:
                path = path.relative_to(self.shadow)
            except ValueError:
                return path.as_uri()
        return (self.root / path).as_uri()

    def _lsp(self, d: Diagnostic) -> dict[str, Any]:
        out: dict[str, Any] = {"range": _range(d.location), "severity": _SEVERITY.get(d.severity.value, 3),
                               "code": d.code, "source": "productkit",
                               "message": d.message + (f"\nhint: {d.hint}" if d.hint else "")}
        if d.related:
            out["relatedInformation"] = [{"location": {"uri": self._uri(r.location), "range": _range(r.location)},
                                          "message": r.message} for r in d.related]
        return out

    # ------------------------------------------------------------------ completion and hover

    def complete(self, uri: str, line: int, col: int) -> list[dict[str, Any]]:
        text = self.texts.get(uri) or _read(_path(uri))
        lines = text.splitlines()
        before = lines[line][:col] if line < len(lines) else ""
        if re.search(r"\buse:\s*\S*$", before):
            return [_item(f"{cid}@^{major}", 9, title) for cid, major, title in self._components()]
        in_list = re.fullmatch(r"\s*-\s*\S*", before) is not None and _section_above(lines, line) == "after"
        if in_list or re.search(r"\b(after:\s*\[?.*|goto:\s*\S*)$", before):
            return [_item(s, 18, None) for s in re.findall(r"^\s*-\s+id:\s*([\w.-]+)", text, re.M)]
        if _section_above(lines, line) in ("parameters", "with"):
            return [_item(n, 10, spec.title.en if spec.title else None) for n, spec in self._dictionary()]
        return [_item(p, 6, None) for p in self._data_paths()]

    def hover(self, uri: str, line: int, col: int) -> dict[str, Any] | None:
        text = self.texts.get(uri) or _read(_path(uri))
        lines = text.splitlines()
        if line >= len(lines):
            return None
        word = _word(lines[line], col)
        for rp in self._products_of(uri):
            p = rp.params.get(word)
            if p is not None:
                chain = "\n".join(f"- `{i.source}` = {i.value} ({i.location})" for i in p.provenance)
                value = p.value if p.value is not None else "(not set)"
                return {"contents": {"kind": "markdown", "value": f"**{word}** = {value}\n\n{chain}"}}
        return None

    def _components(self) -> Iterator[tuple[str, int, str | None]]:
        if self.result is None:
            return
        for kind in ("ProcessComponent", "UIComponent"):
            for e in self.result.catalog.kind(kind):
                title = getattr(e.model, "title", None)
                yield e.model.id, int(e.model.version.split(".")[0]), getattr(title, "en", None)

    def _dictionary(self) -> list[tuple[str, Any]]:
        ctx = self.result.context if self.result else None
        return sorted(ctx.dictionary.items()) if ctx else []

    def _data_paths(self) -> list[str]:
        if self.result is None:
            return []
        return sorted({p for e in self.result.catalog.kind("DataDictionary") for p in getattr(e.model, "data", {})})

    def _products_of(self, uri: str) -> Iterator[Any]:
        ctx = self.result.context if self.result else None
        rel = self._relative(uri)
        if ctx is None or rel is None:
            return
        for key, asm in ctx.assemblies.items():
            if key[0] == "Product" and Path(asm.product.entry.file).as_posix().endswith(rel.as_posix()):
                yield asm.product


def _range(loc: Location) -> dict[str, Any]:
    line, col = max(loc.line - 1, 0), max(loc.col - 1, 0)
    return {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}}


def _item(label: str, kind: int, detail: str | None) -> dict[str, Any]:
    return {"label": label, "kind": kind, **({"detail": detail} if detail else {})}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _word(line: str, col: int) -> str:
    for m in re.finditer(r"[\w.-]+", line):
        if m.start() <= col <= m.end():
            return m.group()
    return ""


def _section_above(lines: list[str], line: int) -> str | None:
    """The key of the nearest less-indented ``key:`` line above ``line``."""
    here = lines[line] if line < len(lines) else ""
    indent = len(here) - len(here.lstrip())
    for text in reversed(lines[:line]):
        m = re.match(r"(\s*)(?:-\s+)?([\w-]+):", text)
        if m and len(m[1]) < indent:
            return m[2]
    return None
