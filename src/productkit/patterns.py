"""Regular expressions from catalogues (``pattern:``), compiled and matched safely.

A designer's pattern is evaluated in three places: by ``validate`` (defaults, values), by the
runtime (submitted answers) and, through the JSON Schema of a form, by a channel's browser or a
partner's validator (ECMA-262, a backtracking engine). So a pattern must

* mean the same everywhere: only the portable subset of RE2, ECMA-262 and Python is accepted
  (no lookaround, backreferences, inline flags, named groups, ``\\A``/``\\z``/``\\Z``/``\\p``);
* never take exponential time: a quantified group whose body can match the same text in more
  than one way (``^(a+)+$``, ``^(6|[0-9]+)+$``, ``(a|a)*``) is refused, wherever it would run;
* be matched here in linear time: with RE2 (google-re2), whose ``$`` is the end of the text
  (Python's ``$`` also matches before a final newline: ``"123\\n"`` would pass ``^[0-9]+$``).

This module imports nothing from the build side, so the runtime may use it too.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from typing import Any

import re2

__all__ = ["MAX_PATTERN_LENGTH", "PatternProblem", "fullmatch", "problem", "search"]

MAX_PATTERN_LENGTH = 1000

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors on stderr
# Constructs with another meaning (or none) in one of the three dialects.
_UNPORTABLE = re.compile(r"\\[AzZpPQECGKbB]|\(\?(?!:)|\[\[:|\\[0-9]|\{,")

# Python's own parser (private, stable since 3.11) gives the tree the safety analysis walks.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")


@dataclass(frozen=True, slots=True)
class PatternProblem:
    """Why a pattern is refused; ``syntax`` when it is not a regular expression at all."""

    message: str  # completes "pattern '...' <message>"
    syntax: bool = False


def problem(pattern: str) -> PatternProblem | None:
    """Why ``pattern`` cannot be used (not a regular expression, not portable, may take
    exponential time), or None when it is safe."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return PatternProblem(f"is {len(pattern)} characters long, above the limit of {MAX_PATTERN_LENGTH}")
    bad = _UNPORTABLE.search(pattern)
    if bad is not None:
        return PatternProblem(f"uses '{bad.group()}', which JSON Schema (ECMA-262), RE2 and Python do not "
                              "read alike")
    try:
        tree = _parser.parse(pattern)
        _compiled(pattern)
    except (re.error, re2.error, RecursionError, OverflowError, ValueError) as exc:
        return PatternProblem(f"is not a regular expression ({_reason(exc)})", syntax=True)
    why = _ambiguous(list(tree))
    return PatternProblem(why) if why is not None else None


def search(pattern: str, text: str) -> bool:
    """True when ``pattern`` matches somewhere in ``text`` (JSON Schema semantics), in linear
    time. Raises ValueError for a pattern :func:`problem` refuses."""
    return _checked(pattern).search(text) is not None


def fullmatch(pattern: str, text: str) -> bool:
    """True when ``pattern`` matches all of ``text``, in linear time (ValueError as search)."""
    return _checked(pattern).fullmatch(text) is not None


@functools.lru_cache(maxsize=1024)
def _checked(pattern: str) -> Any:
    why = problem(pattern)
    if why is not None:
        raise ValueError(f"pattern '{pattern}' {why.message}")
    return _compiled(pattern)


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def _reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


# ---------------------------------------------------------------- exponential backtracking

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_ANY = frozenset({"any"})


def _ambiguous(items: list[Any], depth: int = 0) -> str | None:
    """A description of the first quantified group that can match one text in several ways."""
    if depth > 50:
        return "nests groups too deeply"
    for op, av in items:
        if op in _REPEATS:
            _, high, body = av
            if high == _c.MAXREPEAT or high > 1:
                why = _repeat_problem(list(body))
                if why is not None:
                    return why
        for child in _subpatterns(op, av):
            found = _ambiguous(child, depth + 1)
            if found is not None:
                return found
    return None


def _repeat_problem(body: list[Any]) -> str | None:
    for op, av in _flatten(body):
        if op in _REPEATS and av[0] != av[1] and not _separated(body, av[2]):
            return "repeats a group that holds a quantifier: it can take exponential time"
        if op == _c.BRANCH and _overlapping(av[1]):
            return "repeats alternatives that can match the same text: it can take exponential time"
    return None


def _separated(body: list[Any], inner: Any) -> bool:
    """True when the repeated body also needs a character the inner quantifier cannot match
    (``([a-z]+ )*``: each round ends at a space), which keeps the rounds apart."""
    inner_first = _first(list(inner))
    for op, av in _flatten(body):
        if op in _REPEATS and av[0] == 0:
            continue
        first = _first([(op, av)])
        if first is not _ANY and inner_first is not _ANY and not (first & inner_first):
            return True
    return False


def _overlapping(alternatives: list[Any]) -> bool:
    seen: set[Any] = set()
    for alt in alternatives:
        first = _first(list(alt))
        if first is _ANY or first & seen or not first:
            return True
        seen |= first
    return False


def _first(items: list[Any]) -> frozenset[Any]:
    """The characters a sequence can start with (``_ANY`` when unknown or empty-matching)."""
    if not items:
        return _ANY
    op, av = items[0]
    if op == _c.LITERAL:
        return frozenset({av})
    if op == _c.IN and all(o in (_c.LITERAL, _c.RANGE) or (o == _c.CATEGORY and v in _CATEGORIES)
                           for o, v in av) and _span(av) <= 512:
        return frozenset(c for o, v in av for c in _chars(o, v))
    if op == _c.SUBPATTERN:
        return _first(list(av[-1]))
    if op in _REPEATS and av[0] > 0:
        return _first(list(av[2]))
    return _ANY


_DIGITS = frozenset(range(ord("0"), ord("9") + 1))
_CATEGORIES = {  # the ASCII meaning, which is RE2's and ECMA-262's
    _c.CATEGORY_DIGIT: _DIGITS,
    _c.CATEGORY_SPACE: frozenset(map(ord, " \t\n\r\f\v")),
    _c.CATEGORY_WORD: _DIGITS | frozenset(range(65, 91)) | frozenset(range(97, 123)) | {ord("_")},
}


def _chars(op: Any, value: Any) -> frozenset[int]:
    if op == _c.LITERAL:
        return frozenset({value})
    if op == _c.RANGE:
        return frozenset(range(value[0], value[1] + 1))
    return _CATEGORIES[value]


def _span(av: list[Any]) -> int:
    return sum(len(_chars(o, v)) if o == _c.CATEGORY else 1 if o == _c.LITERAL else v[1] - v[0] + 1
               for o, v in av)


def _flatten(items: list[Any]) -> list[Any]:
    """The items of a sequence, with plain groups opened."""
    out: list[Any] = []
    for op, av in items:
        if op == _c.SUBPATTERN:
            out.extend(_flatten(list(av[-1])))
        else:
            out.append((op, av))
    return out


def _subpatterns(op: Any, av: Any) -> list[list[Any]]:
    if op in _REPEATS:
        return [list(av[2])]
    if op == _c.SUBPATTERN:
        return [list(av[-1])]
    if op == _c.BRANCH:
        return [list(alt) for alt in av[1]]
    return []
