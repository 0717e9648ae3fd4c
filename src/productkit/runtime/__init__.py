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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name is imported from its module when first used: a process that needs only a part of
# the runtime (the build reads seals) does not pay for the engine.
_MODULES = {
    "AppRow": "store",
    "Application": "views",
    "Attempt": "views",
    "AttemptResult": "status",
    "AuditEvent": "views",
    "AuditKind": "status",
    "AuditRow": "store",
    "BusinessError": "errors",
    "CATALOG_CODES": "errors",
    "Canceller": "status",
    "Catalog": "catalog",
    "CatalogError": "errors",
    "Commit": "store",
    "ConditionError": "errors",
    "CorruptApplication": "errors",
    "DefinitionChanged": "errors",
    "Engine": "engine",
    "EngineError": "errors",
    "FieldError": "views",
    "Form": "views",
    "Handler": "handlers",
    "HandlerMissing": "errors",
    "HandlerNeed": "views",
    "HandlerResult": "handlers",
    "Handlers": "handlers",
    "InvalidArgument": "errors",
    "InvalidContext": "errors",
    "InvalidState": "errors",
    "MemoryStore": "store",
    "NotEligible": "errors",
    "NotFound": "errors",
    "NotOffered": "errors",
    "NotReady": "errors",
    "Outcome": "status",
    "ProductReadiness": "views",
    "ProductVersion": "views",
    "Readiness": "views",
    "RecordKind": "status",
    "SQLiteStore": "sqlite",
    "Screen": "views",
    "StaleApplication": "errors",
    "Status": "status",
    "StepCall": "handlers",
    "StepRecord": "views",
    "StepRow": "store",
    "StepStatus": "status",
    "Store": "store",
    "WriteInterrupted": "errors",
}


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


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
