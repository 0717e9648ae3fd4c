"""``productkit simulate``: walk one product on one channel and say what happened and why.

With ``--data FILE`` (a YAML mapping with ``context``, ``inputs`` and ``handlers``, as in a
scenario) it runs unattended; otherwise it asks on the terminal for the customer's details and
each screen's fields, labelled in the chosen language and checked by the form's rules as they
are typed, and lets the user confirm (or change) the sample outputs of each service step the
data file gives no result. It ends with every step taken, why, and the outcome in plain words.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import Field, ValidationError

from . import ir
from ._scenario_data import Record, ScenarioResult, norm, typed
from ._scenario_model import Expect, Scenario, Stub
from ._scenario_run import run_scenario
from .diagnostics import render_text, safe_text
from .loader import load_file
from .model._types import CHANNELS, Model
from .shape import diagnostic_of, did_you_mean

__all__ = ["LANGS", "SimulationData", "simulate"]

LANGS = ("en", "zh-CN")
Ask = Callable[[str], str]

_OUTCOMES = {
    "completed": ("The application is complete: the customer has the product.", "申请已完成：客户已获得该产品。"),
    "rejected": ("The application was turned down.", "申请未获批准。"),
    "referred": ("The application was referred to staff for a decision.", "申请已转人工处理。"),
    "failed": ("The application could not be completed because a system failed; what was done "
               "has been undone.", "因系统故障申请未能完成，已完成的步骤已撤销。"),
    "cancelled": ("The application was cancelled.", "申请已取消。"),
    "not-offered": ("The product is not offered on this channel on this date.", "该渠道当日不提供此产品。"),
}


class SimulationData(Model):
    """A ``--data`` file: the context, the inputs per screen and the handler stubs."""

    context: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    handlers: dict[str, Stub] = Field(default_factory=dict)


class _Closed(Exception):
    """Standard input closed while asking: nothing was simulated."""


@dataclass(slots=True)
class _Terminal:
    """Asks and explains on the terminal, in one language."""

    out: TextIO
    ask: Ask
    lang: str

    def text(self, label: ir.Label | None, fallback: str) -> str:
        if label is None:
            return fallback
        return label.zh_CN if self.lang == "zh-CN" else label.en

    def line(self, prompt: str) -> str:
        self.out.flush()
        try:
            return self.ask(prompt)
        except EOFError:
            raise _Closed from None

    def value(self, path: str, fd: ir.FieldDef, default: Any = None) -> Any:
        """One field, asked until the answer fits the field's declaration (or is skipped)."""
        from .runtime._coerce import checked
        from .types import FieldProblem

        label = self.text(fd.label, path)
        choices = [f"{v} ({self.text((fd.value_labels or {}).get(v), v)})" for v in fd.values or []]
        hint = f" [{', '.join(choices)}]" if choices else f" ({fd.type})"
        shown = f" <{norm(default)}>" if default is not None else ""
        while True:
            raw = self.line(f"{label}{hint}{shown}: ").strip()
            if not raw and default is not None:
                return default
            if not raw and not fd.required:
                return None
            if not raw:
                self.out.write("  an answer is needed\n")
                continue
            try:
                problems = checked(fd, typed(_plain(raw), fd))[1]
            except FieldProblem as exc:
                problems = [exc]
            if not problems:
                return typed(_plain(raw), fd)
            self.out.write("".join(f"  not accepted: {p.message}\n" for p in problems))

    def fields(self, fields: Mapping[str, ir.FieldDef], values: Mapping[str, Any]) -> dict[str, Any]:
        answers = {}
        for path, fd in fields.items():
            if fd.readonly:
                continue
            value = self.value(path, fd, values.get(path))
            if value is not None:
                answers[path] = value
        return answers


def _plain(raw: str) -> str:
    """A typed answer as a plain YAML scalar would be read (``true``, ``12`` are not text)."""
    from .loader import Plain

    return Plain(raw)


def _screen_prompt(term: _Terminal) -> Callable[[Any], Mapping[str, Any]]:
    def prompt(app: Any) -> Mapping[str, Any]:
        screen = app.screen
        if app.errors:
            term.out.write("The form refused these answers:\n")
            term.out.writelines(f"  {term.text(e.label, e.path or 'form')}: {e.message}\n" for e in app.errors)
        term.out.write(f"\n== {term.text(screen.title, screen.step_id)} ({screen.step_id})\n")
        return term.fields(screen.fields, screen.values)

    return prompt


def _confirm(term: _Terminal, defn: ir.WorkflowDefinition,
             notes: list[str]) -> Callable[[ir.Step, dict[str, Any]], dict[str, Any]]:
    def confirm(step: ir.Step, samples: dict[str, Any]) -> dict[str, Any]:
        shown = ", ".join(f"{step.outputs.get(c, c)} = {norm(v)}" for c, v in samples.items()) or "no outputs"
        notes.append(f"{step.id}: no result was given; used {shown}")
        if term.ask is _no_terminal:
            return samples
        term.out.write(f"\n-- {term.text(step.title, step.id)} ({step.id}) is a service step with no result "
                       f"given; press Enter to accept each sample value or type another\n")
        out = {}
        for cpath, value in samples.items():
            dpath = step.outputs.get(cpath, cpath)
            fd = defn.data.get(dpath)
            out[cpath] = term.value(dpath, fd, value) if fd is not None else value
        return out

    return confirm


def _no_terminal(prompt: str) -> str:
    raise EOFError


def _unknown(product: str, manifest: dict[str, Any] | None) -> str | None:
    ids = {str(p.get("id")) for p in (manifest or {}).get("products", [])}
    if product in ids:
        return None
    hint = did_you_mean(product, ids)
    return f"productkit: no product '{safe_text(product)}' in the catalogue" + (f"; {hint}" if hint else "") + "\n"


def _load_data(data: Path | None, out: TextIO) -> SimulationData | None:
    if data is None:
        return SimulationData()
    doc, problems = load_file(data)
    given = SimulationData()
    if doc is not None:
        try:
            given = SimulationData.model_validate(doc.data)
        except ValidationError as exc:
            problems = [diagnostic_of(doc, err) for err in exc.errors(include_url=False)]
    if problems:
        out.write(render_text(problems))
        return None
    return given


def simulate(root: Path, product: str, channel: str, data: Path | None, out: TextIO,
             lang: str = "en", ask: Ask | None = None, on: dt.date | None = None) -> int:
    """Walk ``product`` (``id`` or ``id@version``) on ``channel``: from ``data`` when given, else
    asking with ``ask`` (default: ``input``); ``on`` is the day the application is made (the
    version on sale that day). Returns the exit code: 0 simulated, 1 bad data, 2 usage."""
    if channel not in CHANNELS:
        out.write(f"productkit: unknown channel '{safe_text(channel)}'; channels are {', '.join(CHANNELS)}\n")
        return 2
    if lang not in LANGS:
        out.write(f"productkit: unknown language '{safe_text(lang)}'; languages are {', '.join(LANGS)}\n")
        return 2
    given = _load_data(data, out)
    if given is None:
        return 1
    term = _Terminal(out, _no_terminal if data is not None else (ask or input), lang)
    try:
        return _simulate(root, product, channel, given, term, interactive=data is None, on=on)
    except _Closed:
        out.write("\nproductkit: no answers: standard input is closed; give the answers with --data FILE\n")
        return 2


def _simulate(root: Path, product: str, channel: str, given: SimulationData, term: _Terminal,
              interactive: bool, on: dt.date | None = None) -> int:
    from .build import build
    from .options import Options
    from .runtime import Catalog
    from .versions import parse_ref

    try:
        ref = parse_ref(product)
    except ValueError as exc:
        term.out.write(f"productkit: {safe_text(str(exc))}\n")
        return 2
    product = ref.id

    with tempfile.TemporaryDirectory(prefix="productkit-simulate-") as tmp:
        built = build([root], Path(tmp) / "b", Options(release_date=dt.date.today(), targets=("forms",)))
        if built.failed():
            term.out.write("the catalogue has errors; run `productkit validate`\n")
            return 1
        unknown = _unknown(product, built.manifest)
        if unknown:
            term.out.write(unknown)
            return 2
        catalog = Catalog.load(Path(tmp) / "b")
        defn = _version(catalog, product, ref.version, channel, on, term)
        if defn is None:
            return 2
        context = dict(given.context)
        if interactive:
            term.out.write(f"{term.text(defn.name, product)} on {channel}\n\n== the customer\n")
            context.update(term.fields(defn.context, {}))
        sc = Scenario(id="simulation", channel=channel, context=context, inputs=given.inputs,
                      handlers=given.handlers, on=on, expect=Expect.model_construct(outcome="completed"))
        notes: list[str] = []
        result = run_scenario(catalog, sc, product, defn.version, prompt=_screen_prompt(term) if interactive else None,
                              generated=True, confirm=_confirm(term, defn, notes))
    _explain(term, defn, channel, result, notes)
    return 0


def _version(catalog: Any, product: str, version: str | None, channel: str, on: dt.date | None,
             term: _Terminal) -> ir.WorkflowDefinition | None:
    """The definition to walk: the version named, else the one on sale on ``on``, else the newest."""
    from .runtime import NotFound, NotOffered

    try:
        if version is None and on is not None:
            return catalog.current(product, channel, on).definition  # type: ignore[no-any-return]
        return catalog.definition(product, version)  # type: ignore[no-any-return]
    except (NotFound, NotOffered) as exc:
        term.out.write(f"productkit: {safe_text(str(exc))}\n")
        return None


def _explain(term: _Terminal, defn: ir.WorkflowDefinition, channel: str, result: ScenarioResult,
             notes: list[str]) -> None:
    out = term.out
    out.write(f"\n{defn.id} on {channel}: the steps taken\n")
    env = {**{n: p.value for n, p in defn.parameters.items()}, **result.data}
    out.writelines(f"  {_step_line(term, defn, r, env)}\n" for r in result.records)
    out.writelines(f"  note: {safe_text(n)}\n" for n in notes)
    outcome = result.outcome or "none"
    words = _OUTCOMES.get(outcome)
    out.write(f"\noutcome: {outcome}. " + (words[1] if words and term.lang == "zh-CN" else
                                          words[0] if words else "The application did not end.") + "\n")
    for line in result.message:
        out.write(f"  {safe_text(line)}\n")
    for problem in result.problems:
        if not problem.startswith("outcome: expected"):
            out.write(f"note: {safe_text(problem)}\n")


def _step_line(term: _Terminal, defn: ir.WorkflowDefinition, rec: Record, env: Mapping[str, Any]) -> str:
    step = defn.steps.get(rec.step_id)
    title = term.text(step.title, rec.step_id) if step else rec.step_id
    name = rec.step_id if title == rec.step_id else f"{rec.step_id} ({title})"
    if rec.kind == "compensation":
        return f"undone   {name}: {_detail(rec.detail) or rec.status}"
    why = _why(rec, step, env)
    return f"{rec.status:<8} {name}" + (f": {why}" if why else "")


def _why(rec: Record, step: ir.Step | None, env: Mapping[str, Any]) -> str:
    if rec.status == "skipped" and step is not None and step.when is not None and rec.detail.startswith("condition"):
        values = ", ".join(f"{n} = {norm(env.get(n))}" for n in step.when.names if n in env)
        return f"{step.when.cel} is false" + (f" ({values})" if values else "")
    if rec.status == "done" and step is not None and step.kind == "end":
        values = ", ".join(f"{n} = {norm(env.get(n))}" for n in (step.when.names if step.when else []) if n in env)
        return f"ends the application {step.outcome}" + (f" because {step.when.cel} ({values})" if step.when else "")
    if rec.status == "error":
        route = step.errors.get(rec.detail) if step else None
        where = f"ends {route.end}" if route and route.end else f"goes to {route.goto}" if route else "not routed"
        return f"business error {rec.detail}, which {where}"
    if rec.outputs:
        return "returned " + ", ".join(f"{k} = {norm(v)}" for k, v in rec.outputs.items())
    return _detail(rec.detail)


def _detail(detail: str) -> str:
    """A runtime detail without Python words (exception class names)."""
    for word in ("_Failure: ", "_NoStub: "):
        detail = detail.replace(word, "technical failure: ")
    return detail
