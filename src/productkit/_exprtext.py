"""Source rewrites that let the official CEL checker and the fixed-point evaluator read what the
language offers beyond plain CEL, without changing what an expression means:

* absent data: ``has(a.b)`` reads ``(dyn(a.b) != null)`` and ``a.b == null`` reads
  ``dyn(a.b) == null`` (CEL refuses ``int == null``; absent data reads as null);
* decimal remainder, for the checker only: ``%`` is checked as ``*`` (same precedence, same
  operand and result types), since CEL has no ``%`` on doubles; executed, decimals are scaled
  integers and CEL's integer ``%`` (truncated, the sign of the dividend) is exact.

Every edit is recorded so that a checker's column maps back to the text as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import _celparse as p

__all__ = ["Rewritten", "absent_names", "rewrite"]


@dataclass(frozen=True, slots=True)
class Rewritten:
    check: str  # what the official checker reads
    run: str  # what the evaluator runs (before decimal literals are scaled)
    edits: tuple[tuple[int, int], ...]  # (offset as written, characters inserted there)

    def original(self, offset: int) -> int:
        """The offset as written of ``offset`` in the rewritten text."""
        shift = 0
        for at, added in self.edits:
            if at + shift + added <= offset:
                shift += added
        return max(0, offset - shift)


def _name_end(tokens: list[p.Token], start: int) -> int:
    """The offset just after the dotted name that starts at ``start``."""
    i = next(k for k, t in enumerate(tokens) if t.offset == start)
    end = tokens[i].offset + len(tokens[i].text)
    while tokens[i + 1].text == "." and tokens[i + 2].kind == "ident":
        i += 2
        end = tokens[i].offset + len(tokens[i].text)
    return end


def _close(tokens: list[p.Token], start: int) -> int:
    """The offset of the ')' that closes the '(' following the token at ``start``."""
    i = next(k for k, t in enumerate(tokens) if t.offset == start) + 1
    depth = 0
    for tok in tokens[i:]:
        depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "op" else 0
        if depth == 0:
            return tok.offset
    return len(tokens[-1].text)


def absent_names(node: p.Node) -> list[p.Name]:
    """The names tested for absence: ``has(x)``, ``x == null``, ``x != null``."""
    found: list[p.Name] = []
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, p.Call) and n.func == "has" and n.target is None and len(n.args) == 1 \
                and isinstance(n.args[0], p.Name):
            found.append(n.args[0])
        elif isinstance(n, p.Op) and n.op in ("==", "!=") and _null_test(n) is not None:
            found.append(_null_test(n))  # type: ignore[arg-type]
        todo.extend(p.children(n))
    return found


def _null_test(n: p.Op) -> p.Name | None:
    for side, other in ((n.left, n.right), (n.right, n.left)):
        if isinstance(side, p.Name) and isinstance(other, p.Lit) and other.kind == "null":
            return side
    return None


def rewrite(text: str, tree: p.Node, scope: Mapping[str, str]) -> Rewritten:
    """``text`` as the checker and the evaluator read it (see the module's docstring)."""
    tokens = p.tokenize(text)
    inserts: dict[int, str] = {}
    replaced: dict[int, str] = {}
    todo = [tree]
    while todo:
        n = todo.pop()
        if isinstance(n, p.Call) and n.func == "has" and n.target is None and len(n.args) == 1 \
                and isinstance(n.args[0], p.Name):
            replaced[n.offset] = "dyn"
            close = _close(tokens, n.offset)
            inserts[close + 1] = inserts.get(close + 1, "") + " != null)"
            inserts[n.offset] = inserts.get(n.offset, "") + "("
        elif isinstance(n, p.Op) and n.op in ("==", "!=") and (name := _null_test(n)) is not None:
            inserts[name.offset] = inserts.get(name.offset, "") + "dyn("
            end = _name_end(tokens, name.offset)
            inserts[end] = ")" + inserts.get(end, "")
        todo.extend(p.children(n))
    run = _apply(text, inserts, replaced)
    mod = {t.offset: "*" for t in tokens if t.kind == "op" and t.text == "%"}
    check = _apply(text, inserts, {**replaced, **mod})
    edits = tuple(sorted((at, len(s)) for at, s in inserts.items()))
    return Rewritten(check, run, edits)


def _apply(text: str, inserts: Mapping[int, str], replaced: Mapping[int, str]) -> str:
    out, pos = [], 0
    for at in sorted(set(inserts) | set(replaced)):
        out.append(text[pos:at])
        out.append(inserts.get(at, ""))
        pos = at
        if at in replaced:
            out.append(replaced[at])
            pos = at + len(replaced[at])
    out.append(text[pos:])
    return "".join(out)
