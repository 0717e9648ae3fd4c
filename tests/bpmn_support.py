"""Run emitted BPMN on a second engine, SpiffWorkflow 3.2, the way Zeebe would run it.

* A service task reads ``zeebe:taskDefinition/@type`` and calls the Python handler registered
  under that type with a :class:`Job`: the job's variables (process data plus its input
  mappings), its static headers (``zeebe:taskHeaders``: the step id ``productkit.step``, the
  parameters) and the retries left. A handler returns the job result, or raises
  :class:`BusinessError`, which is thrown as a BPMN error with that code and must be caught by
  an error boundary event. Any other exception is a technical failure: the job is retried
  (``zeebe:taskDefinition/@retries`` attempts in all, Zeebe's default 3), and when its last
  attempt fails, the harness does what productkit's job workers do and throws the BPMN error
  ``productkit.failed`` (``FAILED_ERROR``), which the task's boundary event catches.
* A user task is completed with the data given for its step id (a field left out is null, as
  in Zeebe; for a staff step that may include the error code at its ``error_path``).
* Process variables live in one scope shared by every branch, as in Zeebe (SpiffWorkflow
  copies data from task to task and merges it at joins, so a branch that ends the process
  would not see what another branch wrote): jobs, user tasks and events read and write it.
* One element runs at a time. Given the flow ``order`` of the steps, the ready element of the
  earliest step runs first (elements of no step first of all), and one user task is completed
  at a time, the earliest: among the interleavings of parallel branches Zeebe may take, the
  one productkit's embedded engine takes.
* Output mappings apply as in Zeebe: a mapping ``source -> target`` sets one data path; with no
  mapping the result's top-level variables replace the process's.
* Compensation is emulated: SpiffWorkflow 3.2 has no compensation events (it refuses a
  compensation boundary event). The harness reads each compensation boundary event, its
  association and its handler (a ``isForCompensation`` service task) from the XML, hides the
  boundary from SpiffWorkflow, records the compensable tasks as they complete, and when a
  compensation throw event is reached it runs, before the event completes (Zeebe's throw event
  waits for its handlers), the handler job of the referenced activity if that completed and
  is not compensated yet, or with no ``activityRef`` of every completed one, last first. The
  handler job gets the process data plus its input mappings; the steps compensated, in order,
  are ``Run.compensated``. A compensation job whose attempts all fail, or that throws a BPMN
  error (nothing can catch it there), is an incident: :class:`HarnessError`.
* Timers are fast-forwarded: a wait fires at once; a timeout fires only for the steps listed in
  ``timeouts`` (whose job or user task then never completes).
* ``Run.steps`` are the steps taken, in order: a service step when its job is activated, a
  user step when its task is completed (or times out), a wait when it fires, an end step when
  reached (its ``End_<step>``, or for an end step with a condition, its split
  ``Gateway_<step>_when`` taking the flow into a shared end tail).
* Nothing is evaluated with Python ``eval``: a gateway condition is looked up by its FEEL text
  in ``conditions`` and decided by the ``evaluate`` callable, except the decision on a staff
  step's error code, ``=<data path> = "<code>"``, which compares the value at the path with
  the string; or every condition is evaluated as FEEL by a ``feel`` callable (:func:`feel`);
  a condition that is not true or false is an incident. Event output mappings may only
  assign string literals.

Element ids follow the emitter's convention: ``Task_<step>``, ``Wait_<step>``, ``End_<step>``
mark the elements that run a step; the other elements of a step are named ``<Kind>_<step>``
or ``<Kind>_<step>_<what>``.

The checks from outside live here too: the OMG BPMN 2.0 XSD (:func:`bpmn_schema`) and the
pinned bpmnlint with Camunda's 8.6 rules (:func:`bpmnlint`); and a FEEL interpreter
(:func:`feel`, bpmn.io's feelin on Node.js) for an ``evaluate`` that reads conditions as
Zeebe does.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import functools
import inspect
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
import SpiffWorkflow
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    EndEventParser,
    IntermediateThrowEventParser,
)
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
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

from productkit import ir, runtime
from productkit.runtime import _values
from productkit.targets.bpmn import CHANNEL_VARIABLE, FAILED_ERROR, STEP_HEADER
from productkit.targets.feel import FeelScope

__all__ = ["BusinessError", "FeelInterpreter", "HarnessError", "Job", "Run", "bpmn_schema",
           "bpmnlint", "conditions_of", "feel", "parse_bpmn", "productkit_worker", "run_bpmn"]

Data = dict[str, Any]
Feel = Callable[[str, Mapping[str, Any]], Any]  # FEEL text (no "="), process variables -> value
Evaluate = Callable[[ir.Condition, Mapping[str, Any]], bool]
Mappings = tuple[tuple[str, str], ...]

ZEEBE = "http://camunda.org/schema/zeebe/1.0"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_NS = {"zeebe": ZEEBE, "bpmn": BPMN}
_STEP = re.compile(r"^(?:Task|Wait|End)_(?P<step>[a-z][a-z0-9_-]*)$")
_WHEN = re.compile(r"^Gateway_(?P<step>[a-z][a-z0-9_-]*)_when$")
_TAIL_ENTRIES = ("Gateway__", "Outcome__")  # a shared end tail's merge gateway or outcome event
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_PATH = re.compile(rf"^=(?P<path>{_NAME})$")
_LITERAL = re.compile(r'^="(?P<text>(?:[^"\\]|\\.)*)"$')
_EQUALS = re.compile(rf'^=(?P<path>{_NAME}) = "(?P<text>(?:[^"\\]|\\.)*)"$')
_COMPENSATE = "bpmn:compensateEventDefinition"
_NEVER, _NOW = "P1D", "PT0S"
_RETRIES = 3  # Zeebe's default when a task definition gives none
_COMPENSATES = "productkit.compensates"
LINT_DIR = Path(__file__).parent.parent / "tools" / "bpmnlint"
FEEL_DIR = Path(__file__).parent.parent / "tools" / "feel"


class BusinessError(Exception):
    """Raised by a handler: the business error ``code`` of the component."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class HarnessError(Exception):
    """The BPMN cannot be run as given: stuck, an uncaught error, an unknown name."""


@dataclass(frozen=True)
class Job:
    """One attempt of a job, as a Zeebe job worker activates it."""

    type: str
    element: str  # the BPMN element id of the task
    variables: Data  # the process data plus the task's input mappings
    headers: Mapping[str, str]  # the task's static headers
    retries: int  # retries left: 1 on the last attempt

    @property
    def step(self) -> str | None:
        """The step the job runs or compensates (the ``productkit.step`` header)."""
        return self.headers.get(STEP_HEADER)

    @property
    def compensating(self) -> bool:
        return _COMPENSATES in self.headers


Handler = Callable[[Job], Mapping[str, Any]]


@dataclass(frozen=True)
class Run:
    steps: list[str]
    data: Data
    outcome: str | None
    end: str
    compensated: list[str] = field(default_factory=list)  # steps undone, in order


def conditions_of(defn: ir.WorkflowDefinition) -> dict[str, ir.Condition]:
    """FEEL text -> condition, for every step condition of ``defn``."""
    out: dict[str, ir.Condition] = {}
    feel = FeelScope.of_definition(defn)
    for step in defn.steps.values():
        text = feel.of(step.when) if step.when is not None else None
        if step.when is not None and text is not None:
            out[text] = step.when
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


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _apply_outputs(data: Data, local: Data, result: Data, outputs: Mappings) -> None:
    """Zeebe's output semantics: each mapping sets one path from the element's scope (the
    result over its local variables); with no mapping the result's top-level variables
    replace the process's (local variables stay local). A missing source is null (Camunda
    8.3 on: FEEL reads a missing variable or context entry as null, e.g. an optional output
    the job did not return, or a form field left empty)."""
    if not outputs:
        data.update(copy.deepcopy(result))
        return
    scope = {**local, **result}
    for source, target in outputs:
        _set(data, target, _lookup(scope, _source(source)))


def _map_inputs(data: Data, inputs: Mappings) -> Data:
    """The variables of a job: the process data plus its input mappings (a missing source
    is null, as for outputs)."""
    variables = copy.deepcopy(data)
    for source, target in inputs:
        _set(variables, target, _lookup(data, _source(source)))
    return variables


# parsing ----------------------------------------------------------------------------------

def _mappings(node: etree._Element, kind: str) -> Mappings:
    found = node.xpath(f"./*/zeebe:ioMapping/zeebe:{kind}", namespaces=_NS)
    return tuple((m.get("source"), m.get("target")) for m in found)


@dataclass(frozen=True)
class _JobSpec:
    """What a service task (or compensation handler) tells its job worker."""

    job_type: str
    retries: int
    headers: Mapping[str, str]
    inputs: Mappings
    outputs: Mappings


def _job_spec(node: etree._Element, where: str) -> _JobSpec:
    found = node.xpath("./*/zeebe:taskDefinition", namespaces=_NS)
    if not found or not found[0].get("type"):
        raise HarnessError(f"{where}: not a service task with a zeebe:taskDefinition type")
    retries = found[0].get("retries")
    if retries is not None and not retries.isdigit():
        raise HarnessError(f"{where}: retries {retries!r} is not a number")
    headers = {h.get("key"): h.get("value")
               for h in node.xpath("./*/zeebe:taskHeaders/zeebe:header", namespaces=_NS)}
    return _JobSpec(str(found[0].get("type")), int(retries) if retries else _RETRIES, headers,
                    _mappings(node, "input"), _mappings(node, "output"))


def _is_compensation(node: etree._Element) -> bool:
    return bool(node.xpath(f"./{_COMPENSATE}", namespaces=_NS))


@dataclass(frozen=True)
class _Undo:
    """The compensation handler of one activity, as the BPMN declares it."""

    handler: str  # the handler's element id
    job: _JobSpec


def _undos(bpmn_xml: bytes, process_id: str) -> dict[str, _Undo]:
    """Activity id -> its compensation handler: the compensation boundary event attached to
    the activity, the association from it, the ``isForCompensation`` service task it leads to
    (which has no sequence flows)."""
    root = etree.fromstring(bpmn_xml)
    found = root.xpath("bpmn:process[@id=$id]", namespaces=_NS, id=process_id)
    if not found:
        raise HarnessError(f"no process {process_id}")
    process = found[0]
    out: dict[str, _Undo] = {}
    for boundary in process.xpath(f".//bpmn:boundaryEvent[{_COMPENSATE}]", namespaces=_NS):
        where = boundary.get("id")
        links = process.xpath("bpmn:association[@sourceRef=$id]/@targetRef", namespaces=_NS,
                              id=where)
        if len(links) != 1:
            raise HarnessError(f"{where}: {len(links)} associations, expected one")
        handler = process.xpath("*[@id=$id]", namespaces=_NS, id=links[0])
        if not handler or handler[0].get("isForCompensation") != "true":
            raise HarnessError(f"{where}: {links[0]} is not a compensation handler")
        node = handler[0]
        if node.xpath("bpmn:incoming|bpmn:outgoing", namespaces=_NS):
            raise HarnessError(f"{links[0]}: a compensation handler has no sequence flows")
        if etree.QName(node).localname != "serviceTask":
            raise HarnessError(f"{links[0]}: not a service task with a job type")
        job = _job_spec(node, links[0])
        activity = boundary.get("attachedToRef")
        if activity in out:
            raise HarnessError(f"{activity}: two compensation boundary events")
        out[activity] = _Undo(links[0], job)
    return out


class _JobTask(ServiceTask):  # type: ignore[misc]
    """A service task that runs its job through the harness engine."""

    def __init__(self, wf_spec: Any, bpmn_id: str, job: _JobSpec, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.job = job

    def _run_hook(self, my_task: Task) -> bool | None:
        engine: _Engine = my_task.workflow.script_engine
        return engine.run_job(my_task, self)


class _JobTaskParser(TaskParser):  # type: ignore[misc]
    def create_task(self) -> _JobTask:
        return _JobTask(self.spec, self.bpmn_id, _job_spec(self.node, f"service task {self.bpmn_id}"),
                        **self.bpmn_attributes)


class _ExtensionsMixin:
    node: etree._Element

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        compensate = self.node.xpath(f"./{_COMPENSATE}", namespaces=_NS)
        return {"outputs": _mappings(self.node, "output"),
                "attached_to": self.node.get("attachedToRef"),
                # a compensation throw event: the activity to compensate, "" for all
                "compensate": compensate[0].get("activityRef", "") if compensate else None}


class _ThrowParser(_ExtensionsMixin, IntermediateThrowEventParser):  # type: ignore[misc]
    pass


class _EndParser(_ExtensionsMixin, EndEventParser):  # type: ignore[misc]
    pass


class _BoundaryParser(_ExtensionsMixin, BoundaryEventParser):  # type: ignore[misc]
    pass


class _UserTaskParser(_ExtensionsMixin, TaskParser):  # type: ignore[misc]
    pass


class _UserTask(UserTask):  # type: ignore[misc]
    """A user task: completed by the harness (``_Runner.complete_user``), traced when done."""


class _ProcessParser(ProcessParser):  # type: ignore[misc]
    """Hides compensation boundary events, which SpiffWorkflow cannot parse; the harness runs
    compensation itself. (Compensation handlers have no incoming flow: never parsed.)"""

    def get_boundary_events(self, attached_to_ref: str) -> list[etree._Element]:
        found: list[etree._Element] = super().get_boundary_events(attached_to_ref)
        return [b for b in found if not _is_compensation(b)]


class _Parser(BpmnParser):  # type: ignore[misc]
    PROCESS_PARSER_CLASS = _ProcessParser
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
    decide: Evaluate | None
    timeouts: Collection[str]
    undos: Mapping[str, _Undo] = field(default_factory=dict)  # activity -> its handler
    data: Data = field(default_factory=dict)  # the process variables (one scope)
    feel: Feel | None = None  # evaluates every condition when given
    trace: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)  # compensable activities, in order
    compensated: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def evaluate(self, task: Task, expression: str, external_context: Any = None) -> Any:
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            return self._timer(task, expression)
        where = task.task_spec.bpmn_id
        if self.feel is not None:
            if not expression.startswith("="):
                raise HarnessError(f"{where}: {expression!r} is not an expression")
            result = self.feel(expression[1:], copy.deepcopy(self.data))
            what = expression
        else:
            cond = self.conditions.get(expression[1:]) if expression.startswith("=") else None
            if cond is None and (match := _EQUALS.match(expression)) is not None:
                try:  # a staff step's error code: FEEL null (no code) equals no string
                    value = _get(self.data, match["path"])
                except KeyError:
                    value = None
                return value == _unescape(match["text"])
            if cond is None or self.decide is None:
                raise HarnessError(f"unknown condition {expression!r} at {where}")
            result, what = self.decide(cond, copy.deepcopy(self.data)), cond.cel
        if not isinstance(result, bool):  # Zeebe: an incident
            raise HarnessError(f"{where}: condition {what!r} gave {result!r}, not a boolean")
        return result

    def execute(self, task: Task, script: str, external_context: Any = None) -> Any:
        raise HarnessError(f"{task.task_spec.bpmn_id}: scripts are not part of emitted BPMN")

    def _timer(self, task: Task, expression: str) -> str:
        TimerEventDefinition.parse_iso_duration(expression)  # a valid ISO 8601 duration
        if not isinstance(task.task_spec, BoundaryEvent):
            return _NOW
        step = _step_of(task.task_spec.extensions.get("attached_to"))
        return _NOW if step in self.timeouts else _NEVER

    def _work(self, job: _JobSpec, element: str, variables: Data) -> Data:
        """Activate the job until it completes: its result; raises :class:`BusinessError`
        for a business error, and when the last attempt fails, the worker's
        ``productkit.failed`` (a compensation job's worker throws nothing: an incident)."""
        handler = self.handlers.get(job.job_type)
        if handler is None:
            raise HarnessError(f"no handler for job type {job.job_type!r}")
        for left in range(max(job.retries, 1), 0, -1):
            attempt = Job(job.job_type, element, copy.deepcopy(variables), dict(job.headers),
                          left)
            try:
                return _nested(handler(attempt))
            except BusinessError:
                raise
            except Exception as exc:  # a technical failure: Zeebe retries the job
                failure = exc
        if _COMPENSATES in job.headers:
            raise HarnessError(f"incident: {element} failed {job.retries} times: {failure}")
        raise BusinessError(FAILED_ERROR) from failure

    def run_job(self, task: Task, spec: _JobTask) -> bool | None:
        # A finally step has a copy per end (Finally_<end>_<step>): its job names the step.
        finally_copy = (spec.bpmn_id or "").startswith("Finally_")
        step = spec.job.headers.get(STEP_HEADER) if finally_copy else _step_of(spec.bpmn_id)
        self.trace.append(step or spec.bpmn_id)
        if step in self.timeouts:
            return None  # the job never completes; the timeout boundary event fires
        variables = _map_inputs(self.data, spec.job.inputs)
        try:
            result = self._work(spec.job, spec.bpmn_id, variables)
        except BusinessError as err:
            ErrorEventDefinition(err.code, code=err.code).throw(task)
            return None  # interrupted by the error boundary event, if one catches the code
        _apply_outputs(self.data, variables, result, spec.job.outputs)
        return True

    def compensate(self, task: Task, activity: str) -> None:
        """A compensation throw event: undo ``activity`` ("" for every completed one, last
        first) if it completed and is not undone yet, before the event completes."""
        targets = [activity] if activity else list(reversed(self.completed))
        for target in targets:
            if target not in self.undos:
                raise HarnessError(f"{task.task_spec.bpmn_id}: {target} has no compensation")
            step = _step_of(target) or target
            if target not in self.completed or step in self.compensated:
                continue  # Zeebe: nothing to compensate
            undo = self.undos[target]
            variables = _map_inputs(self.data, undo.job.inputs)
            try:
                result = self._work(undo.job, undo.handler, variables)
            except BusinessError as err:  # no boundary event can catch it: an incident
                raise HarnessError(f"{undo.handler} threw {err.code}") from err
            _apply_outputs(self.data, variables, result, undo.job.outputs)
            self.compensated.append(step)


# the run loop -----------------------------------------------------------------------------

_KINDS = ("Task", "Wait", "End", "Outcome", "Gateway", "Catch", "Timeout", "EndEvent",
          "Compensate")


@dataclass
class _Runner:
    workflow: BpmnWorkflow
    engine: _Engine
    user_data: Mapping[str, Mapping[str, Any]]
    order: Sequence[str] = ()  # the steps in flow order
    end: tuple[str, Data] | None = None

    @functools.cached_property
    def _places(self) -> dict[str, int]:
        return {step: i for i, step in enumerate(self.order)}

    def _rank(self, task: Task) -> int:
        """The flow place of the step an element belongs to (-1: none, runs first): the
        longest step id after the kind, alone or followed by ``_``."""
        kind, _, rest = (task.task_spec.bpmn_id or "").partition("_")
        if kind not in _KINDS:
            return -1
        owners = [s for s in self._places if rest == s or rest.startswith(s + "_")]
        return self._places[max(owners, key=len)] if owners else -1

    def will_complete(self, task: Task) -> None:
        extensions = getattr(task.task_spec, "extensions", {})
        if isinstance(task.task_spec, (IntermediateThrowEvent, EndEvent)):
            for source, target in extensions.get("outputs", ()):
                match = _LITERAL.match(source)
                if match is None:
                    raise HarnessError(f"{task.task_spec.bpmn_id}: {source!r} is not a literal")
                _set(self.engine.data, target, _unescape(match["text"]))
            if extensions.get("compensate") is not None:
                self.engine.compensate(task, extensions["compensate"])

    def did_complete(self, task: Task) -> None:
        spec = task.task_spec
        if spec.bpmn_id is None or task.state != TaskState.COMPLETED:
            return
        trace = self.engine.trace
        if spec.bpmn_id.startswith(("Wait_", "End_")) or isinstance(spec, _UserTask):
            trace.append(_step_of(spec.bpmn_id) or spec.bpmn_id)
        if (when := _WHEN.match(spec.bpmn_id)) is not None and any(
                (child.task_spec.bpmn_id or "").startswith(_TAIL_ENTRIES) for child in task.children):
            trace.append(when["step"])  # a conditional end step: its split took the flow to a tail
        if isinstance(spec, BoundaryEvent) and isinstance(spec.event_definition,
                                                          TimerEventDefinition):
            step = _step_of(spec.extensions.get("attached_to"))
            if step is not None and step not in trace:  # a user task that timed out
                trace.append(step)
        if isinstance(spec, _JobTask) and spec.bpmn_id in self.engine.undos:
            self.engine.completed.append(spec.bpmn_id)
        if isinstance(spec, EndEvent):
            self.end = (spec.bpmn_id, copy.deepcopy(self.engine.data))

    def _ready(self, manual: bool) -> list[Task]:
        tasks: list[Task] = self.workflow.get_tasks(state=TaskState.READY, manual=manual)
        if manual:
            tasks = [t for t in tasks if _step_of(t.task_spec.bpmn_id) not in self.engine.timeouts]
        return sorted(tasks, key=self._rank)  # stable: SpiffWorkflow's order among equals

    def run_one(self) -> bool:
        """Run the ready element of the earliest step; False when none is ready."""
        ready = self._ready(manual=False)
        if not ready:
            return False
        task = ready[0]
        self.will_complete(task)
        task.run()
        self.did_complete(task)
        return True

    def complete_user(self) -> bool:
        """Complete the ready user task of the earliest step; False when none is ready."""
        ready = self._ready(manual=True)
        if not ready:
            return False
        task = ready[0]
        step = _step_of(task.task_spec.bpmn_id) or task.task_spec.bpmn_id
        result = _nested(self.user_data.get(step, {}))
        outputs = task.task_spec.extensions.get("outputs", ())
        _apply_outputs(self.engine.data, self.engine.data, result, outputs)
        task.run()
        self.did_complete(task)
        return True

    def run(self, rounds: int = 20_000) -> Run:
        for _ in range(rounds):
            if self.workflow.is_completed():
                return self._result()
            if self.run_one():
                continue
            self.workflow.refresh_timers()  # fast-forwarded: due at once
            if self._ready(manual=False) or self.complete_user():
                continue
            break
        raise HarnessError(self._stuck())

    def _result(self) -> Run:
        if self.end is None:
            raise HarnessError("the process completed without reaching an end event")
        end_id, data = self.end
        outcome = data.get("outcome")
        return Run(list(self.engine.trace), data, outcome if isinstance(outcome, str) else None,
                   end_id, list(self.engine.compensated))

    def _stuck(self) -> str:
        waiting = [t.task_spec.bpmn_id or t.task_spec.name
                   for t in self.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)]
        events = [e.event_definition.code for e in self.workflow.get_events()
                  if isinstance(e.event_definition, ErrorEventDefinition)]
        return f"the process does not finish; open: {waiting}; uncaught errors: {events}"


def parse_bpmn(bpmn_xml: bytes, process_id: str) -> Any:
    """The SpiffWorkflow process spec of ``process_id``, parsed as :func:`run_bpmn` parses it
    (its compensation handlers checked too); raises if SpiffWorkflow cannot parse it."""
    _undos(bpmn_xml, process_id)
    parser = _Parser()
    parser.add_bpmn_str(bpmn_xml)
    return parser.get_spec(process_id)


def run_bpmn(bpmn_xml: bytes, process_id: str, handlers: Mapping[str, Handler],
             inputs: Mapping[str, Any], evaluate: Evaluate | None = None, *,
             conditions: Mapping[str, ir.Condition] | None = None, feel: Feel | None = None,
             user_data: Mapping[str, Mapping[str, Any]] | None = None,
             timeouts: Collection[str] = (), order: Sequence[str] = ()) -> Run:
    """Run one instance of ``process_id`` to its end and report the steps it ran (in order),
    the final data and the outcome.

    ``handlers``: job type -> callable(:class:`Job`) -> result (dotted keys allowed) or raises
    :class:`BusinessError` or any other exception (a technical failure), compensation handlers
    included; ``inputs``: the start variables (dotted keys allowed);
    ``evaluate(condition, data)``: decides a condition found by its FEEL text in
    ``conditions``, or else ``feel(text, data)`` evaluates every condition as written (a
    staff decision's too); ``user_data``: step id -> the data its user task completes with;
    ``timeouts``: step ids whose timeout fires; ``order``: the step ids in flow order (which
    ready element runs first).
    """
    if (evaluate is None) == (feel is None):
        raise ValueError("give evaluate (with conditions) or feel")
    engine = _Engine(handlers, conditions or {}, evaluate, timeouts,
                     _undos(bpmn_xml, process_id), _nested(inputs), feel)
    workflow = BpmnWorkflow(parse_bpmn(bpmn_xml, process_id), script_engine=engine)
    return _Runner(workflow, engine, user_data or {}, order).run()


# productkit's job worker ------------------------------------------------------------------

_PARAM = "productkit.param."


def productkit_worker(defn: ir.WorkflowDefinition, handlers: runtime.Handlers,
                      application_id: str = "bpmn") -> dict[str, Handler]:
    """Handlers for :func:`run_bpmn` that run the embedded engine's ``handlers`` the way
    productkit's Zeebe job worker does (see the convention in ``productkit.targets.bpmn``): the
    step from the ``productkit.step`` header, its parameters from the ``productkit.param.*``
    headers, its inputs (and, compensating, its outputs) under the component's names from the
    job's variables, the attempt from the retries left. A business error the step declares is
    thrown as the BPMN error of its code, any other as ``productkit.failed``; the job completes
    with the component's declared outputs only, and fails at once with ``productkit.failed``
    when one is missing or of the wrong type (as the embedded engine fails the step without
    another attempt)."""

    def work(job: Job) -> Mapping[str, Any]:
        step = defn.steps.get(job.step or "")
        fn = handlers.get(job.type)
        if step is None or fn is None:
            raise HarnessError(f"{job.element}: no step {job.step!r} or no handler {job.type!r}")
        attempts = step.retry.max_attempts if step.retry else 1
        params = {key.removeprefix(_PARAM): _values.param_value(ir.ParamValue(**json.loads(text)))
                  for key, text in job.headers.items() if key.startswith(_PARAM)}
        names = (*step.inputs, *(step.outputs if job.compensating else ()))
        found = {name: value for name in names
                 if (value := _lookup(job.variables, name)) is not None}
        call = runtime.StepCall(
            application_id, defn.id, defn.version, str(job.variables.get(CHANNEL_VARIABLE)),
            step.id, job.type, job.headers.get("productkit.component"),
            {c: found[c] for c in step.inputs if c in found}, params,
            f"{application_id}/{step.id}" + ("/compensate" if job.compensating else ""),
            max(1, attempts - job.retries + 1), job.compensating,
            {c: found[c] for c in step.outputs if c in found and job.compensating})
        try:
            value = fn(call)
            if inspect.isawaitable(value):
                value = asyncio.run(_awaited(value))
        except runtime.BusinessError as err:  # one the step does not declare fails it
            code = err.code if err.code in step.errors or job.compensating else FAILED_ERROR
            raise BusinessError(code) from err
        if job.compensating:
            return {}
        return _declared(defn, step, value or {})

    return {name: work for name in sorted(
        {s.handler for s in defn.steps.values() if s.kind == "service" and s.handler}
        | {s.compensation.handler for s in defn.steps.values() if s.compensation})}


async def _awaited(value: Any) -> Any:
    return await value


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    try:
        return _get(data, path)
    except KeyError:
        return None


def _declared(defn: ir.WorkflowDefinition, step: ir.Step, raw: Mapping[str, Any]) -> Data:
    """The component's declared outputs in ``raw`` (by component or product path); raises
    ``productkit.failed`` when a required one is missing or one is not of its type."""
    out: Data = {}
    for cpath, dpath in step.outputs.items():
        value = raw.get(cpath, raw.get(dpath))
        fd = defn.data.get(dpath)
        if value is None:
            if fd is not None and fd.required:
                raise BusinessError(FAILED_ERROR)
            continue
        if fd is not None:
            try:
                _values.coerce(fd, value)
            except _values.Problem as exc:
                raise BusinessError(FAILED_ERROR) from exc
        out[cpath] = value
    return out


# checks from outside -----------------------------------------------------------------------

@functools.cache
def bpmn_schema() -> etree.XMLSchema:
    """The OMG BPMN 2.0 XSD (the copy SpiffWorkflow ships)."""
    xsd = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


@functools.cache
def _npx() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot run bpmnlint (Camunda 8.6 rules)")
    if not (LINT_DIR / "node_modules" / "bpmnlint").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=LINT_DIR, check=True,
                       capture_output=True)
    npx = shutil.which("npx")
    assert npx is not None, "npm is installed without npx"
    return npx


def bpmnlint(files: Iterable[Path], *options: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned bpmnlint (``tools/bpmnlint``: recommended and camunda-cloud-8-6 rules)
    once on ``files``; skips the test when npm is missing."""
    return subprocess.run([_npx(), "--no", "--", "bpmnlint", "-c", ".bpmnlintrc", *options,
                           *map(str, files)], cwd=LINT_DIR, capture_output=True, text=True)


# FEEL ---------------------------------------------------------------------------------------

_FEEL_SERVER = r"""
const { evaluate } = require('feelin');
const lines = require('readline').createInterface({ input: process.stdin, terminal: false });
lines.on('line', (line) => {
  const { expr, context } = JSON.parse(line);
  let out;
  try {
    const result = evaluate(expr, context);
    out = { value: result.value === undefined ? null : result.value };
  } catch (e) {
    out = { error: String(e && e.message) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
"""


class FeelInterpreter:
    """FEEL expressions evaluated by feelin (the bpmn.io FEEL interpreter, ``tools/feel``) in
    one Node.js process, one line of JSON each way. feelin computes with binary doubles where
    Zeebe's FEEL uses BigDecimal: exact for the amounts scenarios use."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen([node, "-e", _FEEL_SERVER], cwd=FEEL_DIR, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      encoding="utf-8", bufsize=1)
        self._lock = threading.Lock()
        atexit.register(self.close)

    def __call__(self, expression: str, context: Mapping[str, Any]) -> Any:
        """The value of ``expression`` (without the leading ``=``) in ``context``; FEEL null
        is None; HarnessError when feelin cannot evaluate it."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            self._proc.stdin.write(json.dumps({"expr": expression, "context": context}) + "\n")
            self._proc.stdin.flush()
            answer = json.loads(self._proc.stdout.readline() or '{"error": "feelin exited"}')
        if "error" in answer:
            raise HarnessError(f"FEEL {expression!r}: {answer['error']}")
        return answer["value"]

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=10)


@functools.cache
def feel() -> FeelInterpreter:
    """The shared FEEL interpreter; skips the test when Node.js or npm is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed to run the FEEL interpreter (tools/feel)")
    if not (FEEL_DIR / "node_modules" / "feelin").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=FEEL_DIR,
                       check=True, capture_output=True, timeout=300)
    return FeelInterpreter(node)
