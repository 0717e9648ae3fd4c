"""The runtime's exceptions (all under :class:`productkit.diagnostics.ProductkitError`) and the
codes of the problems a build can have when it is loaded."""

from __future__ import annotations

from collections.abc import Sequence

from ..diagnostics import Diagnostic, ProductkitError, render_text

__all__ = [
    "CATALOG_CODES",
    "BusinessError",
    "CatalogError",
    "ConditionError",
    "CorruptApplication",
    "DefinitionChanged",
    "EngineError",
    "HandlerMissing",
    "InvalidArgument",
    "InvalidContext",
    "InvalidState",
    "NotEligible",
    "NotFound",
    "NotOffered",
    "NotReady",
    "StaleApplication",
    "WriteInterrupted",
]

# Codes of the problems Catalog.load reports (runtime stage, PK6xx). Stable: never renumber.
CATALOG_CODES: dict[str, str] = {
    "PK601": "build missing or incomplete (no readable manifest.json)",
    "PK602": "manifest malformed",
    "PK603": "manifest digest does not match its products",
    "PK604": "file named by the manifest is missing or outside the build",
    "PK605": "definition malformed",
    "PK606": "definition digest does not match its content or the manifest",
    "PK607": "manifest entry disagrees with its definition",
    "PK608": "form malformed",
    "PK609": "definition is not executable (dangling step, bad route)",
    "PK610": "product version listed twice",
    "PK611": "file content does not match the digest the manifest sealed",
    "PK612": "build is not signed but trusted keys were given",
    "PK613": "build signature invalid, by an untrusted key, or the manifest changed after signing",
    "PK614": "file in the build that the manifest does not seal",
}


class EngineError(ProductkitError):
    """Root of the errors the runtime raises when it cannot do what was asked."""


class CatalogError(EngineError):
    """A build that cannot be trusted: missing, half-written, tampered or inconsistent.

    ``problems`` holds every problem found (all files are checked before deciding)."""

    def __init__(self, problems: Sequence[Diagnostic]) -> None:
        self.problems = tuple(problems)
        text = render_text(self.problems, show_source=False).rstrip()
        super().__init__(f"the build cannot be loaded ({len(self.problems)} problem(s)):\n{text}")


class NotFound(EngineError):
    """No such product, version, step, form or application."""


class NotOffered(EngineError):
    """No version of the product is on sale on that channel on that date."""


class NotEligible(EngineError):
    """The start context fails eligibility rules; ``rules`` lists their ids."""

    def __init__(self, product_id: str, rules: Sequence[str], messages: Sequence[str]) -> None:
        self.product_id, self.rules = product_id, tuple(rules)
        super().__init__(f"not eligible for {product_id}: " + "; ".join(messages))


class InvalidContext(EngineError):
    """The start context does not fit the product's declared context fields."""

    def __init__(self, errors: Sequence[object]) -> None:
        self.errors = tuple(errors)
        super().__init__("invalid context: " + "; ".join(str(e) for e in self.errors))


class NotReady(EngineError):
    """Handlers the product needs on this channel are not registered."""

    def __init__(self, product: str, missing: Sequence[str]) -> None:
        self.product, self.missing = product, tuple(missing)
        super().__init__(f"{product} needs handlers that are not registered: {', '.join(missing)}")


class HandlerMissing(EngineError):
    """A step's handler is not registered; the application stays at its last committed step."""


class InvalidArgument(EngineError, ValueError):
    """An argument of an engine call is malformed: not text, an unknown actor, a time without
    a time zone. Problems with the fields of a context or a submission are FieldErrors."""


class CorruptApplication(EngineError):
    """An application's stored state cannot be read back; it is left as it is in the store."""


class InvalidState(EngineError):
    """The operation does not fit the application's state (submitting a step not shown, ...)."""


class StaleApplication(EngineError):
    """Another worker committed the application first; nothing of this attempt was stored."""


class WriteInterrupted(EngineError):
    """The transaction that held this Commit was interrupted in another thread (a
    KeyboardInterrupt, a SystemExit) and rolled back: nothing of it was stored; try again."""


class DefinitionChanged(EngineError):
    """The catalogue's definition of a pinned product version differs from the one started."""


class ConditionError(EngineError):
    """A condition could not be evaluated (a missing value, an evaluation error)."""

    def __init__(self, cel: str, reason: str) -> None:
        self.cel, self.reason = cel, reason
        super().__init__(f"cannot evaluate `{cel}`: {reason}")


class BusinessError(ProductkitError):
    """Raised by a handler to report a declared business error; the step's ``errors`` route it."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code, self.message = code, message
        super().__init__(code if message is None else f"{code}: {message}")
