"""Checks on single documents: duplicate definitions, declarations, dates, step ids."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from ..diagnostics import Diagnostic, Related
from ..model import DataDictionary, ParameterDictionary, ProcessComponent, Product, ProductLine, TypeSpec, UIComponent
from ..params import Problem, check_spec
from ..shape import did_you_mean
from ..sources import Entry
from ..types import ValueProblem, get, parse_date, release_offset
from .base import CheckContext, problem_diagnostic

__all__ = ["check_declarations", "check_dictionary_names", "check_duplicates", "check_effective", "check_step_ids"]


def check_duplicates(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK201: one kind, id and version defined twice."""
    seen: dict[tuple[str, str, str], Entry] = {}
    for entry in ctx.catalog.entries:
        key = entry.key
        if key in seen:
            other = seen[key]
            yield Diagnostic("PK201", f"{key[0]} {key[1]} {key[2]} is defined twice",
                             entry.doc.loc(("id",)),
                             related=(Related(other.doc.loc(("id",)), "first defined here"),),
                             hint="raise the version of one of them, or remove it")
        else:
            seen[key] = entry


def _declarations(model: object) -> Iterator[tuple[tuple[str | int, ...], TypeSpec]]:
    if isinstance(model, ParameterDictionary | ProcessComponent):
        for name, spec in model.parameters.items():
            yield ("parameters", name), spec
    if isinstance(model, ProcessComponent):
        for path, spec in model.inputs.items():
            yield ("inputs", path), spec
        for path, spec in model.outputs.items():
            yield ("outputs", path), spec
    if isinstance(model, UIComponent):
        for path, spec in model.fields.items():
            yield ("fields", path), spec
    if isinstance(model, Product | ProductLine):
        for path, spec in model.context.items():
            yield ("context", path), spec
        for name, setting in model.parameters.items():
            if setting.type == "table":  # a table's key and cell declarations (PK114)
                yield ("parameters", name), setting
    if isinstance(model, DataDictionary):
        for path, spec in model.data.items():
            yield ("data", path), spec


def check_declarations(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK102/PK108/PK109/PK111: each declared type is complete and consistent."""
    checked: dict[object, list[Problem]] = {}
    for entry in ctx.catalog.entries:
        for path, spec in _declarations(entry.model):
            if spec.ref is not None and spec.ref not in ctx.dictionary:
                yield Diagnostic("PK202", f"no dictionary parameter '{spec.ref}'",
                                 entry.doc.loc(path + ("ref",)),
                                 hint=did_you_mean(spec.ref, ctx.dictionary))
                continue
            effective = ctx.effective(spec)
            kind = get(effective.type)
            if path[0] != "parameters" and kind is not None and not kind.data:
                yield Diagnostic("PK114", f"{path[-1]} is declared a {effective.type}, which only a "
                                 "parameter can be", entry.doc.loc(path + ("type" if spec.type else "ref",)),
                                 hint="declare it under parameters and read it in expressions")
                continue
            problems = _spec_problems(effective, checked)
            if problems:  # where the dictionary declares it is looked up only for a message
                declared = ctx.dictionary_loc(spec.ref) if spec.ref else None
                for problem in problems:
                    yield problem_diagnostic(problem, entry, path, declared)


def _spec_problems(spec: TypeSpec, checked: dict[object, list[Problem]]) -> list[Problem]:
    """check_spec, once per declaration as written: a catalogue repeats the same few
    declarations (``{type: money, currency: CNY}``) thousands of times."""
    key = _written(spec)
    if key is None:
        return check_spec(spec)
    found = checked.get(key)
    if found is None:
        found = checked[key] = check_spec(spec)
    return found


_SCALARS = (str, int, Decimal, bool, type(None))  # Plain is a str: the type is in the key


def _written(spec: TypeSpec) -> object | None:
    """What a declaration says, as a key that tells plain from quoted text; None when it holds
    anything but scalars (a list, a nested declaration), which is then checked each time."""
    fields = []
    for name in sorted(spec.model_fields_set):
        value = getattr(spec, name)
        if not isinstance(value, _SCALARS):
            return None
        fields.append((name, type(value), str(value) if isinstance(value, Decimal) else value))  # 1.0 is not 1.00
    return type(spec), tuple(fields)


def check_effective(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK108/PK214: effective dates are dates or T+n, and in order."""
    for entry in [*ctx.catalog.kind("ProductLine"), *ctx.catalog.kind("Product")]:
        model = entry.model
        assert isinstance(model, Product | ProductLine)
        if model.effective is None:
            continue
        start = model.effective.from_
        dates = {}
        for field, raw in (("from", start), ("until", model.effective.until)):
            if raw is None or (field == "from" and release_offset(raw) is not None):
                continue
            try:
                dates[field] = parse_date(raw)
            except ValueProblem as exc:
                yield Diagnostic("PK108", exc.message, entry.doc.loc(("effective", field)),
                                 hint="write YYYY-MM-DD" + (" or T+1" if field == "from" else ""))
        if "from" in dates and "until" in dates and dates["until"] < dates["from"]:
            yield Diagnostic("PK214", f"until {dates['until']} is before from {dates['from']}",
                             entry.doc.loc(("effective", "until")))


def check_step_ids(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK210: step ids are unique within a product or line."""
    for entry in ctx.catalog.entries:
        model = entry.model
        if not isinstance(model, Product | ProductLine):
            continue
        seen: dict[str, int] = {}
        for i, step in enumerate(model.steps):
            if step.id in seen:
                yield Diagnostic("PK210", f"step id '{step.id}' is used twice",
                                 entry.doc.loc(("steps", i, "id")),
                                 related=(Related(entry.doc.loc(("steps", seen[step.id], "id")),
                                                  "first used here"),))
            else:
                seen[step.id] = i


def check_dictionary_names(ctx: CheckContext) -> Iterator[Diagnostic]:
    """PK201: a parameter name defined by two dictionaries would mean two things."""
    first: dict[str, Entry] = {}
    for entry in ctx.catalog.kind("ParameterDictionary"):
        model = entry.model
        assert isinstance(model, ParameterDictionary)
        for name in model.parameters:
            other = first.setdefault(name, entry)
            if other is not entry:
                first_place = Related(other.doc.loc(("parameters", name), key=True), "first defined here")
                yield Diagnostic("PK201", f"parameter '{name}' is also defined in dictionary {other.model.id}",
                                 entry.doc.loc(("parameters", name), key=True), related=(first_place,),
                                 hint="a bank-wide parameter has one definition; rename or remove one of them")
