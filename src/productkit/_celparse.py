"""A parse tree for the CEL subset productkit translates (FEEL) and rewrites (fixed point).

The official CEL checker (cel-expr-python) stays the authority on what an expression means
and whether it type-checks; this parser exists because that library exposes no syntax tree,
and two jobs need one: translating a checked condition to FEEL for Camunda, and finding the
decimal literals and operands of the fixed-point rewrite. Anything outside the subset is
reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_NESTING", "Call", "Cond", "Index", "LimitError", "ListLit", "Lit",
           "Name", "Node", "Op", "ParseError", "Unary", "children", "parse"]

# Bounds that keep every recursive walk of a tree far from Python's recursion limit, checked
# before anything recurses. The official CEL parser refuses nesting deeper than 32 too.
MAX_LENGTH = 4000  # characters of one expression
MAX_NESTING = 32  # parentheses, brackets, call arguments and conditionals inside one another
MAX_DEPTH = 100  # levels of the syntax tree (a chain of 'a + b + c ...' is one level per operator)


class ParseError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


class LimitError(ParseError):
    """The expression is longer or deeper than the bounds above."""


@dataclass(frozen=True, slots=True)
class Lit:
    kind: str  # int, uint, float, string, bool, null, bytes
    text: str  # source text (for strings: the decoded value)
    offset: int


@dataclass(frozen=True, slots=True)
class Name:
    path: str  # dotted name as written
    offset: int


@dataclass(frozen=True, slots=True)
class Op:
    op: str
    left: Node
    right: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Cond:
    test: Node
    then: Node
    other: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    target: Node | None
    args: tuple[Node, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Index:
    target: Node
    index: Node
    offset: int


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Node, ...]
    offset: int


Node = Lit | Name | Op | Unary | Cond | Call | Index | ListLit

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<float>(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+))
  | (?P<uint>\d+[uU])
  | (?P<int>0x[0-9a-fA-F]+|\d+)
  | (?P<string>[rR]?(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:.,()\[\]{}])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    offset: int


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("eof", "", len(text)))
    return out


def _unquote(raw: str) -> str:
    body = raw[2:-1] if raw[0] in "rR" else raw[1:-1]
    if raw[0] in "rR":
        return body
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


_BINARY = [("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">=", "in"), ("+", "-"), ("*", "/", "%")]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None) -> Token:
        tok = self.tokens[self.i]
        if text is not None and tok.text != text:
            raise ParseError(f"expected '{text}', found '{tok.text or 'end of expression'}'", tok.offset)
        self.i += 1
        return tok

    def expr(self) -> Node:
        # Every nested sub-expression comes through here: bounding it bounds the recursion.
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise LimitError(f"expression nested deeper than {MAX_NESTING} levels", self.peek().offset)
        test = self.binary(0)
        if self.peek().text == "?":
            at = self.take().offset
            then = self.expr()
            self.take(":")
            test = Cond(test, then, self.expr(), at)
        self.nesting -= 1
        return test

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().text in _BINARY[level] and self.peek().kind in ("op", "ident"):
            tok = self.take()
            left = Op(tok.text, left, self.binary(level + 1), tok.offset)
        return left

    def unary(self) -> Node:
        prefixes: list[Token] = []  # a loop, not recursion: '!!!!...x' may be long
        while self.peek().text in ("!", "-") and self.peek().kind == "op":
            prefixes.append(self.take())
        node = self.member()
        for tok in reversed(prefixes):
            node = Unary(tok.text, node, tok.offset)
        return node

    def member(self) -> Node:
        node = self.primary()
        while self.peek().text in (".", "["):
            tok = self.take()
            if tok.text == "[":
                node = Index(node, self.expr(), tok.offset)
                self.take("]")
                continue
            name = self.take()
            if name.kind != "ident":
                raise ParseError("expected a field name after '.'", name.offset)
            if self.peek().text == "(":
                node = Call(name.text, node, self.args(), name.offset)
            elif isinstance(node, Name):
                node = Name(f"{node.path}.{name.text}", node.offset)
            else:
                raise ParseError("field selection on an expression is not supported", name.offset)
        return node

    def args(self) -> tuple[Node, ...]:
        self.take("(")
        items: list[Node] = []
        while self.peek().text != ")":
            items.append(self.expr())
            if self.peek().text != ",":
                break
            self.take(",")
        self.take(")")
        return tuple(items)

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind in ("int", "uint", "float"):
            return Lit(tok.kind, tok.text, tok.offset)
        if tok.kind == "string":
            return Lit("string", _unquote(tok.text), tok.offset)
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return Lit("bool", tok.text, tok.offset)
            if tok.text == "null":
                return Lit("null", tok.text, tok.offset)
            if self.peek().text == "(":
                return Call(tok.text, None, self.args(), tok.offset)
            return Name(tok.text, tok.offset)
        if tok.text == "(":
            node = self.expr()
            self.take(")")
            return node
        if tok.text == "[":
            items: list[Node] = []
            while self.peek().text != "]":
                items.append(self.expr())
                if self.peek().text != ",":
                    break
                self.take(",")
            self.take("]")
            return ListLit(tuple(items), tok.offset)
        raise ParseError(f"unexpected '{tok.text or 'end of expression'}'", tok.offset)


def parse(text: str) -> Node:
    """Parse ``text``; raises :class:`ParseError` with the offset of the problem
    (:class:`LimitError` when it is longer than MAX_LENGTH or deeper than the bounds)."""
    if len(text) > MAX_LENGTH:
        raise LimitError(f"expression is {len(text)} characters long, above the limit of {MAX_LENGTH}",
                         0)
    parser = _Parser(text)
    node = parser.expr()
    tok = parser.peek()
    if tok.kind != "eof":
        raise ParseError(f"unexpected '{tok.text}'", tok.offset)
    too_deep = _deeper_than(node, MAX_DEPTH)
    if too_deep is not None:
        raise LimitError(f"expression nested deeper than {MAX_DEPTH} levels", too_deep.offset)
    return node


def children(n: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``n``, in source order."""
    if isinstance(n, Op):
        return (n.left, n.right)
    if isinstance(n, Unary):
        return (n.operand,)
    if isinstance(n, Cond):
        return (n.test, n.then, n.other)
    if isinstance(n, Call):
        return ((n.target,) if n.target is not None else ()) + n.args
    if isinstance(n, Index):
        return (n.target, n.index)
    if isinstance(n, ListLit):
        return n.items
    return ()


def _deeper_than(root: Node, limit: int) -> Node | None:
    """The first node found below ``limit`` levels, iteratively (the tree may be very deep)."""
    todo: list[tuple[Node, int]] = [(root, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > limit:
            return node
        todo.extend((child, depth + 1) for child in children(node))
    return None
