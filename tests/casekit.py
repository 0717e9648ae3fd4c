"""Golden cases as data: finding them, reading their ``# expect:`` headers, installing them.

A case is a single YAML file (``tests/cases/invalid/<CODE>_<what>.yaml``), installed alone as
``<root>/products/<name>.yaml``, or a folder holding ``components/`` and ``products/``,
installed as it is. A header comment ``# expect: PK009 7:3`` in a file says that validating
the case must produce a diagnostic with that code at that line and column of that file;
``suggests=A,B`` adds that the diagnostic's hint names A and B (a did-you-mean, the versions
there are); ``related=FILE:LINE:COL,...`` that its related locations include each of those places
(the declaration a value violates, every edge of a cycle).
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from productkit.diagnostics import Diagnostic

CASES = Path(__file__).parent / "cases"
INVALID = CASES / "invalid"
VALID = CASES / "valid"

_EXPECT_RE = re.compile(
    r"^#\s*expect:\s*(?P<code>PK\d{3})(?:\s+(?P<line>\d+):(?P<col>\d+))?"
    r"(?:\s+suggests=(?P<suggests>\S+))?(?:\s+related=(?P<related>\S+))?\s*$"
)
_YAML_SUFFIXES = (".yaml", ".yml")

GoldenCheck = Callable[[Path, str], None]
"""The ``golden`` fixture: compare a text with a golden file, or rewrite it."""


@dataclass(frozen=True)
class Expect:
    """One diagnostic a case must produce; ``file`` is relative to the catalogue root."""

    code: str
    file: str
    line: int | None
    col: int | None
    suggests: str | None = None
    related: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line is not None else self.file
        extra = f" suggesting '{self.suggests}'" if self.suggests else ""
        extra += f" with related {self.related}" if self.related else ""
        return f"{self.code} at {where}{extra}"

    def matches(self, d: Diagnostic, root: Path) -> bool:
        if d.code != self.code or relative(d.location.file, root) != self.file:
            return False
        if self.line is not None and (d.location.line, d.location.col) != (self.line, self.col):
            return False
        words = self.suggests.split(",") if self.suggests else []
        places = {f"{relative(r.location.file, root)}:{r.location.line}:{r.location.col}" for r in d.related}
        wanted = self.related.split(",") if self.related else []
        return all(w in (d.hint or "") for w in words) and all(w in places for w in wanted)


@dataclass(frozen=True)
class Case:
    """A golden case: a single file or a folder catalogue."""

    source: Path

    @property
    def name(self) -> str:
        return self.source.name.removesuffix(".yaml") if self.source.is_file() else self.source.name

    @property
    def code(self) -> str:
        return self.name.split("_", 1)[0]

    @property
    def golden(self) -> Path:
        return self.source.parent / f"{self.name}.expected.json"

    def files(self) -> dict[str, Path]:
        """Catalogue-relative name -> source file."""
        if self.source.is_file():
            return {f"products/{self.source.name}": self.source}
        return {p.relative_to(self.source).as_posix(): p
                for p in sorted(self.source.rglob("*")) if p.is_file()}

    def install(self, root: Path) -> Path:
        """Copy the case below ``root`` so that ``root`` is a catalogue by itself."""
        files = self.files()
        if not files:
            raise FileNotFoundError(f"no case at {self.source}")
        for rel, src in files.items():
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        return root

    def expects(self) -> list[Expect]:
        found: list[Expect] = []
        for rel, src in self.files().items():
            if not src.name.endswith(_YAML_SUFFIXES):
                continue
            # Bytes decoded leniently: some cases hold invalid UTF-8 or NUL bytes on purpose.
            for text in src.read_bytes().decode("utf-8", errors="replace").splitlines():
                m = _EXPECT_RE.match(text.lstrip("\ufeff"))
                if m is None:
                    continue
                line = int(m["line"]) if m["line"] else None
                col = int(m["col"]) if m["col"] else None
                found.append(Expect(m["code"], rel, line, col, m["suggests"], m["related"]))
        return found


def invalid_cases() -> list[Case]:
    return [Case(p) for p in sorted(INVALID.iterdir())
            if p.is_dir() or (p.suffix == ".yaml" and not p.name.endswith(".expected.json"))]


def valid_cases() -> list[Case]:
    return [Case(p) for p in sorted(VALID.iterdir()) if p.is_dir()]


def relative(file: str, root: Path) -> str:
    """A diagnostic's file relative to the catalogue root (as written in goldens)."""
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file


def golden_text(diagnostics: list[Diagnostic], root: Path) -> str:
    """The full diagnostic list as stable JSON, files relative to ``root``."""
    out = []
    for d in diagnostics:
        item = d.to_json()
        item["file"] = relative(d.location.file, root)
        related = item.get("related")
        if isinstance(related, list):
            for rel in related:
                rel["file"] = relative(rel["file"], root)
        out.append(item)
    return json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def compare_golden(path: Path, actual: str, update: bool) -> str | None:
    """None when ``actual`` matches the golden file (or was written to it with ``update``);
    otherwise what to tell the developer, with a unified diff."""
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if update:
        if current != actual:
            path.write_text(actual, encoding="utf-8")
        return None
    if current is None:
        return f"{path} is missing; run `pytest --update-goldens` to create it"
    if current == actual:
        return None
    diff = "".join(difflib.unified_diff(
        current.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=f"{path.name} (golden)", tofile=f"{path.name} (actual)"))
    return (f"output differs from {path}; if the change is intended, run "
            f"`pytest --update-goldens` and review the diff\n{diff}")
