"""Handlers: the code behind service steps, registered by the name a component declares.

    handlers = Handlers()

    @handlers.register("risk.kyc.verify-identity")
    async def verify(call: StepCall) -> dict[str, object]:
        ...  # use call.inputs, call.parameters, call.idempotency_key
        return {"kyc.status": "passed"}

A handler returns the component's outputs (a mapping keyed by component path, or None),
raises :class:`BusinessError` for a declared business error, and any other exception for a
technical failure (retried under the step's retry policy).

A plain handler whose step has a timeout runs on a worker thread, so that a hung call is given
up at the timeout. One registered with ``inline=True`` declares that it answers promptly in this
process (no network, no lock held by others): the engine calls it on the caller's thread, which
saves the thread hand-off. An inline handler cannot be timed out: Python cannot stop a thread,
and the thread running it is the caller's, so there is nobody left to give up waiting. A call
that never returns holds its caller (and its application) for good, as any function called on
that thread would. The step's timeout is judged on the answer instead: one that came later
counts as a timeout (retried like one) and is logged as a warning naming the handler. Register
anything that may block (a network call, a lock held by others) without ``inline``, so that a
hung call is given up at the timeout. An ``async`` handler registered inline is awaited on the
caller's thread with what is left of its timeout, and so is given up at it.

Every handler is called only once what led to the call is committed, so a crash repeats at most
the attempt in flight. One registered with ``local=True`` (which implies ``inline``) declares
more: it is a local call, as a workflow engine's local activity, whose result may be committed
with the application's next durable write instead. The run then commits once before each handler
that is not local, each backoff and each answer to the caller, rather than before every call; a
crash repeats the local calls made since the last commit, each with its same idempotency key.
Register as local only handlers whose repetition is harmless (pure computations, reads, or calls
the other side deduplicates by the key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._slots import FRESH, filler, setters
from .errors import BusinessError

__all__ = ["BusinessError", "Handler", "HandlerResult", "Handlers", "StepCall"]

HandlerResult = Mapping[str, object] | None


@dataclass(frozen=True, slots=True, init=False)
class StepCall:
    """What a handler receives for one attempt of one step.

    ``idempotency_key`` is the same on every attempt and after a crash and resume, and differs
    between applications and steps: pass it to the system that applies the effect.
    ``outputs`` is empty except when compensating, where it holds what the step produced."""

    application_id: str
    product_id: str
    version: str
    channel: str
    step_id: str
    handler: str
    component: str | None
    inputs: Mapping[str, object]
    parameters: Mapping[str, object]
    idempotency_key: str
    attempt: int = 1
    compensating: bool = False
    outputs: Mapping[str, object] = field(default_factory=dict)

    def __init__(self, application_id: str, product_id: str, version: str, channel: str,
                 step_id: str, handler: str, component: str | None, inputs: Mapping[str, object],
                 parameters: Mapping[str, object], idempotency_key: str, attempt: int = 1,
                 compensating: bool = False, outputs: Mapping[str, object] = FRESH) -> None:
        s = _STEP_CALL  # the slots' setters (see ._slots): one per handler call
        s[0](self, application_id)
        s[1](self, product_id)
        s[2](self, version)
        s[3](self, channel)
        s[4](self, step_id)
        s[5](self, handler)
        s[6](self, component)
        s[7](self, inputs)
        s[8](self, parameters)
        s[9](self, idempotency_key)
        s[10](self, attempt)
        s[11](self, compensating)
        s[12](self, {} if outputs is FRESH else outputs)


_STEP_CALL = setters(StepCall)
_STEP_CALL_FILLER = filler(StepCall)


def build_step_call(application_id: str, product_id: str, version: str, channel: str,
                    step_id: str, handler: str, component: str | None, inputs: Mapping[str, object],
                    parameters: Mapping[str, object], idempotency_key: str, attempt: int,
                    compensating: bool, outputs: Mapping[str, object]) -> StepCall:
    """``StepCall(...)`` with every field given, through its filler (see ._slots): one per call."""
    c = _STEP_CALL_FILLER()
    c.application_id = application_id
    c.product_id = product_id
    c.version = version
    c.channel = channel
    c.step_id = step_id
    c.handler = handler
    c.component = component
    c.inputs = inputs
    c.parameters = parameters
    c.idempotency_key = idempotency_key
    c.attempt = attempt
    c.compensating = compensating
    c.outputs = outputs
    c.__class__ = StepCall
    made: StepCall = c
    return made


Handler = Callable[[StepCall], HandlerResult | Awaitable[HandlerResult]]
H = TypeVar("H", bound=Callable[..., Any])


class Handlers:
    """A registry of handlers by name; plain and ``async`` functions alike."""

    def __init__(self) -> None:
        self._fns: dict[str, Handler] = {}
        self._inline: set[str] = set()
        self._local: set[str] = set()

    def register(self, name: str, *, replace: bool = False, inline: bool = False,
                 local: bool = False) -> Callable[[H], H]:
        """Decorator: ``@handlers.register("aml.screen")``."""

        def decorate(fn: H) -> H:
            self.add(name, fn, replace=replace, inline=inline, local=local)
            return fn

        return decorate

    def add(self, name: str, fn: Handler, *, replace: bool = False, inline: bool = False,
            local: bool = False) -> None:
        """Register ``fn`` as ``name``; ``inline``: it answers promptly in this process and is
        called on the caller's thread; ``local``: inline, and its result may be committed with the
        next durable write (see the module's docstring)."""
        if name in self._fns and not replace:
            raise ValueError(f"a handler is already registered as {name!r}")
        self._fns[name] = fn
        for chosen, names in ((inline or local, self._inline), (local, self._local)):
            if chosen:
                names.add(name)
            else:
                names.discard(name)

    def inline(self, name: str) -> bool:
        """Whether ``name`` was registered to run on the caller's thread."""
        return name in self._inline

    def local(self, name: str) -> bool:
        """Whether ``name`` was registered as a local call (committed with the next durable write)."""
        return name in self._local

    def get(self, name: str) -> Handler | None:
        return self._fns.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._fns

    def missing(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` no handler is registered as."""
        fns = self._fns
        return [n for n in names if n not in fns]

    def names(self) -> list[str]:
        return sorted(self._fns)


def import_handlers(spec: str) -> Handlers:
    """The :class:`Handlers` named ``module:attribute`` (``bank.handlers:registry``), imported the
    way Python imports any module the operator installed. ``spec`` comes from the command line of
    whoever runs the service, never from a build, a catalogue or a request."""
    import importlib

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidHandlers(f"{spec!r}: expected module:attribute, e.g. bank.handlers:registry")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidHandlers(f"{spec!r}: cannot import {module_name}: {exc}") from None
    found = getattr(module, attribute, None)
    if not isinstance(found, Handlers):
        raise InvalidHandlers(f"{spec!r}: {attribute} is {type(found).__name__}, expected a productkit Handlers")
    return found


class InvalidHandlers(ValueError):
    """A ``module:attribute`` that does not name a Handlers registry."""
