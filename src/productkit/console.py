"""The console entry point.

``productkit validate [PATH ...]`` with no option is what a pre-commit hook runs on every
commit, where start-up is most of the wait: it is answered here, without loading the
command-line framework (a third of such a run). Any other command line, any option or ``--``
included, goes through :mod:`productkit.cli`, whose ``validate`` command runs the same
:func:`~productkit._run.run_validate`: both paths print the same bytes and exit with the same code.
"""

from __future__ import annotations

import atexit
import gc
import sys
from pathlib import Path

from ._run import guarded, run_validate

__all__ = ["main"]


def main() -> None:
    """Console entry point: exit 0 clean, 1 problems, 2 usage or internal error."""
    # When the interpreter ends, a last collection over all the command built (a whole
    # catalogue) would only delay the exit by seconds: everything left is frozen first.
    atexit.register(gc.freeze)
    args = sys.argv[1:]
    if args[:1] == ["validate"] and not any(a.startswith("-") for a in args[1:]):
        guarded(lambda: run_validate([Path(a) for a in args[1:]], "text", strict=False, no_cache=False))
    from .cli import app

    guarded(app)
