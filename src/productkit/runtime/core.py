"""The runtime's decision core: what happens next to one application, as a pure function.

    program = Program.of(definition)
    decision = decide(program, state, Started(at=now))   # -> Decision(state, commands)

:func:`decide` reads a workflow definition (a :class:`Program`), an application's state and
one :data:`Event` (the application started, a user step was submitted, a handler answered, a
timer fired, ...) and returns the new state and the :data:`Command` s an executor carries out,
in order. It does no I/O and reads no clock (every event carries the time it happened), never
sleeps, starts no thread and draws no random number; it does not change the state it is given.
The same inputs give the same state and commands, so a workflow engine can replay it.
Events and commands are plain frozen dataclasses over data the store's codec writes.

What an executor does with the commands:

* :class:`RecordStep` and :class:`RecordAudit` rows belong to the next :class:`Save`: keep them
  and commit them with that Save's state in one transaction (one per step). A crash loses them
  with the state changes that made them, and resuming makes them again.
* :class:`CallHandler`: call the handler once (one attempt) with ``timeout`` seconds (what is
  left of the step's budget) and answer with :class:`HandlerAnswered`. The core waits for it.
* :class:`StartTimer`: answer :class:`TimerFired` when ``due`` comes. A ``wait`` or ``due``
  timer is also fired by :class:`Ticked` (the embedded engine's ``tick()``: its store's index of
  due times keeps those timers). :class:`CancelTimer` withdraws one.
* :class:`AwaitInput` (a screen to show) and :class:`End` need nothing more: the saved state
  says it.

Retries are timers. After a failed attempt with attempts left, the core saves the call under
way (its attempts so far, the step's deadline, the due time of the next attempt) with the state,
which stays ``running``, and emits ``StartTimer(RETRY)``. The embedded engine waits for that
timer inline through its injected ``sleep``, so ``start()`` and ``submit()`` still return at a
pause or the end; the due retry is stored before it sleeps. After a crash, resuming the
application (``Engine.recover()`` or ``resume()``) finds the call under way: the core emits the
timer again for what is left of the backoff (nothing when it is already due) and then the next
attempt, numbered after those made, with the same idempotency key. A crash during an attempt
makes that attempt again, as before.
"""

from __future__ import annotations

from ._machine import Machine
from ._protocol import (
    AwaitInput,
    CallHandler,
    CancelRequested,
    CancelTimer,
    Command,
    Decision,
    End,
    Event,
    HandlerAnswered,
    Policy,
    Program,
    RecordAudit,
    RecordStep,
    Resumed,
    Save,
    Started,
    StartTimer,
    Submitted,
    Ticked,
    TimerFired,
    TimerKind,
    awaiting,
    build_decision,
    call_key,
    new_state,
)
from ._state import AppState

__all__ = [
    "AppState",
    "AwaitInput",
    "CallHandler",
    "CancelRequested",
    "CancelTimer",
    "Command",
    "Decision",
    "End",
    "Event",
    "HandlerAnswered",
    "Policy",
    "Program",
    "RecordAudit",
    "RecordStep",
    "Resumed",
    "Save",
    "StartTimer",
    "Started",
    "Submitted",
    "Ticked",
    "TimerFired",
    "TimerKind",
    "awaiting",
    "call_key",
    "decide",
    "new_state",
]


def decide(program: Program, state: AppState, event: Event) -> Decision:
    """The state after ``event`` and the commands that carry it out (see the module)."""
    machine = Machine(program, state, event.at)  # it changes copies only
    machine.handle(event)
    return build_decision(machine.state, tuple(machine.out))
