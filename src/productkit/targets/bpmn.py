"""The BPMN target: one BPMN 2.0 document for Camunda 8.6 (Zeebe) per workflow definition.

How the workflow definition maps to BPMN (element ids derive from step ids, so they are stable):

============================  ===============================================================
workflow definition           BPMN
============================  ===============================================================
sequence flows                ``F<n>``, numbered in the order of the process
the product version           one executable process ``<id>_v<version>``, ``zeebe:versionTag``
flow start / normal end       none start event ``StartEvent``; none end event
                              ``EndEvent_completed`` that sets ``outcome = "completed"``
service step                  ``Task_<step>``: serviceTask, ``zeebe:taskDefinition`` (type =
                              handler, retries = max attempts), ``zeebe:taskHeaders`` (the step
                              id ``productkit.step``, component, retry backoff, parameters as
                              JSON), ``zeebe:ioMapping`` (inputs whose names differ, every output)
technical failure of a        boundary ``Failed_<step>`` on every service task,
service step                  catching the BPMN error ``productkit.failed`` (see below); follows
                              the step's ``productkit.failed`` route when it has one (``goto``
                              or ``end``, as a business error; the timeout boundary too), else
                              ends ``failed`` (the shared end tail of ``failed``, below); a step
                              that is not ``critical`` goes on instead: the boundary (and its
                              timeout's) flows to ``Gateway_<step>_continue`` after the task
user step (customer, staff)   ``Task_<step>``: userTask with ``zeebe:userTask``, a form reference
                              per channel, candidate groups, the due date (``zeebe:taskSchedule``
                              ``dueDate = now() + duration``), one output mapping per form field
wait step                     ``Wait_<step>``: timer intermediate catch event (timeDuration)
end step                      ``Outcome_<step>`` (sets ``outcome``) then terminate end event
                              ``End_<step>`` named after the outcome; an end step with a
                              condition instead jumps from its split to the shared end tail of
                              its outcome, message and the steps it compensates (below)
``when``                      ``Gateway_<step>_when`` (condition flow, default ``skip``) and
                              ``Gateway_<step>_skip``; an end step keeps only the split
parallel block                ``Fork_<a>`` and ``Join_<a>`` (a: the step the first branch starts
                              with; when it starts with a block, the first step of each branch
                              joined by ``_``)
routed business error         boundary ``Catch_<step>_<code>`` on the task; ``end``: to the shared
                              end tail of that outcome; ``goto``: to ``Gateway_<target>_goto``
                              before the target; unrouted: ends ``failed``
shared end tail               one per outcome and message an error route (``end``, technical
                              failure, timeout) ends with, ``<tail>`` = ``_<outcome>_<n>``:
                              ``Gateway_<tail>`` (where the routes converge, when more than one
                              does), ``Outcome_<tail>`` (sets ``outcome``, the message as its
                              documentation), the compensations, the finally steps, terminate
                              end ``EndEvent_<tail>``; drawn right of the process
business error of a user      the employee submits the code at ``error_path`` (a form field):
step (``error_path``)         after the task ``Gateway_<step>_decision``, one flow per code
                              (``=<error_path> = "<code>"``) routed as above, default: go on
finally steps                 in every way the process ends (after the event that sets
(``finally_steps``)           ``outcome`` and the compensations, before the terminate end; at
                              the normal end after ``Outcome__completed``): a copy
                              ``Finally_<end key>_<step>`` of each (end key: the end step, the
                              tail, ``_completed``), in order, under its condition
                              (``Gateway_<end key>_<step>_when``), whose ``productkit.failed``
                              and timeout boundaries go on (``Gateway_<end key>_<step>_continue``)
step timeout                  interrupting timer boundary ``Timeout_<step>``, ends ``failed``
                              (the shared end tail); a service step that is not ``critical``
                              goes on, as above
compensation of a service     boundary ``Compensation_<step>`` (compensateEventDefinition),
step                          associated (``Association_<step>_undo``) with the compensation
                              handler ``Undo_<step>``: serviceTask ``isForCompensation``, job
                              type = compensation handler, the step's retries, headers (with
                              ``productkit.step`` and ``productkit.compensates`` = the step id)
                              and inputs, plus its outputs under the component's names
an end whose outcome is in    after the outcome event, one compensation throw event
``compensate_on``             ``Compensate_<end>_<step>`` (``activityRef="Task_<step>"``) per
                              compensable step, last first, then the terminate end: at an end
                              step and the normal end, each that may have completed by then; in
                              a shared tail, which any route may reach, each
============================  ===============================================================

The job workers' convention. One job type (handler) may serve several steps with different
parameters: a worker reads the step from the header ``productkit.step`` (and the parameters
from ``productkit.param.*``). It completes a job with the component's declared outputs only
(without output mappings Zeebe would merge whatever else it returned into the process). A
business error the step declares is thrown as the BPMN error of that code. A technical failure
fails the job, so Zeebe retries it; on the job's last attempt (``retries`` = 1) the worker
throws the BPMN error ``productkit.failed`` (:data:`FAILED_ERROR`) instead, which the task's
boundary event routes to the ``failed`` end (or past the task, for a step that is not
critical), as the embedded engine ends an application whose handler keeps failing. (Zeebe
itself would raise an incident.) So does the worker, at once, for a business error the step
does not declare and for outputs missing or not of their declared type, which the embedded
engine also treats as the step failing. The worker of a compensation handler throws nothing:
no boundary event can catch it there, and an incident waits for an operator where the
embedded engine marks the application as needing attention.

Compensation is thrown per activity, not process-wide: Zeebe invokes the handlers of a
process-wide compensation all at once in no order, while the workflow definition undoes the
last step first. A throw event waits for its handler, and one whose activity did not complete
(skipped, jumped over, still running) does nothing, so the chain undoes exactly the completed
steps, newest first. Steps in concurrent parallel branches have no order between them; they
are undone in reverse flow order. End steps no compensable step can precede get no throw events.

The error routes that end alike (same outcome, same message) converge on one shared end tail:
the chain of outcome event, compensations, finally steps and terminate end is written once per
way of ending, not once per route (it was most of a file). Each route's token runs it as it ran
its own copy; the compensation throws it holds for steps that did not complete on that route do
nothing, so each route still undoes exactly what completed before it.

Decimals in Zeebe. Zeebe keeps a JSON number as a double, so decimal, percent and money
variables travel as exact text, e.g. ``"182105.03"``: forms submit them so, job workers
complete jobs with them so, a channel starts a process with them so, and every output and
input mapping copies the text unchanged. Conditions read such a variable through FEEL's
``number()``, which parses the text exactly (``number()`` of a JSON number is null, so a
decimal sent as a number makes the condition null: an incident, never a wrong branch). Dates
are ISO text too, read through ``date()``.

Conditions are written as Zeebe expressions, ``=`` followed by the FEEL translation of the CEL
(:mod:`.feel`); a condition without a FEEL form cannot be written and is reported (PK501), as is
anything else BPMN cannot say. The output is deterministic: the same definition gives the same bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Severity
from ..ir import FAILED_CODE, Condition, Flow, Label, Parallel, Step, WorkflowDefinition
from ..options import Options
from ._bpmn_xml import Document, write
from ._bpmn_xsd import xsd_problems
from ._graph import Edge, El, Node
from ._layout import (
    CompensationRoute,
    EndBranch,
    EndRoute,
    Frag,
    GotoBranch,
    GotoRoute,
    Row,
    chain,
    decision,
    flow_id,
    make_node,
    parallel,
    place_row,
    rejoin,
    row_of,
    sequence,
    single,
    task_with_routes,
    when,
    with_tails,
)
from ._zeebe import (
    STEP_HEADER,
    duration,
    field_outputs,
    headers,
    io_mapping,
    output,
    task_definition,
    undo_inputs,
)
from .base import BuildView, EmitContext, Emitted, Target, register
from .feel import FeelScope

__all__ = ["CHANNEL_VARIABLE", "FAILED_ERROR", "OUTCOME_VARIABLE", "STEP_HEADER", "BpmnTarget",
           "emit_bpmn", "form_reference", "process_id"]

OUTCOME_VARIABLE = "outcome"
CHANNEL_VARIABLE = "channel"
FAILED_ERROR = FAILED_CODE  # BPMN error a worker throws when a job's last attempt fails
FAILED = "failed"
COMPLETED = "completed"
_MARGIN_X, _MARGIN_Y = 152, 80


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_START = re.compile(r"[A-Za-z_]")


@functools.lru_cache(maxsize=1 << 16)  # a build names the same few thousand elements again and again
def _ncname(text: str) -> str:
    """``text`` as a valid XML id: unexpected characters become ``_``."""
    safe = _UNSAFE.sub("_", text)
    return safe if _START.match(safe) else "_" + safe


def _eid(*parts: str) -> str:
    """An element id from its kind and the step (and error code) it expresses."""
    return _ncname("_".join(parts))


def process_id(defn: WorkflowDefinition) -> str:
    """The BPMN process id (Zeebe's bpmnProcessId) of a product version."""
    return _ncname(f"{defn.id}_v{defn.version}")


def form_reference(defn: WorkflowDefinition, step: Step) -> str:
    """The ``zeebe:formDefinition/@externalReference`` of a user step: the step's form on the
    channel of the application (a FEEL expression when the step runs on several channels)."""
    base = f"productkit:form:{defn.id}@{defn.version}:{step.id}"
    if len(step.channels) == 1:
        return f"{base}:{step.channels[0]}"
    return f'="{_feel_escape(base)}:" + {CHANNEL_VARIABLE}'


def _feel_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _feel_string(text: str) -> str:
    return f'="{_feel_escape(text)}"'


@dataclass
class _Ctx(EmitContext):
    language: str = "zh-CN"
    errors: set[str] = field(default_factory=set)
    scope: dict[str, frozenset[str]] = field(default_factory=dict)  # step -> legal goto targets
    where: tuple[str | int, ...] = ("flow",)  # path of the flow item being expressed
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)  # step -> place in flow
    compensable: tuple[str, ...] = ()  # service steps with a compensation, in flow order
    feel: FeelScope | None = None  # translates the definition's CEL conditions
    draft: bool = False  # composed for its problems only: no Zeebe extensions (they report none)
    # the shared end tails: (outcome, message, steps compensated) -> the jump target naming it
    tails: dict[tuple[str, str | None, tuple[str, ...]], str] = field(default_factory=dict)

    def label(self, label: Label | None, fallback: str) -> str:
        if label is None:
            return fallback
        return label.zh_CN if self.language == "zh-CN" else label.en


@register
class BpmnTarget(Target[_Ctx, Frag]):
    """BPMN 2.0 for Camunda 8.6; names in the options' label language (``zh-CN`` or ``en``)."""

    name = "bpmn"
    suffix = ".bpmn"
    description = "BPMN 2.0 with Zeebe extensions, for Camunda 8"

    def verify(self, files: Mapping[str, bytes], build: BuildView | None = None) -> Iterator[tuple[str, str]]:
        """Every file is valid against the OMG BPMN 2.0 XML Schema."""
        return xsd_problems(files)

    def emit(self, defn: WorkflowDefinition) -> Emitted:
        ctx, whole = self._composed(defn)
        nodes, edges = whole.moved(_MARGIN_X, whole.up + _MARGIN_Y).drawn()
        _check_ids(nodes, edges, ctx)
        return ctx.finish(write(self._document(defn, nodes, _numbered(edges), ctx)))

    def problems(self, defn: WorkflowDefinition) -> tuple[Diagnostic, ...]:
        """What :meth:`emit` reports, without placing or writing anything (``validate`` asks
        this): the elements are checked where the composition left them."""
        ctx, whole = self._composed(defn, draft=True)
        _check_ids(*whole.parts(), ctx)
        return tuple(ctx.diagnostics)

    def _composed(self, defn: WorkflowDefinition, draft: bool = False) -> tuple[_Ctx, Frag]:
        """The process as one composed fragment, and the context holding its problems."""
        ctx = _Ctx(defn, self.name, output=self.location(defn), language=self.options.language,
                   feel=FeelScope.of_definition(defn), draft=draft)
        ctx.positions = _positions(defn.flow)
        ctx.compensable = tuple(s for s in ctx.positions if s in defn.steps
                                and defn.steps[s].kind == "service"
                                and defn.steps[s].compensation is not None)
        start = single(make_node("StartEvent", "startEvent", "start"))
        body = self._sequence(defn.flow, ctx, ("flow",))
        parts = [start] if body is None else [start, body]
        if parts[-1].exit is not None:
            parts.extend(single(n) for n in _compensations(ctx, (COMPLETED,), _undone(ctx, None, COMPLETED)))
            if defn.finally_steps:  # the outcome is set first: the finally steps' conditions read it
                parts.append(single(_outcome_setter(("", COMPLETED), COMPLETED, None)))
                parts.extend(self._finally_block(ctx, ("", COMPLETED)))
            parts.append(single(_outcome_end("EndEvent_completed", COMPLETED)))
        whole = self._with_tails(chain(parts).closed(), ctx)
        if whole.gotos:
            ctx.problem("an error route jumps to a step outside its sequence", "flow", code="PK900")
        return ctx, whole

    def _with_tails(self, main: Frag, ctx: _Ctx) -> Frag:
        """The process and, right of it, the shared end tails its error routes jump to."""
        if not ctx.tails:
            return main
        tails = [(target, self._tail(ctx, target, *spec)) for spec, target in ctx.tails.items()]
        return with_tails(main, tails, _tail_merge)

    def _tail(self, ctx: _Ctx, target: str, outcome: str, message: str | None,
              undone: tuple[str, ...]) -> Frag:
        """One shared end tail: ``Outcome_<tail>`` sets ``outcome``, the compensations, the
        finally steps, the terminate end ``EndEvent_<tail>``; nothing flows on after it."""
        key = (target,)
        setter = _outcome_setter(key, outcome, message)
        end = make_node(_eid("EndEvent", target), "endEvent", outcome,
                        body=(El("bpmn:terminateEventDefinition"),))
        undo = _compensations(ctx, key, undone)
        if not ctx.defn.finally_steps:
            return row_of((setter, *undo, end)).closed()
        return chain([single(setter), *map(single, undo), *self._finally_block(ctx, key),
                      single(end)]).closed()

    def _end_tail(self, ctx: _Ctx, at: str, outcome: str, message: str | None,
                  undone: tuple[str, ...] | None = None) -> str:
        """The jump target of the shared tail that ends with ``outcome`` from step ``at``: one
        per outcome, message and compensated steps (by default every compensable step: an
        error route may come from anywhere), so routes that end alike converge."""
        spec = (outcome, message, _undone(ctx, None, outcome) if undone is None else undone)
        if spec not in ctx.tails:
            n = 1 + sum(1 for o, _, _ in ctx.tails if o == outcome)
            ctx.tails[spec] = f"#{outcome}#{n}"
        return ctx.tails[spec]

    def _document(self, defn: WorkflowDefinition, nodes: tuple[Node, ...],
                  edges: tuple[Edge, ...], ctx: _Ctx) -> Document:
        doc = f"productkit workflow {defn.id}@{defn.version}"
        doc += f" ({defn.digest})" if defn.digest else ""
        doc += f" from {defn.source}" if defn.source else ""
        return Document(process_id(defn), ctx.label(defn.name, defn.id), nodes, edges,
                        tuple((_eid("Error", c), c) for c in sorted(ctx.errors)),
                        (El("zeebe:versionTag", (("value", defn.version),)),), doc)

    # sequences ----------------------------------------------------------------------------

    def _sequence(self, flow: Flow, ctx: _Ctx, path: tuple[str | int, ...]) -> Frag | None:
        """A flow (the main one or a branch): its items one after the other."""
        # A jump may land on a later step of this sequence, or on the first step of a branch of
        # a later parallel block: it enters the block (its other branches run too, as they do
        # on the embedded engine, which bypasses only the steps before the target).
        entries = [_entries(item) for item in flow]
        for i, item in enumerate(flow):
            if isinstance(item, str):
                ctx.scope[item] = frozenset(s for later in entries[i + 1:] for s in later)
        aliases = {s: _key(item) for item, firsts in zip(flow, entries, strict=True) for s in firsts}
        items: list[tuple[str | None, Frag]] = []
        flowing, jumped = True, set[str]()
        for index, item in enumerate(flow):
            key = _key(item)
            if not flowing and key not in jumped:
                ctx.problem(f"{_what(item)} can never run: the flow ended before it", *path, index)
                continue
            ctx.where = (*path, index)
            frag = self.node(item, ctx)
            if frag is None:
                continue
            items.append((key, frag))
            jumped |= {aliases.get(g.target) or g.target for g in frag.gotos}
            flowing = frag.exit is not None
        if not items:
            return None
        return sequence(items, _goto_merge, aliases=aliases)

    # steps --------------------------------------------------------------------------------

    def step_service(self, step: Step, ctx: _Ctx) -> Frag:
        if not step.handler:
            ctx.problem(f"service step '{step.id}' has no handler (the job type)",
                        "steps", step.id, "handler")
        extensions = _job(step, ctx)
        task = make_node(_eid("Task", step.id), "serviceTask", ctx.label(step.title, step.id),
                         extensions=extensions)
        routes: list[EndRoute | GotoRoute | CompensationRoute] = [*self._routes(step, ctx)]
        if step.compensation is not None:
            routes.append(self._compensation(step, ctx))
        frag = task_with_routes(task, routes)
        if not step.critical:
            merge = make_node(_eid("Gateway", step.id, "continue"), "exclusiveGateway", None)
            frag = rejoin(frag, merge, _carry_on(step))
        return self._guard(step, frag, ctx)

    def step_user(self, step: Step, ctx: _Ctx) -> Frag:
        if step.errors and step.error_path is None:
            ctx.problem(f"user step '{step.id}' declares business errors but no error_path; a "
                        "Camunda user task cannot throw them", "steps", step.id, "errors",
                        hint="a staff step names the form field where the employee submits the "
                        "code (error_path)")
        if step.compensation is not None:
            ctx.problem(f"user step '{step.id}' declares the compensation handler "
                        f"'{step.compensation.handler}'; only service steps are compensated, so "
                        "the BPMN has no compensation for it", "steps", step.id, "compensation",
                        severity=Severity.WARNING)
        extensions = [El("zeebe:userTask"),
                      El("zeebe:formDefinition",
                         (("externalReference", form_reference(ctx.defn, step)),))]
        if step.candidate_groups:
            extensions.append(El("zeebe:assignmentDefinition",
                                 (("candidateGroups", ",".join(step.candidate_groups)),)))
        if step.due:
            extensions.append(El("zeebe:taskSchedule", (("dueDate", f'=now() + duration("{step.due}")'),)))
        extensions.extend(() if ctx.draft else field_outputs(step))
        task = make_node(_eid("Task", step.id), "userTask", ctx.label(step.title, step.id),
                         extensions=tuple(extensions))
        frag = task_with_routes(task, self._timeout(step, ctx))
        decide = self._decision(step, ctx) if step.errors and step.error_path else None
        return self._guard(step, frag if decide is None else chain([frag, decide]), ctx)

    def step_wait(self, step: Step, ctx: _Ctx) -> Frag:
        if not step.duration:
            ctx.problem(f"wait step '{step.id}' has no duration", "steps", step.id, "duration")
        if step.errors or step.timeout:
            ctx.problem(f"wait step '{step.id}' declares errors or a timeout, which a timer "
                        "event cannot have", "steps", step.id)
        if step.interruptible:
            undo = " and runs no compensation" if ctx.compensable and \
                "cancelled" in ctx.defn.compensate_on else ""
            undo += " and no finally step" if ctx.defn.finally_steps else ""
            ctx.problem(f"wait step '{step.id}' may be cancelled while it waits (interruptible), "
                        "but the BPMN has no cancel event: cancelling the Zeebe process instance "
                        f"ends it without the outcome 'cancelled'{undo}",
                        "steps", step.id, "interruptible", severity=Severity.INFO)
        timer = El("bpmn:timerEventDefinition", children=(duration(step.duration or ""),))
        event = make_node(_eid("Wait", step.id), "intermediateCatchEvent",
                          ctx.label(step.title, step.id), body=(timer,))
        return self._guard(step, single(event), ctx)

    def step_end(self, step: Step, ctx: _Ctx) -> Frag:
        if not step.outcome:
            ctx.problem(f"end step '{step.id}' has no outcome", "steps", step.id, "outcome")
        outcome = step.outcome or FAILED
        message = ctx.label(step.message, "") or None
        if step.when is None:
            row = self._outcome_row(ctx, (step.id,), step.id, outcome, message, _eid("End", step.id))
            return place_row(row).closed()
        # a conditional end jumps to the shared tail of its outcome, message and compensations
        feel = _feel(step.when, ctx, ("steps", step.id, "when"))
        split = make_node(_eid("Gateway", step.id, "when"), "exclusiveGateway", step.when.cel)
        tail = self._end_tail(ctx, step.id, outcome, message, _undone(ctx, step.id, outcome))
        return decision(split, [GotoBranch(feel, "yes", tail, _ncname(flow_id(split.id, "yes")))])

    def block_parallel(self, block: Parallel, ctx: _Ctx) -> Frag | None:
        where = ctx.where
        branches = [self._sequence(b, ctx, (*where, "parallel", i))
                    for i, b in enumerate(block.parallel) if b]
        present = [b for b in branches if b is not None]
        if len(present) < 2:
            return present[0] if present else None
        key = _block_key(block)
        fork = make_node(_eid("Fork", key), "parallelGateway", None)
        join = make_node(_eid("Join", key), "parallelGateway", None)
        return parallel(fork, join, present)

    # pieces -------------------------------------------------------------------------------

    def _outcome_row(self, ctx: _Ctx, key: tuple[str, ...], at: str, outcome: str, message: str | None,
                     end_id: str) -> Row:
        """An intermediate event ``Outcome_<key>`` that sets ``outcome`` (Zeebe applies no output
        mappings on a terminate end event), the compensations the outcome runs, the finally
        steps, then the terminate end event named after the outcome."""
        setter = _outcome_setter(key, outcome, message)
        end = make_node(end_id, "endEvent", outcome, body=(El("bpmn:terminateEventDefinition"),))
        undo = _compensations(ctx, key, _undone(ctx, at, outcome))
        if not ctx.defn.finally_steps:
            return (setter, *undo, end)
        return chain([single(setter), *map(single, undo), *self._finally_block(ctx, key), single(end)])

    def _finally_block(self, ctx: _Ctx, key: tuple[str, ...]) -> list[Frag]:
        """The finally steps as one end reaches them, in order, each under its condition (which
        reads ``outcome``); a technical failure or timeout goes on to the next one. Every way of
        ending (end step, shared tail, normal end) gets its own copy, ids prefixed with its
        key, so a terminate end still ends the whole process. Two routes that reach one shared
        tail at once (from two parallel branches) each run it, as each ran its own copy."""
        return [self._finally_step(ctx.defn.steps[sid], ctx, key) for sid in ctx.defn.finally_steps]

    def _finally_step(self, step: Step, ctx: _Ctx, key: tuple[str, ...]) -> Frag:
        name = (*key, step.id)
        carry = "#".join((*name, "continue"))
        extensions = _job(step, ctx)
        task = make_node(_eid("Finally", *name), "serviceTask", ctx.label(step.title, step.id),
                         extensions=extensions)
        ctx.errors.add(FAILED_ERROR)
        routes: list[EndRoute | GotoRoute | CompensationRoute] = [GotoRoute(make_node(
            _eid("Failed", *name), "boundaryEvent", "technical failure",
            attrs=(("attachedToRef", task.id),),
            body=(El("bpmn:errorEventDefinition", (("errorRef", _eid("Error", FAILED_ERROR)),)),)), carry)]
        if step.timeout:
            timer = El("bpmn:timerEventDefinition", children=(duration(step.timeout),))
            routes.append(GotoRoute(make_node(_eid("Timeout", *name), "boundaryEvent", f"timeout {step.timeout}",
                                              attrs=(("attachedToRef", task.id),), body=(timer,)), carry))
        frag = rejoin(task_with_routes(task, routes),
                      make_node(_eid("Gateway", *name, "continue"), "exclusiveGateway", None), carry)
        if step.when is None:
            return frag
        feel = _feel(step.when, ctx, ("steps", step.id, "when"))
        split = make_node(_eid("Gateway", *name, "when"), "exclusiveGateway", step.when.cel)
        merge = make_node(_eid("Gateway", *name, "skip"), "exclusiveGateway", None)
        return when(split, merge, frag, feel, "yes")

    def _guard(self, step: Step, frag: Frag, ctx: _Ctx) -> Frag:
        """Wrap ``frag`` in a split and merge gateway when the step has a condition."""
        if step.when is None:
            return frag
        feel = _feel(step.when, ctx, ("steps", step.id, "when"))
        split = make_node(_eid("Gateway", step.id, "when"), "exclusiveGateway", step.when.cel)
        merge = make_node(_eid("Gateway", step.id, "skip"), "exclusiveGateway", None)
        return when(split, merge, frag, feel, "yes")

    def _routes(self, step: Step, ctx: _Ctx) -> list[EndRoute | GotoRoute]:
        """A service task's boundary routes: declared errors, technical failure, timeout."""
        routes = [self._error_route(step, code, ctx) for code in sorted(step.errors) if code != FAILED_ERROR]
        return [r for r in routes if r is not None] + [self._failure(step, ctx),
                                                       *self._timeout(step, ctx)]

    def _routable(self, step: Step, code: str, ctx: _Ctx) -> bool:
        """Whether BPMN can express the route of error ``code`` of ``step`` (else reported)."""
        route, path = step.errors[code], ("steps", step.id, "errors", code)
        if route.goto is not None and route.end is not None:
            ctx.problem(f"error '{code}' of step '{step.id}' has both end and goto", *path)
            return False
        if route.goto is not None and route.goto not in ctx.scope.get(step.id, frozenset()):
            ctx.problem(f"error '{code}' of step '{step.id}' jumps to '{route.goto}', which is "
                        "not a later step of the same sequence (BPMN cannot jump into or out of "
                        "a parallel branch, or back)", *path, "goto")
            return False
        return True

    def _error_route(self, step: Step, code: str, ctx: _Ctx) -> EndRoute | GotoRoute | None:
        """The boundary event of a declared error and where it leads; None if BPMN cannot."""
        route = step.errors[code]
        if not self._routable(step, code, ctx):
            return None
        ctx.errors.add(code)
        boundary = make_node(
            _eid("Catch", step.id, code), "boundaryEvent", code,
            attrs=(("attachedToRef", _eid("Task", step.id)),),
            body=(El("bpmn:errorEventDefinition", (("errorRef", _eid("Error", code)),)),))
        if route.goto is not None:
            return GotoRoute(boundary, route.goto)
        message = ctx.label(route.message, "") or None
        return GotoRoute(boundary, self._end_tail(ctx, step.id, route.end or FAILED, message))

    def _failure(self, step: Step, ctx: _Ctx) -> EndRoute | GotoRoute:
        """The boundary event of the worker's ``productkit.failed`` (the job's last attempt
        failed) and the ``failed`` end it leads to, or for a step that is not critical, the
        way on after the task."""
        ctx.errors.add(FAILED_ERROR)
        boundary = make_node(
            _eid("Failed", step.id), "boundaryEvent", "technical failure",
            attrs=(("attachedToRef", _eid("Task", step.id)),),
            body=(El("bpmn:errorEventDefinition", (("errorRef", _eid("Error", FAILED_ERROR)),)),))
        return self._failure_route(step, boundary, FAILED_ERROR, ctx)

    def _failure_route(self, step: Step, boundary: Node, key: str, ctx: _Ctx) -> EndRoute | GotoRoute:
        """Where a technical failure (or the timeout) of a service step leads: the product's
        ``productkit.failed`` route, else on past a step that is not critical, else ``failed``."""
        route = step.errors.get(FAILED_ERROR) if step.kind == "service" else None
        if route is not None and self._routable(step, FAILED_ERROR, ctx):
            if route.goto is not None:
                return GotoRoute(boundary, route.goto)
            message = ctx.label(route.message, "") or None
            return GotoRoute(boundary, self._end_tail(ctx, step.id, route.end or FAILED, message))
        if step.kind == "service" and not step.critical:
            return GotoRoute(boundary, _carry_on(step))
        return GotoRoute(boundary, self._end_tail(ctx, step.id, FAILED, None))

    def _decision(self, step: Step, ctx: _Ctx) -> Frag | None:
        """The gateway after a user task that routes the error code the employee submitted at
        ``error_path``; None if there is nothing BPMN can route (then reported)."""
        path, where = step.error_path or "", ("steps", step.id, "error_path")
        form = step.fields.get(path)
        if form is None:
            ctx.problem(f"the error path '{path}' of user step '{step.id}' is not a field of its "
                        "form, so the user task does not pass the employee's code on", *where)
            return None
        if not _feel_path(path):
            ctx.problem(f"the error path '{path}' of user step '{step.id}' is not a data path "
                        "FEEL can read", *where)
            return None
        if form.values is not None:
            for code in sorted(set(step.errors) - set(form.values)):
                ctx.problem(f"error '{code}' of user step '{step.id}' is not a value of its "
                            f"field '{path}': the employee cannot submit it",
                            "steps", step.id, "errors", code, severity=Severity.WARNING)
            for code in sorted(set(form.values) - set(step.errors)):
                ctx.problem(f"the value '{code}' of field '{path}' of user step '{step.id}' has "
                            "no error route: submitting it goes on as if no error was given",
                            *where, severity=Severity.WARNING)
        gateway = make_node(_eid("Gateway", step.id, "decision"), "exclusiveGateway", path)
        branches: list[EndBranch | GotoBranch] = []
        for code in sorted(step.errors):
            if not self._routable(step, code, ctx):
                continue
            route = step.errors[code]
            condition = f'={path} = "{_feel_escape(code)}"'
            if route.goto is not None:
                branches.append(GotoBranch(condition, code, route.goto,
                                           _ncname(flow_id(gateway.id, code))))
                continue
            tail = self._end_tail(ctx, step.id, route.end or FAILED, ctx.label(route.message, "") or None)
            branches.append(GotoBranch(condition, code, tail, _ncname(flow_id(gateway.id, code))))
        return decision(gateway, branches) if branches else None

    def _compensation(self, step: Step, ctx: _Ctx) -> CompensationRoute:
        """The compensation boundary event of a service step and its compensation handler."""
        handler_type = step.compensation.handler if step.compensation else ""
        if not handler_type:
            ctx.problem(f"the compensation of step '{step.id}' has no handler (the job type)",
                        "steps", step.id, "compensation", "handler")
        boundary = make_node(
            _eid("Compensation", step.id), "boundaryEvent", handler_type or "compensation",
            attrs=(("attachedToRef", _eid("Task", step.id)),),
            body=(El("bpmn:compensateEventDefinition"),))
        retries = step.retry.max_attempts if step.retry else 1
        definition = El("zeebe:taskDefinition", (("type", handler_type), ("retries", str(retries))))
        extensions = () if ctx.draft else (
            definition, *headers(step, (("productkit.compensates", step.id),)), *undo_inputs(step))
        handler = make_node(_eid("Undo", step.id), "serviceTask",
                            f"undo {ctx.label(step.title, step.id)}",
                            attrs=(("isForCompensation", "true"),), extensions=extensions)
        return CompensationRoute(boundary, handler, _eid("Association", step.id, "undo"))

    def _timeout(self, step: Step, ctx: _Ctx) -> list[EndRoute | GotoRoute]:
        if not step.timeout:
            return []
        timer = El("bpmn:timerEventDefinition", children=(duration(step.timeout),))
        boundary = make_node(_eid("Timeout", step.id), "boundaryEvent", f"timeout {step.timeout}",
                             attrs=(("attachedToRef", _eid("Task", step.id)),), body=(timer,))
        return [self._failure_route(step, boundary, "timeout", ctx)]


def emit_bpmn(defn: WorkflowDefinition, *, language: str = "zh-CN") -> Emitted:
    """The BPMN document of ``defn`` and the problems found; ``content`` is None on error."""
    return BpmnTarget(Options(language=language)).emit(defn)


def _job(step: Step, ctx: _Ctx) -> tuple[El, ...]:
    """A service task's Zeebe extensions: job type and retries, headers, input and output mappings."""
    if ctx.draft:
        return ()
    return (task_definition(step), *headers(step), *io_mapping(step))


def _carry_on(step: Step) -> str:
    """The pseudo-step a non-critical step's failure jumps to: the merge right after it."""
    return f"{step.id}#continue"


def _what(item: str | Parallel) -> str:
    return f"step '{item}'" if isinstance(item, str) else "a parallel block"


def _entries(item: str | Parallel) -> tuple[str, ...]:
    """The steps a jump may land on to enter ``item``: the step, or each branch's first step."""
    if isinstance(item, str):
        return (item,)
    return tuple(b[0] for b in item.parallel if b and isinstance(b[0], str))


def _key(item: str | Parallel) -> str | None:
    """The name jumps use for a sequence item: the step, or a parallel block's first step."""
    return item if isinstance(item, str) else _first_step([item])


def _block_key(block: Parallel) -> str:
    """What names a parallel block's gateways: the step its first branch starts with (no other
    block's first branch starts with it); a block whose first branch starts with another block
    joins the first step of each branch, as that inner block is named by one of them."""
    first = next(b for b in block.parallel if b)[0]
    if isinstance(first, str):
        return first
    return "_".join(s for s in (_first_step(b) for b in block.parallel) if s)


def _first_step(flow: Flow) -> str | None:
    for item in flow:
        found = item if isinstance(item, str) else next(
            (s for b in item.parallel if (s := _first_step(b))), None)
        if found:
            return found
    return None


def _positions(flow: Flow, prefix: tuple[int, ...] = ()) -> dict[str, tuple[int, ...]]:
    """Step id -> its place in the flow: indexes into sequences alternating with branch
    indexes; in flow order (branches one after the other)."""
    out: dict[str, tuple[int, ...]] = {}
    for i, item in enumerate(flow):
        if isinstance(item, str):
            out.setdefault(item, (*prefix, i))
            continue
        for b, branch in enumerate(item.parallel):
            for step, place in _positions(branch, (*prefix, i, b)).items():
                out.setdefault(step, place)
    return out


def _may_precede(earlier: tuple[int, ...], later: tuple[int, ...]) -> bool:
    """Whether the step at ``earlier`` can have completed when the flow is at ``later``: it
    comes before it in a common sequence, or runs in another branch of a common parallel."""
    for depth, (a, b) in enumerate(zip(earlier, later, strict=False)):
        if a != b:
            return depth % 2 == 1 or a < b
    return False


def _undone(ctx: _Ctx, at: str | None, outcome: str) -> tuple[str, ...]:
    """The compensable steps an end with ``outcome`` reached at step ``at`` (None: the end of
    the flow) compensates: each that may have completed by then, last first."""
    if outcome not in ctx.defn.compensate_on:
        return ()
    here = ctx.positions.get(at) if at is not None else None
    if at is not None and here is None:
        return ()
    return tuple(sid for sid in reversed(ctx.compensable) if here is None
                 or (sid != at and _may_precede(ctx.positions[sid], here)))


def _compensations(ctx: _Ctx, key: tuple[str, ...], undone: tuple[str, ...]) -> tuple[Node, ...]:
    """The compensation throw events of an end, one per step of ``undone``, in that order."""
    nodes = []
    for sid in undone:
        step = ctx.defn.steps[sid]
        definition = El("bpmn:compensateEventDefinition", (("activityRef", _eid("Task", sid)),))
        nodes.append(make_node(_eid("Compensate", *key, sid), "intermediateThrowEvent",
                               f"compensate {ctx.label(step.title, sid)}", body=(definition,)))
    return tuple(nodes)


_FEEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FEEL_KEYWORDS = frozenset({
    "and", "between", "else", "every", "external", "false", "for", "function", "if", "in",
    "instance", "not", "null", "of", "or", "return", "satisfies", "some", "then", "true"})


def _feel_path(path: str) -> bool:
    """Whether FEEL reads ``path`` as a variable and its nested context entries."""
    return all(_FEEL_NAME.match(p) and p not in _FEEL_KEYWORDS for p in path.split("."))


def _tail_merge(target: str) -> Node:
    """The gateway where the routes to a shared end tail converge."""
    return make_node(_eid("Gateway", target), "exclusiveGateway", None)


def _goto_merge(target: str) -> Node:
    return make_node(_eid("Gateway", target, "goto"), "exclusiveGateway", None)


def _feel(cond: Condition, ctx: _Ctx, path: tuple[str, ...]) -> str:
    text = (ctx.feel or FeelScope.of_definition(ctx.defn)).of(cond)
    if text is None:
        ctx.problem(f"the condition '{cond.cel}' has no FEEL form, so Zeebe cannot evaluate it",
                    *path, hint="rewrite it with operators and functions FEEL shares with CEL")
        return "=false"
    return "=" + text






def _outcome_end(node_id: str, outcome: str) -> Node:
    mapping = El("zeebe:ioMapping", children=(output(_feel_string(outcome), OUTCOME_VARIABLE),))
    return make_node(node_id, "endEvent", outcome, extensions=(mapping,))


def _outcome_setter(key: tuple[str, ...], outcome: str, message: str | None) -> Node:
    """The intermediate event ``Outcome_<key>`` that sets the variable ``outcome``."""
    mapping = El("zeebe:ioMapping", children=(output(_feel_string(outcome), OUTCOME_VARIABLE),))
    return make_node(_eid("Outcome", *key), "intermediateThrowEvent", f"outcome: {outcome}",
                     extensions=(mapping,), documentation=message)
















def _numbered(edges: tuple[Edge, ...]) -> tuple[Edge, ...]:
    """The edges with each sequence flow named ``F<n>``, numbered in the order of the
    process. The names the layout gives (``Flow_<source>__<target>``) repeat two node ids, and a
    flow's id is written five times (the flow, the incoming and outgoing references, the
    diagram edge and its id): a third of the bytes of a file. Associations keep their names."""
    out: list[Edge] = []
    n = 0
    for e in edges:
        if not e.association:
            n += 1
            e = Edge(f"F{n}", e.source, e.target, e.waypoints, e.name, e.condition)
        out.append(e)
    return tuple(out)


def _check_ids(nodes: tuple[Node, ...], edges: tuple[Edge, ...], ctx: _Ctx) -> None:
    seen: set[str] = set()
    ids: Sequence[Node | Edge] = (*nodes, *edges)
    for item in ids:
        if item.id in seen:
            ctx.problem(f"two BPMN elements would both get the id '{item.id}'", "steps")
        seen.add(item.id)
