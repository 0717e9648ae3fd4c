"""Zeebe extension elements of the BPMN target: task definitions, job headers, I/O mappings."""

from __future__ import annotations

from ..ir import ParamValue, Step, canonical_json
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
    """The parameter's JSON header: its type, value, currency and unit, and dated values (a
    job worker picks one by the application date); sorted keys, no whitespace."""
    data: dict[str, object] = {"type": param.type}
    for key, value in (("value", param.value), ("currency", param.currency), ("unit", param.unit)):
        if value is not None:
            data[key] = value
    if param.schedule:
        data["schedule"] = [s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in param.schedule]
    return canonical_json(data)


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
