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
one transaction, and each application stays on the product version it started with.
"""

from __future__ import annotations

from .catalog import Catalog
from .engine import Engine
from .errors import (
    CATALOG_CODES,
    BusinessError,
    CatalogError,
    ConditionError,
    DefinitionChanged,
    EngineError,
    HandlerMissing,
    InvalidContext,
    InvalidState,
    NotEligible,
    NotFound,
    NotOffered,
    NotReady,
    StaleApplication,
)
from .handlers import Handler, HandlerResult, Handlers, StepCall
from .sqlite import SQLiteStore
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
    Status,
    StepRecord,
)

__all__ = [
    "CATALOG_CODES",
    "AppRow",
    "Application",
    "Attempt",
    "AuditEvent",
    "AuditRow",
    "BusinessError",
    "Catalog",
    "CatalogError",
    "Commit",
    "ConditionError",
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
    "InvalidContext",
    "InvalidState",
    "MemoryStore",
    "NotEligible",
    "NotFound",
    "NotOffered",
    "NotReady",
    "ProductReadiness",
    "ProductVersion",
    "Readiness",
    "SQLiteStore",
    "Screen",
    "StaleApplication",
    "Status",
    "StepCall",
    "StepRecord",
    "StepRow",
    "Store",
]
