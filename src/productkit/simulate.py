"""``productkit simulate``: walk one product on one channel and say what happened and why.

With ``--data FILE`` (a YAML mapping with ``context``, ``inputs`` and ``handlers``, as in a
scenario) it runs unattended; otherwise it asks for each field of each screen on the terminal.
Service steps without a stub return a plausible sample of their declared outputs.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any, TextIO

import typer
from pydantic import Field, ValidationError

from .diagnostics import render_text, safe_text
from .loader import load_file
from .model._types import CHANNELS, Model
from .scenarios import Expect, Scenario, Stub, run_scenario, sample_value
from .shape import diagnostic_of, did_you_mean

__all__ = ["SimulationData", "simulate"]


class SimulationData(Model):
    """A ``--data`` file: the context, the inputs per screen and the handler stubs."""

    context: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    handlers: dict[str, Stub] = Field(default_factory=dict)


class _Answers:
    """Whether the terminal ran out of answers (stdin closed): then nothing was simulated."""

    closed = False


def _prompt(out: TextIO, answers: _Answers) -> Any:
    def ask(screen: Any) -> dict[str, Any]:
        try:
            return _ask(out, screen)
        except (typer.Abort, EOFError):
            answers.closed = True
            raise

    return ask


def _ask(out: TextIO, screen: Any) -> dict[str, Any]:
    out.write(f"\n== {screen.step_id}: {screen.title.en} / {screen.title.zh_CN}\n")
    answers: dict[str, Any] = {}
    for path, fd in sorted(screen.fields.items()):
        if fd.readonly:
            continue
        label = fd.label.en if fd.label else path
        hint = f" [{', '.join(fd.values)}]" if fd.values else f" ({fd.type})"
        default = screen.values.get(path, sample_value(fd))
        raw = typer.prompt(f"{label}{hint}", default=str(default))
        answers[path] = _typed(raw, fd.type)
    return answers


def _typed(raw: str, kind: str) -> Any:
    if kind == "boolean":
        return raw.strip().lower() in ("true", "y", "yes", "1")
    if kind == "integer" and raw.strip().lstrip("-").isdigit():
        return int(raw)
    return raw


def _unknown(product: str, manifest: dict[str, Any] | None) -> str | None:
    ids = {str(p.get("id")) for p in (manifest or {}).get("products", [])}
    if product in ids:
        return None
    hint = did_you_mean(product, ids)
    return f"productkit: no product '{safe_text(product)}' in the catalogue" + (f"; {hint}" if hint else "") + "\n"


def simulate(root: Path, product: str, channel: str, data: Path | None, out: TextIO) -> int:
    from .build import build
    from .options import Options
    from .runtime import Catalog

    if channel not in CHANNELS:
        out.write(f"productkit: unknown channel '{channel}'; channels are {', '.join(CHANNELS)}\n")
        return 2
    given = SimulationData()
    if data is not None:
        doc, problems = load_file(data)
        if doc is not None:
            try:
                given = SimulationData.model_validate(doc.data)
            except ValidationError as exc:
                problems = [diagnostic_of(doc, err) for err in exc.errors(include_url=False)]
        if problems:
            out.write(render_text(problems))
            return 1
    sc = Scenario(id="simulation", channel=channel, context=given.context, inputs=given.inputs,
                  handlers=given.handlers, expect=Expect.model_construct(outcome="completed"))
    answers = _Answers()
    with tempfile.TemporaryDirectory(prefix="productkit-simulate-") as tmp:
        built = build([root], Path(tmp) / "b", Options(release_date=dt.date.today(), targets=("forms",)))
        if built.failed():
            out.write("the catalogue has errors; run `productkit validate`\n")
            return 1
        unknown = _unknown(product, built.manifest)
        if unknown:
            out.write(unknown)
            return 2
        catalog = Catalog.load(Path(tmp) / "b")
        result = run_scenario(catalog, sc, product, prompt=None if data else _prompt(out, answers),
                              generated=True)
    if answers.closed:
        out.write("productkit: no answers: standard input is closed; give the answers with --data FILE\n")
        return 2
    out.write(f"\n{product} on {channel}\n")
    out.writelines(f"  {line}\n" for line in result.trace)
    out.write(f"outcome: {result.outcome}\n")
    for problem in result.problems:
        if not problem.startswith("outcome: expected"):
            out.write(f"note: {safe_text(problem)}\n")
    return 0
