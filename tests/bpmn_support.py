"""Run emitted BPMN on a second engine, SpiffWorkflow 3.2, the way Zeebe would run it.

* A service task reads ``zeebe:taskDefinition/@type`` and calls the Python handler registered
  under that type with the job's variables (process data plus its input mappings). A handler
  returns the job result, or raises :class:`BusinessError`, which is thrown as a BPMN error
  with that code and must be caught by an error boundary event.
* A user task is completed with the data given for its step id.
* Output mappings apply as in Zeebe: a mapping ``source -> target`` sets one data path; with no
  mapping the result's top-level variables replace the process's.
* Timers are fast-forwarded: a wait fires at once; a timeout fires only for the steps listed in
  ``timeouts`` (whose job or user task then never completes).
* Nothing is evaluated with Python ``eval``: a gateway condition is looked up by its FEEL text
  in ``conditions`` and decided by the ``evaluate`` callable; event output mappings may only
  assign string literals.

Element ids follow the emitter's convention: ``Task_<step>``, ``Wait_<step>``, ``End_<step>``
mark the elements that run a step.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    EndEventParser,
    IntermediateThrowEventParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateThrowEvent,
    ServiceTask,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from productkit import ir

__all__ = ["BusinessError", "HarnessError", "Run", "conditions_of", "run_bpmn"]

Data = dict[str, Any]
Handler = Callable[[Data], Mapping[str, Any]]
Evaluate = Callable[[ir.Condition, Mapping[str, Any]], bool]
Mappings = tuple[tuple[str, str], ...]

ZEEBE = "http://camunda.org/schema/zeebe/1.0"
_NS = {"zeebe": ZEEBE}
_STEP = re.compile(r"^(?:Task|Wait|End)_(?P<step>[a-z][a-z0-9_-]*)$")
_PATH = re.compile(r"^=(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")
_LITERAL = re.compile(r'^="(?P<text>(?:[^"\\]|\\.)*)"$')
_NEVER, _NOW = "P1D", "PT0S"


class BusinessError(Exception):
    """Raised by a handler: the business error ``code`` of the component."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class HarnessError(Exception):
    """The BPMN cannot be run as given: stuck, an uncaught error, an unknown name."""


@dataclass(frozen=True)
class Run:
    steps: list[str]
    data: Data
    outcome: str | None
    end: str


def conditions_of(defn: ir.WorkflowDefinition) -> dict[str, ir.Condition]:
    """FEEL text -> condition, for every step condition of ``defn``."""
    out: dict[str, ir.Condition] = {}
    for step in defn.steps.values():
        if step.when is not None and step.when.feel is not None:
            out[step.when.feel] = step.when
    return out


# data paths ---------------------------------------------------------------------------------

def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def _set(data: Data, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = copy.deepcopy(value)


def _nested(flat: Mapping[str, Any]) -> Data:
    out: Data = {}
    for key, value in flat.items():
        _set(out, key, value)
    return out


def _source(expression: str) -> str:
    match = _PATH.match(expression)
    if match is None:
        raise HarnessError(f"mapping source {expression!r} is not a plain data path")
    return match["path"]


def _apply_outputs(data: Data, local: Data, result: Data, outputs: Mappings, where: str) -> None:
    """Zeebe's output semantics: each mapping sets one path from the element's scope (the
    result over its local variables); with no mapping the result's top-level variables
    replace the process's (local variables stay local)."""
    if not outputs:
        data.update(copy.deepcopy(result))
        return
    scope = {**local, **result}
    for source, target in outputs:
        try:
            _set(data, target, _get(scope, _source(source)))
        except KeyError as exc:
            raise HarnessError(f"{where}: output mapping source {source} is missing") from exc


# parsing ----------------------------------------------------------------------------------

def _mappings(node: etree._Element, kind: str) -> Mappings:
    found = node.xpath(f"./*/zeebe:ioMapping/zeebe:{kind}", namespaces=_NS)
    return tuple((m.get("source"), m.get("target")) for m in found)


class _JobTask(ServiceTask):  # type: ignore[misc]
    """A service task that runs its job through the harness engine."""

    def __init__(self, wf_spec: Any, bpmn_id: str, job_type: str, inputs: Mappings,
                 outputs: Mappings, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.job_type, self.job_inputs, self.job_outputs = job_type, inputs, outputs

    def _run_hook(self, my_task: Task) -> bool | None:
        engine: _Engine = my_task.workflow.script_engine
        return engine.run_job(my_task, self)


class _JobTaskParser(TaskParser):  # type: ignore[misc]
    def create_task(self) -> _JobTask:
        found = self.node.xpath("./*/zeebe:taskDefinition/@type", namespaces=_NS)
        if not found:
            raise HarnessError(f"service task {self.bpmn_id} has no zeebe:taskDefinition type")
        return _JobTask(self.spec, self.bpmn_id, str(found[0]), _mappings(self.node, "input"),
                        _mappings(self.node, "output"), **self.bpmn_attributes)


class _ExtensionsMixin:
    node: etree._Element

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return {"outputs": _mappings(self.node, "output"),
                "attached_to": self.node.get("attachedToRef")}


class _ThrowParser(_ExtensionsMixin, IntermediateThrowEventParser):  # type: ignore[misc]
    pass


class _EndParser(_ExtensionsMixin, EndEventParser):  # type: ignore[misc]
    pass


class _BoundaryParser(_ExtensionsMixin, BoundaryEventParser):  # type: ignore[misc]
    pass


class _UserTaskParser(_ExtensionsMixin, TaskParser):  # type: ignore[misc]
    pass


class _UserTask(UserTask):  # type: ignore[misc]
    """A user task that tells the harness when it is activated (it may time out at once)."""

    def _on_ready_hook(self, my_task: Task) -> None:
        super()._on_ready_hook(my_task)
        engine: _Engine = my_task.workflow.script_engine
        engine.trace.append(_step_of(self.bpmn_id) or self.bpmn_id)


class _Parser(BpmnParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        full_tag("serviceTask"): (_JobTaskParser, _JobTask),
        full_tag("intermediateThrowEvent"): (_ThrowParser, IntermediateThrowEvent),
        full_tag("endEvent"): (_EndParser, EndEvent),
        full_tag("boundaryEvent"): (_BoundaryParser, BoundaryEvent),
        full_tag("userTask"): (_UserTaskParser, _UserTask),
    }


# the engine -------------------------------------------------------------------------------

def _step_of(bpmn_id: str | None) -> str | None:
    match = _STEP.match(bpmn_id or "")
    return match["step"] if match else None


@dataclass
class _Engine(PythonScriptEngine):  # type: ignore[misc]
    """Decides conditions and timers and runs jobs; evaluates no Python."""

    handlers: Mapping[str, Handler]
    conditions: Mapping[str, ir.Condition]
    decide: Evaluate
    timeouts: Collection[str]
    trace: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def evaluate(self, task: Task, expression: str, external_context: Any = None) -> Any:
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            return self._timer(task, expression)
        cond = self.conditions.get(expression[1:]) if expression.startswith("=") else None
        if cond is None:
            raise HarnessError(f"unknown condition {expression!r} at {task.task_spec.bpmn_id}")
        result = self.decide(cond, task.data)
        if not isinstance(result, bool):
            raise HarnessError(f"condition {cond.cel!r} gave {result!r}, not a boolean")
        return result

    def execute(self, task: Task, script: str, external_context: Any = None) -> Any:
        raise HarnessError(f"{task.task_spec.bpmn_id}: scripts are not part of emitted BPMN")

    def _timer(self, task: Task, expression: str) -> str:
        TimerEventDefinition.parse_iso_duration(expression)  # a valid ISO 8601 duration
        if not isinstance(task.task_spec, BoundaryEvent):
            return _NOW
        step = _step_of(task.task_spec.extensions.get("attached_to"))
        return _NOW if step in self.timeouts else _NEVER

    def run_job(self, task: Task, spec: _JobTask) -> bool | None:
        step = _step_of(spec.bpmn_id)
        self.trace.append(step or spec.bpmn_id)
        if step in self.timeouts:
            return None  # the job never completes; the timeout boundary event fires
        if spec.job_type not in self.handlers:
            raise HarnessError(f"no handler for job type {spec.job_type!r}")
        variables = copy.deepcopy(task.data)
        for source, target in spec.job_inputs:
            try:
                _set(variables, target, _get(task.data, _source(source)))
            except KeyError as exc:  # Zeebe raises an incident
                raise HarnessError(f"{spec.bpmn_id}: input {source} is missing") from exc
        try:
            result = _nested(self.handlers[spec.job_type](variables))
        except BusinessError as err:
            ErrorEventDefinition(err.code, code=err.code).throw(task)
            return None  # interrupted by the error boundary event, if one catches the code
        _apply_outputs(task.data, variables, result, spec.job_outputs, spec.bpmn_id)
        return True


# the run loop -----------------------------------------------------------------------------

@dataclass
class _Runner:
    workflow: BpmnWorkflow
    engine: _Engine
    user_data: Mapping[str, Mapping[str, Any]]
    end: tuple[str, Data] | None = None

    def will_complete(self, task: Task) -> None:
        outputs = getattr(task.task_spec, "extensions", {}).get("outputs", ())
        if isinstance(task.task_spec, (IntermediateThrowEvent, EndEvent)):
            for source, target in outputs:
                match = _LITERAL.match(source)
                if match is None:
                    raise HarnessError(f"{task.task_spec.bpmn_id}: {source!r} is not a literal")
                _set(task.data, target, match["text"])

    def did_complete(self, task: Task) -> None:
        spec = task.task_spec
        if spec.bpmn_id is None or task.state != TaskState.COMPLETED:
            return
        if spec.bpmn_id.startswith(("Wait_", "End_")):
            self.engine.trace.append(_step_of(spec.bpmn_id) or spec.bpmn_id)
        if isinstance(spec, EndEvent):
            self.end = (spec.bpmn_id, copy.deepcopy(task.data))

    def complete_users(self) -> bool:
        progressed = False
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            step = _step_of(task.task_spec.bpmn_id) or task.task_spec.bpmn_id
            if step in self.engine.timeouts:
                continue
            result = _nested(self.user_data.get(step, {}))
            outputs = task.task_spec.extensions.get("outputs", ())
            _apply_outputs(task.data, task.data, result, outputs, task.task_spec.bpmn_id)
            task.run()
            progressed = True
        return progressed

    def run(self, rounds: int = 500) -> Run:
        for _ in range(rounds):
            self.workflow.do_engine_steps(self.will_complete, self.did_complete)
            if self.workflow.is_completed():
                return self._result()
            self.complete_users()
        raise HarnessError(self._stuck())

    def _result(self) -> Run:
        if self.end is None:
            raise HarnessError("the process completed without reaching an end event")
        end_id, data = self.end
        outcome = data.get("outcome")
        return Run(list(self.engine.trace), data, outcome if isinstance(outcome, str) else None,
                   end_id)

    def _stuck(self) -> str:
        waiting = [t.task_spec.bpmn_id or t.task_spec.name
                   for t in self.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)]
        events = [e.event_definition.code for e in self.workflow.get_events()
                  if isinstance(e.event_definition, ErrorEventDefinition)]
        return f"the process does not finish; open: {waiting}; uncaught errors: {events}"


def run_bpmn(bpmn_xml: bytes, process_id: str, handlers: Mapping[str, Handler],
             inputs: Mapping[str, Any], evaluate: Evaluate, *,
             conditions: Mapping[str, ir.Condition],
             user_data: Mapping[str, Mapping[str, Any]] | None = None,
             timeouts: Collection[str] = ()) -> Run:
    """Run one instance of ``process_id`` to its end and report the steps it ran (in order),
    the final data and the outcome.

    ``handlers``: job type -> callable(variables) -> result (dotted keys allowed) or raises
    :class:`BusinessError`; ``inputs``: the start variables (dotted keys allowed);
    ``evaluate(condition, data)``: decides a condition found by its FEEL text in
    ``conditions``; ``user_data``: step id -> the data its user task completes with;
    ``timeouts``: step ids whose timeout fires.
    """
    parser = _Parser()
    parser.add_bpmn_str(bpmn_xml)
    engine = _Engine(handlers, conditions, evaluate, timeouts)
    workflow = BpmnWorkflow(parser.get_spec(process_id), script_engine=engine)
    workflow.get_next_task(state=TaskState.READY).data.update(_nested(inputs))
    return _Runner(workflow, engine, user_data or {}).run()
