"""Stage 1: bytes -> values with positions, through libyaml's C parser, strictly.

The loader builds its own value tree from parser events, so nothing the YAML 1.1 resolver
would do (``yes`` -> True, ``010`` -> 8, ``0.1`` -> float) ever happens here: plain scalars
stay text (:class:`Plain`) until the document model says which type it wants. Aliases,
anchors, merge keys and tags are refused; nesting is bounded; every value keeps its mark.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from ._gcpause import gc_paused
from ._plain import Plain  # a plain (unquoted) scalar, kept as its source text
from .diagnostics import Diagnostic, Location, ProductkitError

__all__ = ["Document", "LoadLimits", "Marks", "Plain", "load_file", "load_text", "pack_document", "read_regular",
           "unpack_document"]

if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover - depends on the install
    raise ProductkitError(
        "PyYAML was installed without libyaml; productkit needs the C parser. "
        "Reinstall PyYAML from a wheel (pip install --force-reinstall PyYAML)."
    )

_CParser: Any = yaml.CSafeLoader
_CyParser: Any = yaml.cyaml.CParser  # type: ignore[attr-defined]  # libyaml's parser and composer, without a constructor


Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadLimits:
    max_bytes: int = 1024 * 1024
    max_depth: int = 32
    max_nodes: int = 200_000


class Marks:
    """Positions (1-based line, col) of values and of mapping keys, by document path.

    Marks read from the cache stay packed (plain JSON lists) until first used, and each part
    (values, keys, quoted, block) is rebuilt only when it is asked for: a warm run that reports
    nothing about a file never rebuilds its thousands of path tuples, and a lookup of where a
    dictionary's parameter is declared rebuilds its keys alone."""

    __slots__ = ("_block", "_keys", "_packed", "_quoted", "_values")

    def __init__(self, values: dict[Path_, tuple[int, int]] | None = None,
                 keys: dict[Path_, tuple[int, int]] | None = None, quoted: set[Path_] | None = None) -> None:
        self._values: dict[Path_, tuple[int, int]] | None = values if values is not None else {}
        self._keys: dict[Path_, tuple[int, int]] | None = keys if keys is not None else {}
        self._quoted: set[Path_] | None = quoted if quoted is not None else set()  # single- or double-quoted scalars
        self._block: set[Path_] | None = set()  # literal (|) or folded (>) scalars: offsets do not map to columns
        self._packed: Any = None  # the JSON text, then its parsed lists, until every part is rebuilt

    @property
    def values(self) -> dict[Path_, tuple[int, int]]:
        if self._values is None:
            self._values = self._marked("v")
            self._done()
        return self._values

    @property
    def keys(self) -> dict[Path_, tuple[int, int]]:
        if self._keys is None:
            self._keys = self._marked("k")
            self._done()
        return self._keys

    @property
    def quoted(self) -> set[Path_]:
        if self._quoted is None:
            self._quoted = self._paths("q")
            self._done()
        return self._quoted

    @property
    def block(self) -> set[Path_]:
        if self._block is None:
            self._block = self._paths("b")
            self._done()
        return self._block

    def _done(self) -> None:
        """The packed marks let go of once every part is rebuilt (a document may live long)."""
        if None not in (self._values, self._keys, self._quoted, self._block):
            self._packed = None

    def pack(self) -> str:
        """The marks as one JSON text (what the cache stores: a single string is cheap to read)."""
        if isinstance(self._packed, str):
            return self._packed
        return orjson.dumps({"v": [[list(p), *m] for p, m in self.values.items()],
                             "k": [[list(p), *m] for p, m in self.keys.items()],
                             "q": [list(p) for p in self.quoted],
                             "b": [list(p) for p in self.block]}).decode("utf-8")

    @classmethod
    def packed(cls, text: Any) -> Marks:
        """Marks from :meth:`pack` output, decoded on first use."""
        if not isinstance(text, str):
            raise ValueError("not marks")
        marks = cls()
        marks._packed = text
        marks._values = marks._keys = marks._quoted = marks._block = None
        return marks

    def _part(self, part: str) -> list[Any]:
        """One part of the packed marks as :meth:`pack` wrote it (the text is parsed once)."""
        if isinstance(self._packed, str):
            try:
                parsed = orjson.loads(self._packed)
            except orjson.JSONDecodeError:
                parsed = None
            self._packed = parsed if isinstance(parsed, dict) else {}
        found = self._packed.get(part)
        return found if isinstance(found, list) else []

    def _marked(self, part: str) -> dict[Path_, tuple[int, int]]:
        try:
            return {_path_of(p): _mark_of(line, col) for p, line, col in self._part(part)}
        except (TypeError, ValueError):  # only a bug in pack() could lead here: no positions
            return {}

    def _paths(self, part: str) -> set[Path_]:
        try:
            return {_path_of(p) for p in self._part(part)}
        except (TypeError, ValueError):
            return set()

    def value(self, path: Path_) -> tuple[int, int]:
        """The mark of the value at ``path``, or of its nearest ancestor."""
        values = self.values
        p = tuple(path)
        while p:
            found = values.get(p)
            if found is not None:
                return found
            p = p[:-1]
        return values.get((), (1, 1))

    def key(self, path: Path_) -> tuple[int, int]:
        """The mark of the key that introduces ``path`` (falls back to the value)."""
        p = tuple(path)
        found = self.keys.get(p)
        return found if found is not None else self.value(p)


def _path_of(data: Any) -> Path_:
    if not (isinstance(data, list) and all(type(x) is str or type(x) is int for x in data)):
        raise ValueError("not a document path")
    return tuple(data)


def _mark_of(line: Any, col: Any) -> tuple[int, int]:
    if type(line) is not int or type(col) is not int:
        raise ValueError("not a mark")
    return line, col


@dataclass(slots=True)
class Document:
    """One loaded file: its data (dicts, lists, Plain/str scalars, None) and positions."""

    file: str
    data: Any
    marks: Marks

    def text_loc(self, path: Path_, offset: int) -> Location:
        """The location of character ``offset`` of the one-line scalar at ``path``."""
        base = self.loc(path)
        node: Any = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return base
        if not isinstance(node, str) or "\n" in node or path not in self.marks.values or path in self.marks.block:
            return base
        shift = 1 if path in self.marks.quoted else 0
        return Location(base.file, base.line, base.col + shift + offset, base.path)

    def loc(self, path: Path_ = (), key: bool = False) -> Location:
        line, col = self.marks.key(path) if key else self.marks.value(path)
        return Location(self.file, line, col, tuple(path))


_QUOTED = "\x00"  # marks a non-plain string in packed data; a plain scalar never holds NUL


def pack_document(doc: Document) -> dict[str, Any]:
    """``doc`` as JSON data (what the cache stores); :func:`unpack_document` inverts it."""
    return {"file": doc.file, "data": _pack(doc.data), "marks": doc.marks.pack()}


def unpack_document(data: Any) -> Document:
    """A Document from :func:`pack_document` output; ValueError on anything else."""
    if not (isinstance(data, dict) and isinstance(data.get("file"), str) and isinstance(data.get("data"), dict)):
        raise ValueError("not a document")
    return Document(data["file"], _unpack(data["data"]), Marks.packed(data.get("marks")))


def _pack(value: Any) -> Any:
    # Depth is bounded by LoadLimits.max_depth: the loader refused anything deeper.
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pack(v) for v in value]
    if isinstance(value, Plain) or value is None:
        return value
    return [_QUOTED, str(value)]


def _unpack(value: Any) -> Any:
    # Leaves are handled inline: most nodes are plain scalars, and a call each would dominate.
    if type(value) is dict:
        return {k: Plain(v) if type(v) is str else _unpack(v) for k, v in value.items()}
    if type(value) is list:
        if len(value) == 2 and value[0] == _QUOTED and type(value[1]) is str:
            return value[1]
        return [Plain(v) if type(v) is str else _unpack(v) for v in value]
    if type(value) is str:
        return Plain(value)
    if value is None:
        return None
    raise ValueError(f"unexpected {type(value).__name__} in a packed document")


class _Refused(Exception):
    def __init__(self, code: str, message: str, line: int, col: int, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.line, self.col, self.hint = code, message, line, col, hint


def _mark(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


# The line breaks libyaml counts in its marks (YAML 1.1): CRLF, CR, LF, NEL, LS, PS.
_BREAK_RE = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``text[index]``, counted as libyaml does."""
    line, start = 1, 0
    for brk in _BREAK_RE.finditer(text, 0, index):
        line, start = line + 1, brk.end()
    return line, index - start + 1


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


def _scalar(event: Any) -> Any:
    if event.tag is not None and not (event.implicit[0] or event.implicit[1]):
        raise _Refused("PK011", f"YAML tag '{event.tag}' is not allowed", *_mark(event),
                       hint="remove the tag; productkit documents use plain values only")
    if event.style in ("", None):
        if event.value in _NULLS:
            return None
        return Plain(event.value)
    return str(event.value)


def _check_node_event(event: Any, kind: str) -> None:
    if event.anchor is not None:
        raise _Refused("PK010", f"YAML anchor '&{event.anchor}' is not allowed", *_mark(event),
                       hint="repeat the value instead; anchors and aliases hide what a file says")
    tag = getattr(event, "tag", None)
    if tag is not None and not event.implicit:
        raise _Refused("PK011", f"YAML tag '{tag}' is not allowed on a {kind}", *_mark(event))


class _Builder:
    """Turns the parser's event stream into plain values with marks, iteratively."""

    def __init__(self, limits: LoadLimits) -> None:
        self.limits = limits
        self.marks = Marks()
        self.nodes = 0
        self.documents = 0

    def build(self, events: Any) -> Any:
        # Each frame: [container, path, pending_key, key_mark, key_lines]
        stack: list[list[Any]] = []
        root: Any = None
        for event in events:
            name = type(event).__name__
            if name == "DocumentStartEvent":
                self.documents += 1
                if self.documents > 1:
                    raise _Refused("PK007", "a second YAML document starts here; a file holds "
                                   "exactly one document", *_mark(event),
                                   hint="split the documents into one file each")
                continue
            if name in ("StreamStartEvent", "DocumentEndEvent", "StreamEndEvent"):
                continue
            self.nodes += 1
            if self.nodes > self.limits.max_nodes:
                raise _Refused("PK003", f"more than {self.limits.max_nodes} YAML nodes", *_mark(event))
            if name == "AliasEvent":
                raise _Refused("PK010", f"YAML alias '*{event.anchor}' is not allowed", *_mark(event),
                               hint="repeat the value instead of referring to an anchor")
            if name in ("MappingEndEvent", "SequenceEndEvent"):
                frame = stack.pop()
                value = frame[0]
                if not stack:
                    root = value
                continue
            if name == "ScalarEvent":
                if event.anchor is not None:
                    _check_node_event(event, "scalar")
                value = _scalar(event)
                container: dict[str, Any] | list[Any] | None = None
            else:
                kind = "mapping" if name == "MappingStartEvent" else "sequence"
                _check_node_event(event, kind)
                if len(stack) >= self.limits.max_depth:
                    raise _Refused("PK012", f"nesting deeper than {self.limits.max_depth} levels",
                                   *_mark(event))
                container = {} if kind == "mapping" else []
                value = container
            if not stack:
                self.marks.values[()] = _mark(event)
                if container is None:
                    root = value
                else:
                    stack.append([container, (), None, None, {}])
                continue
            self._place(stack[-1], value, event)
            if container is not None:
                parent_path = stack[-1][1]
                path = parent_path + (self._last_key(stack[-1]),)
                stack.append([container, path, None, None, {}])
        return root

    @staticmethod
    def _last_key(frame: list[Any]) -> str | int:
        container = frame[0]
        if isinstance(container, list):
            return len(container) - 1
        key: str = frame[2] if frame[2] is not None else frame[4]["__last__"]
        return key

    def _place(self, frame: list[Any], value: Any, event: Any) -> None:
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            container.append(value)
            self.marks.values[path + (len(container) - 1,)] = _mark(event)
            self._style(path + (len(container) - 1,), event)
            return
        if frame[2] is None:  # this event is a key
            self._take_key(frame, value, event)
            return
        key = frame[2]
        container[key] = value
        self.marks.values[path + (key,)] = _mark(event)
        self._style(path + (key,), event)
        self.marks.keys[path + (key,)] = frame[3]
        frame[4]["__last__"] = key
        frame[2] = None

    def _style(self, path: Path_, event: Any) -> None:
        style = getattr(event, "style", None)
        if style in ("'", '"'):
            self.marks.quoted.add(path)
        elif style in ("|", ">"):
            self.marks.block.add(path)

    def _take_key(self, frame: list[Any], value: Any, event: Any) -> None:
        line, col = _mark(event)
        if type(event).__name__ != "ScalarEvent":
            raise _Refused("PK013", "a mapping key must be a plain string, found a collection", line, col)
        key = "" if value is None else str(value)
        if isinstance(value, Plain) and key == "<<":
            raise _Refused("PK010", "YAML merge keys ('<<') are not allowed", line, col,
                           hint="write the merged fields out")
        first = frame[4].get(("k", key))
        if first is not None:
            raise _Refused("PK009", f"duplicate key '{key}' (first at line {first[0]})", line, col,
                           hint="each key may appear once in a mapping; remove one of them")
        frame[4][("k", key)] = (line, col)
        frame[2] = key
        frame[3] = (line, col)


def _error(file: str, code: str, message: str, line: int = 0, col: int = 0,
           hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, Location(file, line, col), hint=hint)


def _within(text: str, line: int, col: int) -> tuple[int, int]:
    """libyaml puts the end of a stream that lacks a final line break on a line of its own;
    point at the end of the last line instead."""
    lines = _BREAK_RE.split(text)
    if line > len(lines):
        return len(lines), len(lines[-1]) + 1
    return line, col


def _decode(file: str, raw: bytes) -> tuple[str | None, Diagnostic | None]:
    # Positions are counted in the text after the BOM, in characters, as libyaml counts them.
    body = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    nul = body.find(b"\x00")
    if nul >= 0:
        prefix = body[:nul].decode("utf-8", errors="replace")
        return None, _error(file, "PK004", "NUL byte in file; a catalogue file must be UTF-8 text",
                            *_line_col(prefix, len(prefix)))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = body[:exc.start].decode("utf-8")  # valid: the first bad byte is at exc.start
        bad = body[exc.start: exc.start + 1].hex()
        return None, _error(file, "PK004", f"invalid UTF-8 byte 0x{bad}",
                            *_line_col(prefix, len(prefix)), hint="save the file as UTF-8")
    return text, None


def _unencodable(text: str, file: str) -> Diagnostic | None:
    """A lone surrogate (only possible in text handed to load_text) cannot reach the parser."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return _error(file, "PK004", f"character U+{ord(text[exc.start]):04X} is not valid text",
                      *_line_col(text, exc.start))
    return None


def _reader_problem(text: str, file: str, exc: yaml.reader.ReaderError) -> Diagnostic:
    # libyaml reports a byte offset into the UTF-8 encoding of the text.
    index = len(text.encode("utf-8")[:exc.position].decode("utf-8", errors="ignore"))
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return _error(file, "PK005", f"YAML syntax error: character U+{char:04X} is not allowed "
                  f"({exc.reason})", *_line_col(text, index),
                  hint="remove the control character, or write it as an escape in a quoted string")


@gc_paused()
def load_text(text: str, file: str, limits: LoadLimits = LoadLimits()) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML text into a :class:`Document`, or return located diagnostics.

    A text that cannot hold an anchor, alias or tag is composed by libyaml itself
    (:func:`_composed`); anything that path does not take as it is (a refusal, a syntax error,
    a limit) goes through the event builder, which says exactly why."""
    unencodable = _unencodable(text, file)
    if unencodable is not None:
        return None, [unencodable]
    if not _may_hold_a_node_property(text):
        composed = _composed(text, limits)
        if composed is not None:
            return Document(file, *composed), []
    return _built(text, file, limits)


def _built(text: str, file: str, limits: LoadLimits) -> tuple[Document | None, list[Diagnostic]]:
    """:func:`load_text` through the event builder: every refusal at the event it is about."""
    builder = _Builder(limits)
    try:
        data = builder.build(yaml.parse(text, Loader=_CParser))
    except _Refused as exc:
        return None, [_error(file, exc.code, exc.message, exc.line, exc.col, exc.hint)]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_problem(text, file, exc)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _within(text, mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [_error(file, "PK005", f"YAML syntax error: {problem}", line, col)]
    except yaml.YAMLError as exc:
        return None, [_error(file, "PK005", f"YAML error: {exc}", 1, 1)]
    if data is None:
        return None, [_error(file, "PK006", "the file holds no document", 1, 1,
                             hint="a catalogue file holds one mapping with apiVersion and kind")]
    if not isinstance(data, dict):
        found = "a sequence" if isinstance(data, list) else "a scalar"
        return None, [_error(file, "PK008", f"found {found}, expected a mapping with apiVersion "
                             "and kind", *builder.marks.value(()))]
    return Document(file, data, builder.marks), []


# Where an anchor (&), alias (*) or tag (!) could start a token: first on a line, after a key,
# value or entry indicator, or after a flow indicator. Elsewhere (``a || !b``) these characters
# are inside a plain scalar. Any doubt counts as a property: the event builder then decides.
_NODE_PROPERTY_RE = re.compile("(?:(?:^|[\r\x85\u2028\u2029\ufeff])\\s*|[:?]\\s*|-\\s+|[\\[\\]{},]\\s*)[&*!]",
                               re.MULTILINE)



def _may_hold_a_node_property(text: str) -> bool:
    """Whether an anchor, alias or tag could start somewhere in ``text``; most catalogue files
    hold none of their three characters at all, and looking for those is a hundred times cheaper
    than asking the expression."""
    return ("&" in text or "*" in text or "!" in text) and _NODE_PROPERTY_RE.search(text) is not None


# The deepest nesting the composed path walks (recursively); deeper texts take the builder.
_COMPOSE_DEPTH = 100


class _Fallback(Exception):
    """The composed path does not take this text: the event builder will say why (or load it)."""


class _Composer(_CyParser):  # type: ignore[misc]
    """libyaml's own composer, without tag resolution: plain scalars stay text."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return ""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _composed(text: str, limits: LoadLimits) -> tuple[dict[str, Any], Marks] | None:
    """The data and marks of a one-mapping text composed by libyaml, exactly as the event
    builder makes them; None for anything else (the builder then reports or loads it)."""
    try:
        root = _Composer(text).get_single_node()
    except yaml.YAMLError:
        return None
    if type(root) is not _MAPPING:
        return None
    marks = Marks()
    marks.values[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
    walk = _NodeWalk(marks, min(limits.max_depth, _COMPOSE_DEPTH))
    try:
        data = walk.mapping(root, (), 0)
    except _Fallback:
        return None
    # the builder counts an event per scalar and two per collection
    if len(marks.values) + len(marks.keys) + walk.collections > limits.max_nodes:
        return None
    return data, marks


_SCALAR, _MAPPING = yaml.ScalarNode, yaml.MappingNode


class _NodeWalk:
    """Plain values and marks from composed nodes; raises _Fallback on anything the builder
    would refuse (a tag, a complex or merge key, a duplicate key, nesting beyond the limit)."""

    def __init__(self, marks: Marks, max_depth: int) -> None:
        self.max_depth = max_depth
        self.values, self.keys = marks.values, marks.keys
        self.quoted, self.block = marks.quoted, marks.block
        self.collections = 0

    def node(self, node: Any, path: Path_, depth: int) -> Any:
        kind = type(node)
        if kind is _SCALAR:
            if node.tag:
                raise _Fallback
            style, value = node.style, node.value
            if not style:
                return None if value in _NULLS else Plain(value)
            if style == "'" or style == '"':
                self.quoted.add(path)
            elif style == "|" or style == ">":
                self.block.add(path)
            return str(value)
        if kind is _MAPPING:
            return self.mapping(node, path, depth)
        return self.sequence(node, path, depth)

    def mapping(self, node: Any, path: Path_, depth: int) -> dict[str, Any]:
        self._collection(node, depth)
        values, keys, walk = self.values, self.keys, self.node
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key in out:
                raise _Fallback
            at = path + (key,)
            mark = key_node.start_mark
            keys[at] = (mark.line + 1, mark.column + 1)
            mark = value_node.start_mark
            values[at] = (mark.line + 1, mark.column + 1)
            out[key] = walk(value_node, at, depth + 1)
        return out

    def sequence(self, node: Any, path: Path_, depth: int) -> list[Any]:
        self._collection(node, depth)
        values, walk = self.values, self.node
        out: list[Any] = []
        for index, item in enumerate(node.value):
            at = path + (index,)
            mark = item.start_mark
            values[at] = (mark.line + 1, mark.column + 1)
            out.append(walk(item, at, depth + 1))
        return out

    def _collection(self, node: Any, depth: int) -> None:
        self.collections += 1
        if node.tag or depth >= self.max_depth:
            raise _Fallback


def _key(node: Any) -> str:
    """A mapping key's text, as the builder takes it (a plain null is the empty key)."""
    if type(node) is not _SCALAR or node.tag:
        raise _Fallback
    key: str = node.value
    if not node.style:
        if key in _NULLS:
            return ""
        if key == "<<":
            raise _Fallback
    return key


def read_regular(path: str | Path, display: str, limits: LoadLimits) -> tuple[bytes | None, Diagnostic | None]:
    """The bytes of a regular file within the limits, or the located reason it cannot be read
    (a FIFO is refused without blocking)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, _error(display, "PK001", f"cannot read file: {exc.strerror}")
    if not stat.S_ISREG(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (device, FIFO or socket)"
        return None, _error(display, "PK002", f"is {what}; only regular files are read")
    if st.st_size > limits.max_bytes:
        return None, _error(display, "PK003", f"file is {st.st_size} bytes, above the limit of "
                            f"{limits.max_bytes}")
    try:
        # O_NONBLOCK: should the path turn into a FIFO after the stat, opening must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None, _error(display, "PK002", "is not a regular file")
            raw = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        return None, _error(display, "PK001", f"cannot read file: {exc.strerror}")
    if len(raw) > limits.max_bytes:
        return None, _error(display, "PK003", f"file grew above the limit of {limits.max_bytes} bytes")
    return raw, None


def load_file(path: Path, display: str | None = None,
              limits: LoadLimits = LoadLimits()) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse one file; never raises for bad input."""
    name = display if display is not None else str(path)
    raw, err = read_regular(path, name, limits)
    if err is not None or raw is None:
        return None, [err] if err else []
    text, err = _decode(name, raw)
    if err is not None or text is None:
        return None, [err] if err else []
    return load_text(text, name, limits)
