"""Every check's findings about a catalogue, kept by where they come from.

A change to a few files can change only some findings. Keeping them by origin lets the language
server (an edit in memory) and ``validate`` (a file changed on disk since the last run) re-run
only what a change can affect, and report exactly what a whole run would:

* load and shape problems, by file;
* the checks of one document (declarations, dates, step ids, names, references, its lines'
  windows), by the document's file, run on a one-document slice of the catalogue that still
  resolves references against the whole catalogue;
* ``check_products``, by product file;
* the data dictionary check, split in the dictionary's own findings and each file's data paths
  (its run with the dictionaries and the file, less its run with the dictionaries alone);
* the checks that compare the documents sharing an id (duplicates, case collisions, version
  overlaps), by case-folded id, run over that id's documents;
* the checks that look at one kind (dictionary names, extends cycles among lines), over that kind;
* any other check, over the whole catalogue.

What a change to a file can affect: the file itself, every file that references an id the file
defined before or defines now (a product that uses a component, a member of a line, directly or
through its chain), and the id checks of those ids. A dictionary change can affect every document
and every product. :func:`productkit.recheck.recheck` re-runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, diagnostic_from_data, diagnostic_to_data

__all__ = ["Findings"]

_Found = dict[str, list[Diagnostic]]


@dataclass(slots=True)
class Findings:
    """What every check found, by origin (see the module's documentation)."""

    loaded: _Found = field(default_factory=dict)  # load and shape problems, by file
    documents: _Found = field(default_factory=dict)
    products: _Found = field(default_factory=dict)
    data: _Found = field(default_factory=dict)  # each file's data paths against the data dictionary
    data_base: list[Diagnostic] = field(default_factory=list)  # the data dictionary's own findings
    groups: _Found = field(default_factory=dict)  # case-folded id -> what GROUP_CHECKS find among its documents
    kinds: list[Diagnostic] = field(default_factory=list)  # what KIND_CHECKS find
    others: list[Diagnostic] = field(default_factory=list)  # the checks run over the whole catalogue
    refs: dict[str, frozenset[str]] = field(default_factory=dict)  # file -> the ids its findings depend on
    inputs: dict[str, list[str]] = field(default_factory=dict)  # product file -> the files it is made of
    digests: dict[str, str] = field(default_factory=dict)  # file -> its document's digest, once asked for

    @classmethod
    def of_load(cls, files: Iterable[str], problems: Iterable[Diagnostic]) -> Findings:
        """Nothing found yet but the load's ``problems``, by file: every one of ``files``, and
        the files refused before they were read (a link leading out, a bad name), which are not."""
        out = cls(loaded={name: [] for name in files})
        for d in problems:
            out.loaded.setdefault(d.location.file, []).append(d)
        return out

    # ------------------------------------------------------------------ reading

    def forget(self, name: str) -> None:
        """Drop what is known of file ``name`` apart from its load problems (it changed or is gone)."""
        for part in (self.documents, self.products, self.data, self.refs, self.inputs, self.digests):
            part.pop(name, None)

    def files_with(self, codes: frozenset[str]) -> set[str]:
        """The files whose own checks (document, product, data) found a diagnostic with one of ``codes``."""
        return {name for part in (self.documents, self.products, self.data)
                for name, found in part.items() if any(d.code in codes for d in found)}

    def all(self) -> Iterator[Diagnostic]:
        """Every finding (unsorted)."""
        for part in (self.loaded, self.documents, self.products, self.data):
            for found in part.values():
                yield from found
        yield from self.data_base
        for found in self.groups.values():
            yield from found
        yield from self.kinds
        yield from self.others

    def to_data(self) -> dict[str, Any]:
        """A JSON value (for the cache)."""
        def per(part: _Found) -> dict[str, list[Any]]:
            return {name: [diagnostic_to_data(d) for d in found] for name, found in part.items() if found}

        def flat(found: list[Diagnostic]) -> list[Any]:
            return [diagnostic_to_data(d) for d in found]

        return {"loaded": per(self.loaded), "documents": per(self.documents), "products": per(self.products),
                "data": per(self.data), "data_base": flat(self.data_base), "groups": per(self.groups),
                "kinds": flat(self.kinds), "others": flat(self.others),
                "refs": {name: sorted(ids) for name, ids in self.refs.items() if ids},
                "inputs": self.inputs, "digests": self.digests}

    @classmethod
    def from_data(cls, value: Any, files: Iterable[str]) -> Findings:
        """What :meth:`to_data` wrote, for the catalogue's ``files`` (a file with no entry found
        nothing); ValueError (or KeyError, TypeError) when it is anything else."""
        def per(part: Any) -> _Found:
            found = {str(name): [diagnostic_from_data(d) for d in items] for name, items in part.items()}
            return found

        def flat(items: Any) -> list[Diagnostic]:
            return [diagnostic_from_data(d) for d in items]

        names = list(files)
        out = cls(per(value["loaded"]), per(value["documents"]), per(value["products"]), per(value["data"]),
                  flat(value["data_base"]), per(value["groups"]), flat(value["kinds"]), flat(value["others"]),
                  {str(name): frozenset(map(str, ids)) for name, ids in value["refs"].items()},
                  {str(name): [str(f) for f in files] for name, files in value["inputs"].items()},
                  {str(name): str(d) for name, d in value["digests"].items()})
        for name in names:
            out.loaded.setdefault(name, [])
        return out


