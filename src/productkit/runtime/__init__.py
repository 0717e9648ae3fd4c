"""productkit.runtime: what channel services use to run built products.

    catalog = Catalog.load("build")                 # verified: digests, forms, structure
    handlers = Handlers()

    @handlers.register("risk.kyc.verify-identity")
    def verify(call: StepCall) -> dict[str, object]: ...

    engine = Engine(catalog, handlers=handlers, store=SQLiteStore("apps.db"))
    engine.recover()                                # resume what a crash interrupted
    app = engine.start("loan.personal", "mobile", {"applicant.age": 30})
    app = engine.submit(app.id, app.screen.step_id, {...})

The runtime reads only the build (never the YAML); every step is committed to the store in
one transaction, and each application stays on the product version it started with. What to
do next is decided by a pure function, :func:`productkit.runtime.core.decide`; the Engine is
the executor that carries its commands out in this process over a Store.
"""

from __future__ import annotations

from .catalog import Catalog
from .engine import Engine
from .errors import (
    CATALOG_CODES,
    BusinessError,
    CatalogError,
    ConditionError,
    CorruptApplication,
    DefinitionChanged,
    EngineError,
    HandlerMissing,
    InvalidArgument,
    InvalidContext,
    InvalidState,
    NotEligible,
    NotFound,
    NotOffered,
    NotReady,
    StaleApplication,
    WriteInterrupted,
)
from .handlers import Handler, HandlerResult, Handlers, StepCall
from .sqlite import SQLiteStore
from .status import AttemptResult, AuditKind, Canceller, Outcome, RecordKind, Status, StepStatus
from .store import AppRow, AuditRow, Commit, MemoryStore, StepRow, Store
from .views import (
    Application,
    Attempt,
    AuditEvent,
    FieldError,
    Form,
    HandlerNeed,
    ProductReadiness,
    ProductVersion,
    Readiness,
    Screen,
    StepRecord,
)

__all__ = [
    "CATALOG_CODES",
    "AppRow",
    "Application",
    "Attempt",
    "AttemptResult",
    "AuditEvent",
    "AuditKind",
    "AuditRow",
    "BusinessError",
    "Canceller",
    "Catalog",
    "CatalogError",
    "Commit",
    "ConditionError",
    "CorruptApplication",
    "DefinitionChanged",
    "Engine",
    "EngineError",
    "FieldError",
    "Form",
    "Handler",
    "HandlerMissing",
    "HandlerNeed",
    "HandlerResult",
    "Handlers",
    "InvalidArgument",
    "InvalidContext",
    "InvalidState",
    "MemoryStore",
    "NotEligible",
    "NotFound",
    "NotOffered",
    "NotReady",
    "Outcome",
    "ProductReadiness",
    "ProductVersion",
    "Readiness",
    "RecordKind",
    "SQLiteStore",
    "Screen",
    "StaleApplication",
    "Status",
    "StepCall",
    "StepRecord",
    "StepRow",
    "StepStatus",
    "Store",
    "WriteInterrupted",
]
