"""Stage 6, emit: one workflow definition and the run's Options in; the target's files (named by
the target, relative to the build folder) and diagnostics out.

Each target is a class registered by name in :data:`TARGETS`; the build writes each product's
output of every selected target and records ``targets: {name: location}`` in the manifest. A
target handles the nodes of the workflow definition by method name: ``step_<kind>`` for a step
(``step_service``, ``step_user``, ``step_wait``, ``step_end``) and ``block_parallel`` for a
parallel block. A node for which the target has no method is reported (PK501), never silently
dropped::

    result = emit(defn, "bpmn", Options(language="en"))
    if result.files is None:
        print(render_text(result.diagnostics))

Adding a target is adding a module to this package that defines a :class:`Target` subclass
decorated with :func:`register` (installed packages may also name one in the
``productkit.targets`` entry-point group).
"""

from __future__ import annotations

import datetime as dt
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from ..diagnostics import Diagnostic, Location, Severity, has_errors
from ..ir import Parallel, Step, WorkflowDefinition
from ..options import Options

__all__ = [
    "TARGETS",
    "BuildView",
    "EmitContext",
    "Emitted",
    "Target",
    "emit",
    "load_installed",
    "register",
]

CANNOT_EXPRESS = "PK501"


@dataclass(frozen=True, slots=True)
class Emitted:
    """What a target made of one workflow definition.

    ``files`` (build-relative name -> bytes) is None exactly when ``diagnostics`` hold an error:
    a document that cannot say everything the workflow definition says is not written.
    ``location`` is what the manifest records for the target: its one file, or its folder.
    """

    target: str
    files: dict[str, bytes] | None
    diagnostics: tuple[Diagnostic, ...]
    location: str = ""

    @property
    def ok(self) -> bool:
        return self.files is not None

    @property
    def content(self) -> bytes | None:
        """The bytes of a one-file target's file (None on error)."""
        if self.files is None:
            return None
        return self.files.get(self.location, b"".join(self.files.values()))


@dataclass
class EmitContext:
    """The state of one emit call: the input and the problems found so far."""

    defn: WorkflowDefinition
    target: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    output: str = ""  # where the one file of the target goes (see Target.location)

    def location(self, *path: str | int) -> Location:
        return Location(self.defn.source or f"{self.defn.id}@{self.defn.version}", path=path)

    def problem(self, message: str, *path: str | int, severity: Severity = Severity.ERROR,
                hint: str | None = None, code: str = CANNOT_EXPRESS) -> None:
        """Record that the target cannot (fully) express the node at ``path``."""
        self.diagnostics.append(
            Diagnostic(code, message, self.location(*path), severity=severity, hint=hint))

    def finish(self, content: bytes | None) -> Emitted:
        """The one file ``content`` at ``output``, unless an error was recorded."""
        diags = tuple(self.diagnostics)
        ok = content is not None and not has_errors(diags)
        return Emitted(self.target, {self.output: content} if ok and content is not None else None,
                       diags, self.output)


@dataclass(frozen=True, slots=True)
class BuildView:
    """What a target's :meth:`Target.combine` sees of the build being made: the catalogue root,
    the release date, every file written so far (build-relative name -> bytes), the manifest's
    product entries and the catalogue's scenario files when the build has found them already
    (None: :func:`~productkit.sources.discover_scenarios` is asked)."""

    root: Path
    release_date: dt.date
    files: Mapping[str, bytes]
    products: Sequence[Mapping[str, Any]]
    scenarios: Sequence[Path] | None = None


C = TypeVar("C", bound=EmitContext)
F = TypeVar("F")


class Target(ABC, Generic[C, F]):
    """A plug-in output format. Subclasses set ``name``, ``suffix`` and ``description`` and
    implement ``emit``; they express IR nodes through methods named ``step_<kind>`` and
    ``block_parallel`` that return a target-specific fragment ``F``. The run's Options (label
    language and the rest) are ``self.options``."""

    name: ClassVar[str]
    suffix: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()

    def location(self, defn: WorkflowDefinition) -> str:
        """Where this target's output for ``defn`` goes, relative to the build folder."""
        return f"{self.name}/{defn.id}@{defn.version}{self.suffix}"

    @abstractmethod
    def emit(self, defn: WorkflowDefinition) -> Emitted:
        """Render one workflow definition."""

    def problems(self, defn: WorkflowDefinition) -> tuple[Diagnostic, ...]:
        """What :meth:`emit` would report about ``defn`` (``validate`` asks this first); a
        target may answer without rendering its files. ``defn.digest`` is empty here: validation
        compiles without the content digest, which nothing a target reports may depend on."""
        return self.emit(defn).diagnostics

    def verify(self, files: Mapping[str, bytes], build: BuildView | None = None) -> Iterator[tuple[str, str]]:
        """Check what :meth:`emit` (or :meth:`combine`, then with ``build``) wrote with something
        outside the code that wrote it (a meta-schema, an XSD): (file name, problem) for each
        file that fails. The build runs it before a new build replaces the previous one."""
        return iter(())

    def combine(self, parts: Mapping[str, bytes], build: BuildView) -> dict[str, bytes]:
        """Build-wide files made from this target's per-product files (``parts``: those compiled
        now and those kept from the previous build) and the rest of the build (``build``); most
        targets write none. The build verifies them with :meth:`verify` and seals them like the
        rest."""
        return {}

    def node(self, item: str | Parallel, ctx: C) -> F | None:
        """Dispatch one item of a flow to its handler; report and skip what has none."""
        if isinstance(item, Parallel):
            return self._dispatch("block_parallel", item, ctx, ("flow",), "a parallel block")
        step = ctx.defn.steps.get(item)
        if step is None:
            ctx.problem(f"the flow names step '{item}', which is not among the steps", "flow")
            return None
        return self._dispatch(f"step_{step.kind}", step, ctx, ("steps", step.id),
                              f"step '{step.id}' of kind '{step.kind}'")

    def _dispatch(self, method: str, node: Step | Parallel, ctx: C,
                  path: tuple[str, ...], what: str) -> F | None:
        handler: Callable[[Step | Parallel, C], F | None] | None = getattr(self, method, None)
        if handler is None:
            ctx.problem(f"the {self.name} target cannot express {what}", *path)
            return None
        return handler(node, ctx)


TARGETS: dict[str, type[Target[Any, Any]]] = {}

T = TypeVar("T", bound=type[Target[Any, Any]])


def register(cls: T) -> T:
    """Class decorator: make a target available by its ``name`` in :data:`TARGETS`."""
    if cls.name in TARGETS and TARGETS[cls.name] is not cls:
        raise ValueError(f"target '{cls.name}' is registered twice")
    TARGETS[cls.name] = cls
    return cls


@functools.cache
def load_installed() -> None:
    """Register every ``productkit.targets`` entry point of an installed package (once per
    process: scanning every installed package's metadata costs tens of milliseconds)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="productkit.targets"):
        entry.load()


def emit(defn: WorkflowDefinition, target: str, options: Options | None = None) -> Emitted:
    """Render ``defn`` with the target registered as ``target`` (e.g. ``"bpmn"``)."""
    if target not in TARGETS:  # the built-in ones are (the package imports them): an installed one?
        load_installed()
    if target not in TARGETS:
        raise KeyError(f"no target '{target}'; known: {', '.join(sorted(TARGETS))}")
    return TARGETS[target](options).emit(defn)

