"""Zeebe extension elements of the BPMN target: task definitions, job headers, I/O mappings."""

from __future__ import annotations

import json

from ..ir import ParamValue, Step
from ._graph import El

__all__ = ["STEP_HEADER", "duration", "field_outputs", "headers", "io_mapping", "output", "task_definition",
           "undo_inputs"]

STEP_HEADER = "productkit.step"  # names the step on every job: one handler may serve two steps


def duration(text: str) -> El:
    return El("bpmn:timeDuration", (("xsi:type", "bpmn:tFormalExpression"),), text=text)


def output(source: str, target: str) -> El:
    return El("zeebe:output", (("source", source), ("target", target)))


def task_definition(step: Step) -> El:
    retries = step.retry.max_attempts if step.retry else 1
    return El("zeebe:taskDefinition", (("type", step.handler or ""), ("retries", str(retries))))


def headers(step: Step, extra: tuple[tuple[str, str], ...] = ()) -> tuple[El, ...]:
    """Static job headers: what the worker needs besides the variables."""
    pairs: list[tuple[str, str]] = [(STEP_HEADER, step.id), *extra]
    if step.component:
        pairs.append(("productkit.component", step.component))
    if step.retry and step.retry.backoff:
        pairs += [("productkit.retry.backoff", step.retry.backoff),
                  ("productkit.retry.multiplier", step.retry.multiplier)]
        if step.retry.max_backoff:
            pairs.append(("productkit.retry.maxBackoff", step.retry.max_backoff))
    pairs += [(f"productkit.param.{name}", _param_text(step.parameters[name]))
              for name in sorted(step.parameters)]
    if not pairs:
        return ()
    headers = tuple(El("zeebe:header", (("key", k), ("value", v))) for k, v in pairs)
    return (El("zeebe:taskHeaders", children=headers),)


def _param_text(param: ParamValue) -> str:
    data = param.model_dump(mode="json", include={"type", "value", "currency", "unit", "schedule"},
                            exclude_none=True, by_alias=True)
    if not data.get("schedule"):
        data.pop("schedule", None)  # a job worker picks a dated value by the application date
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def io_mapping(step: Step) -> tuple[El, ...]:
    """Inputs whose names differ, and every output. Without output mappings Zeebe merges a
    job's top-level variables wholesale: ``kyc`` = {status} would wipe a ``kyc.level`` that an
    earlier step wrote; a mapping to ``kyc.status`` updates only that path."""
    inputs = [El("zeebe:input", (("source", f"={src}"), ("target", dst)))
              for dst, src in sorted(step.inputs.items()) if dst != src]
    outputs = [output(f"={src}", dst) for src, dst in sorted(step.outputs.items())]
    return _mapping(inputs + outputs)


def undo_inputs(step: Step) -> tuple[El, ...]:
    """The compensation handler's job gets what the step's job got (inputs whose names differ
    mapped as for the step) and what it returned under the component's names; an input wins
    over an output of the same name."""
    names = {name: path for name, path in step.outputs.items()
             if name != path and name not in step.inputs}  # component name -> data path
    names.update((name, path) for name, path in step.inputs.items() if name != path)
    return _mapping([El("zeebe:input", (("source", f"={path}"), ("target", name)))
                     for name, path in sorted(names.items())])


def field_outputs(step: Step) -> tuple[El, ...]:
    """A user task passes on only the fields of its form, each to its own data path."""
    return _mapping([output(f"={path}", path) for path in sorted(step.fields)])


def _mapping(children: list[El]) -> tuple[El, ...]:
    return (El("zeebe:ioMapping", children=tuple(children)),) if children else ()
