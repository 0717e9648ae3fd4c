"""Run emitted BPMN on a second engine, SpiffWorkflow 3.2, the way Zeebe would run it.

* A service task reads ``zeebe:taskDefinition/@type`` and calls the Python handler registered
  under that type with the job's variables (process data plus its input mappings). A handler
  returns the job result, or raises :class:`BusinessError`, which is thrown as a BPMN error
  with that code and must be caught by an error boundary event.
* A user task is completed with the data given for its step id (a field left out is null, as
  in Zeebe; for a staff step that may include the error code at its ``error_path``).
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
  are ``Run.compensated``.
* Timers are fast-forwarded: a wait fires at once; a timeout fires only for the steps listed in
  ``timeouts`` (whose job or user task then never completes).
* Nothing is evaluated with Python ``eval``: a gateway condition is looked up by its FEEL text
  in ``conditions`` and decided by the ``evaluate`` callable, except the decision on a staff
  step's error code, ``=<data path> = "<code>"``, which compares the value at the path with
  the string; event output mappings may only assign string literals.

Element ids follow the emitter's convention: ``Task_<step>``, ``Wait_<step>``, ``End_<step>``
mark the elements that run a step.

The checks from outside live here too: the OMG BPMN 2.0 XSD (:func:`bpmn_schema`) and the
pinned bpmnlint with Camunda's 8.6 rules (:func:`bpmnlint`).
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
from collections.abc import Callable, Collection, Iterable, Mapping
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

from productkit import ir

__all__ = ["BusinessError", "HarnessError", "Run", "bpmn_schema", "bpmnlint", "conditions_of",
           "parse_bpmn", "run_bpmn"]

Data = dict[str, Any]
Handler = Callable[[Data], Mapping[str, Any]]
Evaluate = Callable[[ir.Condition, Mapping[str, Any]], bool]
Mappings = tuple[tuple[str, str], ...]

ZEEBE = "http://camunda.org/schema/zeebe/1.0"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_NS = {"zeebe": ZEEBE, "bpmn": BPMN}
_STEP = re.compile(r"^(?:Task|Wait|End)_(?P<step>[a-z][a-z0-9_-]*)$")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_PATH = re.compile(rf"^=(?P<path>{_NAME})$")
_LITERAL = re.compile(r'^="(?P<text>(?:[^"\\]|\\.)*)"$')
_EQUALS = re.compile(rf'^=(?P<path>{_NAME}) = "(?P<text>(?:[^"\\]|\\.)*)"$')
_COMPENSATE = "bpmn:compensateEventDefinition"
_NEVER, _NOW = "P1D", "PT0S"
LINT_DIR = Path(__file__).parent.parent / "tools" / "bpmnlint"


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
    compensated: list[str] = field(default_factory=list)  # steps undone, in order


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


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _apply_outputs(data: Data, local: Data, result: Data, outputs: Mappings, where: str,
                   missing_is_null: bool = False) -> None:
    """Zeebe's output semantics: each mapping sets one path from the element's scope (the
    result over its local variables); with no mapping the result's top-level variables
    replace the process's (local variables stay local). A missing source is an error, or
    null with ``missing_is_null`` (a form field left empty)."""
    if not outputs:
        data.update(copy.deepcopy(result))
        return
    scope = {**local, **result}
    for source, target in outputs:
        try:
            _set(data, target, _get(scope, _source(source)))
        except KeyError as exc:
            if not missing_is_null:
                raise HarnessError(f"{where}: output mapping source {source} is missing") from exc
            _set(data, target, None)


def _map_inputs(data: Data, inputs: Mappings, where: str) -> Data:
    """The variables of a job: the process data plus its input mappings."""
    variables = copy.deepcopy(data)
    for source, target in inputs:
        try:
            _set(variables, target, _get(data, _source(source)))
        except KeyError as exc:  # Zeebe raises an incident
            raise HarnessError(f"{where}: input {source} is missing") from exc
    return variables


# parsing ----------------------------------------------------------------------------------

def _mappings(node: etree._Element, kind: str) -> Mappings:
    found = node.xpath(f"./*/zeebe:ioMapping/zeebe:{kind}", namespaces=_NS)
    return tuple((m.get("source"), m.get("target")) for m in found)


def _is_compensation(node: etree._Element) -> bool:
    return bool(node.xpath(f"./{_COMPENSATE}", namespaces=_NS))


@dataclass(frozen=True)
class _Undo:
    """The compensation handler of one activity, as the BPMN declares it."""

    handler: str  # the handler's element id
    job_type: str
    inputs: Mappings
    outputs: Mappings


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
        job = node.xpath("./*/zeebe:taskDefinition/@type", namespaces=_NS)
        if etree.QName(node).localname != "serviceTask" or not job:
            raise HarnessError(f"{links[0]}: not a service task with a job type")
        activity = boundary.get("attachedToRef")
        if activity in out:
            raise HarnessError(f"{activity}: two compensation boundary events")
        out[activity] = _Undo(links[0], str(job[0]), _mappings(node, "input"),
                              _mappings(node, "output"))
    return out


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
    """A user task that tells the harness when it is activated (it may time out at once)."""

    def _on_ready_hook(self, my_task: Task) -> None:
        super()._on_ready_hook(my_task)
        engine: _Engine = my_task.workflow.script_engine
        engine.trace.append(_step_of(self.bpmn_id) or self.bpmn_id)


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
    decide: Evaluate
    timeouts: Collection[str]
    undos: Mapping[str, _Undo] = field(default_factory=dict)  # activity -> its handler
    trace: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)  # compensable activities, in order
    compensated: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def evaluate(self, task: Task, expression: str, external_context: Any = None) -> Any:
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            return self._timer(task, expression)
        cond = self.conditions.get(expression[1:]) if expression.startswith("=") else None
        if cond is None and (match := _EQUALS.match(expression)) is not None:
            try:  # a staff step's error code: FEEL null (no code) equals no string
                value = _get(task.data, match["path"])
            except KeyError:
                value = None
            return value == _unescape(match["text"])
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
        variables = _map_inputs(task.data, spec.job_inputs, spec.bpmn_id)
        try:
            result = _nested(self.handlers[spec.job_type](variables))
        except BusinessError as err:
            ErrorEventDefinition(err.code, code=err.code).throw(task)
            return None  # interrupted by the error boundary event, if one catches the code
        _apply_outputs(task.data, variables, result, spec.job_outputs, spec.bpmn_id)
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
            if undo.job_type not in self.handlers:
                raise HarnessError(f"no handler for job type {undo.job_type!r}")
            variables = _map_inputs(task.data, undo.inputs, undo.handler)
            try:
                result = _nested(self.handlers[undo.job_type](variables))
            except BusinessError as err:  # no boundary event can catch it: an incident
                raise HarnessError(f"{undo.handler} threw {err.code}") from err
            _apply_outputs(task.data, variables, result, undo.outputs, undo.handler)
            self.compensated.append(step)


# the run loop -----------------------------------------------------------------------------

@dataclass
class _Runner:
    workflow: BpmnWorkflow
    engine: _Engine
    user_data: Mapping[str, Mapping[str, Any]]
    end: tuple[str, Data] | None = None

    def will_complete(self, task: Task) -> None:
        extensions = getattr(task.task_spec, "extensions", {})
        if isinstance(task.task_spec, (IntermediateThrowEvent, EndEvent)):
            for source, target in extensions.get("outputs", ()):
                match = _LITERAL.match(source)
                if match is None:
                    raise HarnessError(f"{task.task_spec.bpmn_id}: {source!r} is not a literal")
                _set(task.data, target, _unescape(match["text"]))
            if extensions.get("compensate") is not None:
                self.engine.compensate(task, extensions["compensate"])

    def did_complete(self, task: Task) -> None:
        spec = task.task_spec
        if spec.bpmn_id is None or task.state != TaskState.COMPLETED:
            return
        if spec.bpmn_id.startswith(("Wait_", "End_")):
            self.engine.trace.append(_step_of(spec.bpmn_id) or spec.bpmn_id)
        if isinstance(spec, _JobTask) and spec.bpmn_id in self.engine.undos:
            self.engine.completed.append(spec.bpmn_id)
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
            _apply_outputs(task.data, task.data, result, outputs, task.task_spec.bpmn_id,
                           missing_is_null=True)
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
             inputs: Mapping[str, Any], evaluate: Evaluate, *,
             conditions: Mapping[str, ir.Condition],
             user_data: Mapping[str, Mapping[str, Any]] | None = None,
             timeouts: Collection[str] = ()) -> Run:
    """Run one instance of ``process_id`` to its end and report the steps it ran (in order),
    the final data and the outcome.

    ``handlers``: job type -> callable(variables) -> result (dotted keys allowed) or raises
    :class:`BusinessError`, compensation handlers included; ``inputs``: the start variables
    (dotted keys allowed);
    ``evaluate(condition, data)``: decides a condition found by its FEEL text in
    ``conditions``; ``user_data``: step id -> the data its user task completes with;
    ``timeouts``: step ids whose timeout fires.
    """
    engine = _Engine(handlers, conditions, evaluate, timeouts, _undos(bpmn_xml, process_id))
    workflow = BpmnWorkflow(parse_bpmn(bpmn_xml, process_id), script_engine=engine)
    workflow.get_next_task(state=TaskState.READY).data.update(_nested(inputs))
    return _Runner(workflow, engine, user_data or {}).run()


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
