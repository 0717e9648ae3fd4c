"""Every decision the embedded engine takes while the repository's scenarios run, recorded: the
event, the commands (records, audit, saves, calls, timers) and the state each decision leaves,
against a golden file. A faster decision core must answer exactly as this one did.

Normalised only where a run cannot repeat itself: application ids (random) become ``app-N`` in
order of start within their scenario, and an attempt's measured ``seconds`` become 0; a state's
``revision`` (the executor's bookkeeping, not compared) is left out. Times come from the
scenarios' fake clocks. The golden keeps, per scenario and decision, the event's and the
commands' kinds and the sha256 of the whole decision as JSON (the full text would be megabytes),
so a difference names the scenario, the application and the decision. Rewrite with
``pytest --update-goldens`` after a change of behaviour that is meant, or after a change of the
catalogue's products or scenarios (then only their sections differ).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from productkit import scenarios
from productkit.runtime import _codec, _executor
from productkit.runtime.core import Decision, Event, Program, Started, decide
from productkit.runtime.views import Attempt

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "decisions.txt"


def _plain(item: object) -> Any:
    """A dataclass as the codec writes it, attempts' timings set to 0."""
    if isinstance(item, Attempt):
        item = dataclasses.replace(item, seconds=0.0)
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: _plain(getattr(item, f.name)) for f in dataclasses.fields(item) if f.compare}
    if isinstance(item, dict):
        return {k: _attempt_rows(v) if k == "attempts" else _plain(v) for k, v in item.items()}
    if isinstance(item, list | tuple):
        return [_plain(v) for v in item]
    return item


def _attempt_rows(rows: Any) -> Any:
    """The attempts of a call under way (``AppState.calls``), their seconds set to 0."""
    if isinstance(rows, list) and all(isinstance(r, list) and len(r) == 6 for r in rows):
        return [[*r[:3], 0.0, *r[4:]] for r in rows]
    return _plain(rows)


Recording = list[tuple[str, Event, Decision] | str]


def _recorded(monkeypatch: pytest.MonkeyPatch) -> Recording:
    """The decisions the executor asks for, after the name of the scenario that led to them."""
    seen: Recording = []
    real: Callable[..., Decision] = decide
    run = scenarios.run_scenario

    def spy(program: Program, state: Any, event: Event) -> Decision:
        decision = real(program, state, event)
        seen.append((decision.state.id, event, decision))
        return decision

    def scenario(catalog: Any, sc: Any, product: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(f"## {product}/{sc.id}")
        return run(catalog, sc, product, *args, **kwargs)

    monkeypatch.setattr(_executor, "decide", spy)
    monkeypatch.setattr(scenarios, "run_scenario", scenario)
    return seen


def _lines(seen: Recording) -> list[str]:
    ids: dict[str, str] = {}
    out = []
    for item in seen:
        if isinstance(item, str):  # a scenario begins: its applications are numbered anew
            ids = {}
            out.append(item)
            continue
        app, event, decision = item
        if isinstance(event, Started):
            ids[app] = f"app-{len(ids) + 1}"
            out.append(f"# {ids[app]} {decision.state.product_id}@{decision.state.version} "
                       f"{decision.state.channel}")
        text = _codec.encode({"event": {type(event).__name__: _plain(event)},
                              "commands": [{type(c).__name__: _plain(c)} for c in decision.commands],
                              "state": _plain(decision.state)})
        digest = hashlib.sha256(text.replace(app, ids.get(app, "app-?")).encode()).hexdigest()[:20]
        kinds = " ".join(type(c).__name__ for c in decision.commands)
        out.append(f"{type(event).__name__} -> {kinds} {digest}")
    return out


def test_every_scenario_decides_as_recorded(monkeypatch: pytest.MonkeyPatch, golden: Any) -> None:
    seen = _recorded(monkeypatch)
    results, diagnostics = scenarios.run_scenarios(REPO)
    assert results and not [d for d in diagnostics if d.severity.value == "error"]
    lines = _lines(seen)
    assert sum(line.startswith("## ") for line in lines) == len(results)
    assert sum(line.startswith("# ") for line in lines) >= len(results) // 2  # most started
    golden(GOLDEN, "\n".join(lines) + "\n")


def test_the_golden_is_not_empty() -> None:
    text = GOLDEN.read_text("utf-8")
    assert text.count("\n# ") > 50 and "HandlerAnswered ->" in text and "RecordAudit" in text
