"""productkit.runtime.temporal: run applications on Temporal, with the embedded engine's semantics.

    from productkit.runtime.temporal import TemporalEngine
    engine = TemporalEngine(catalog, address="temporal:7233", handlers=handlers)   # the one line

Each application is a Temporal workflow (:mod:`._workflow`) that runs the decision core over the
product version's definition, pinned by its digest; handlers run as activities on workers
(``productkit worker`` or :func:`make_worker`).
"""

from __future__ import annotations

from ._client import TemporalEngine
from ._programs import DefinitionUnknown
from ._worker import TASK_QUEUE, load_handlers, make_worker, serve
from ._workflow import CALL_ACTIVITY, WORKFLOW, ApplicationWorkflow

__all__ = ["CALL_ACTIVITY", "TASK_QUEUE", "WORKFLOW", "ApplicationWorkflow", "DefinitionUnknown",
           "TemporalEngine", "load_handlers", "make_worker", "serve"]
