"""The language server: pygls over stdio, on a :class:`~productkit.lsp._session.Session`.

Buffers are synchronised incrementally (pygls applies each change to its copy of the text);
every open, change, save, close and watched-file change hands the file's new text to the
session, which re-checks what the change can affect; then every file whose diagnostics changed
gets them published, a file that became clean an empty list, and the edited file always hears
back."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from ..diagnostics import Diagnostic, Location, Severity
from ..sources import find_root
from ._complete import complete, hover
from ._session import Session

__all__ = ["ProductkitServer", "build_server"]

_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning}
_TOKEN = re.compile(r"[^\s,\[\]{}]+")
TRIGGERS = [" ", "@", "[", ",", "."]


class ProductkitServer(LanguageServer):
    """A LanguageServer that keeps one catalogue session and what it last published."""

    def __init__(self) -> None:
        super().__init__("productkit", "1", text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.session: Session | None = None
        self.published: dict[str, list[Diagnostic]] = {}  # file name -> what the editor shows
        self.uris: dict[str, str] = {}  # file name -> the uri the editor named it by

    def open_root(self, folder: Path) -> None:
        self.session = Session(find_root(folder.resolve()))
        self.session.load()
        self.publish(set())

    def file_name(self, uri: str) -> str | None:
        """The session's name of the file at ``uri``; None when it is no catalogue document."""
        path = to_fs_path(uri)
        if self.session is None or path is None:
            return None
        name = self.session.name_of(Path(path))
        if not self.session.knows(name):  # the editor may name it through a link
            name = self.session.name_of(Path(path).resolve())
        if not self.session.knows(name):
            return None
        self.uris.setdefault(name, uri)
        return name

    def edited(self, uri: str, text: str | None = None, disk: bool = False) -> None:
        """The buffer at ``uri`` now holds ``text`` (``disk``: read the file instead); check and publish."""
        name = self.file_name(uri)
        if name is None or self.session is None:
            return
        if disk:
            self.session.reread(name)
        else:
            self.session.change(name, text)
        self.publish({name} if name in self.session.loaded else set())

    def publish(self, always: set[str]) -> None:
        """Publish every file whose diagnostics changed, and the files in ``always``."""
        assert self.session is not None
        now = self.session.by_file()
        for name in sorted(always | now.keys() | self.published.keys()):
            found = now.get(name, [])
            if name in always or found != self.published.get(name, []):
                self._send(name, found)
        self.published = now

    def uri(self, name: str) -> str:
        return self.uris.get(name) or Path(name).absolute().as_uri()

    def _send(self, name: str, found: list[Diagnostic]) -> None:
        uri = self.uri(name)
        doc = self.workspace.text_documents.get(uri)
        lines = doc.lines if doc is not None else []
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=[self._lsp(d, lines) for d in found], version=doc.version if doc else None))

    def _lsp(self, d: Diagnostic, lines: list[str]) -> types.Diagnostic:
        related = [types.DiagnosticRelatedInformation(
            location=types.Location(uri=self.uri(r.location.file), range=_range(r.location, [])), message=r.message)
            for r in d.related]
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        return types.Diagnostic(range=_range(d.location, lines), message=message,
                                severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Information),
                                code=d.code, source="productkit", related_information=related or None)


def _range(loc: Location, lines: list[str]) -> types.Range:
    """The token at ``loc`` (one character when the text is not at hand)."""
    line, col = max(loc.line - 1, 0), max(loc.col - 1, 0)
    text = lines[line] if line < len(lines) else ""
    token = _TOKEN.match(text, col) if col < len(text) else None
    end = token.end() if token is not None else col + 1
    return types.Range(start=types.Position(line=line, character=col), end=types.Position(line=line, character=end))


def build_server() -> ProductkitServer:
    """A server with every feature registered."""
    server = ProductkitServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: ProductkitServer, params: types.InitializedParams) -> None:
        folders = ls.workspace.folders
        root = next(iter(folders.values())).uri if folders else ls.workspace.root_uri
        path = to_fs_path(root) if root else None
        if path:
            ls.open_root(Path(path))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ProductkitServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.edited(params.text_document.uri, params.text_document.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: ProductkitServer, params: types.DidChangeTextDocumentParams) -> None:
        await asyncio.sleep(0)  # let changes typed meanwhile arrive: only the latest is checked
        uri = params.text_document.uri
        doc = ls.workspace.get_text_document(uri)
        if doc.version is not None and doc.version > params.text_document.version:
            return
        ls.edited(uri, doc.source)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ProductkitServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.edited(params.text_document.uri, disk=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: ProductkitServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            if change.uri not in ls.workspace.text_documents:  # an open buffer wins over the disk
                ls.edited(change.uri, disk=True)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=TRIGGERS))
    def completion(ls: ProductkitServer, params: types.CompletionParams) -> list[types.CompletionItem]:
        name = ls.file_name(params.text_document.uri)
        if ls.session is None or name is None:
            return []
        text = ls.workspace.get_text_document(params.text_document.uri).source
        return complete(ls.session, name, text, params.position.line, params.position.character)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: ProductkitServer, params: types.HoverParams) -> types.Hover | None:
        name = ls.file_name(params.text_document.uri)
        if ls.session is None or name is None:
            return None
        text = ls.workspace.get_text_document(params.text_document.uri).source
        return hover(ls.session, name, text, params.position.line, params.position.character)

    return server

