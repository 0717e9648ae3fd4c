"""The console entry point.

``productkit validate [PATH ...]`` with no option is what a pre-commit hook runs on every
commit, where start-up is most of the wait: it is answered here, without loading the
command-line framework (a third of such a run). Any other command line (any option or ``--``,
a path the framework would refuse, a completion request) goes through :mod:`productkit.cli`,
whose ``validate`` command runs the same :func:`~productkit._run.run_validate`, and both end the
same way (:func:`~productkit._run.guarded`): the same bytes out and the same exit code.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from pathlib import Path

from ._gcpause import hold_collection, resume
from ._run import guarded, run_validate

__all__ = ["main"]


def main() -> None:
    """Console entry point: exit 0 clean, 1 problems, 2 usage or internal error."""
    # When the interpreter ends, a last collection over all the command built (a whole
    # catalogue) would only delay the exit by seconds: everything left is frozen first.
    atexit.register(gc.freeze)
    hold_collection()
    args = sys.argv[1:]
    if args[:1] == ["validate"] and _plain(args[1:]):
        # pydantic looks for plugins of its own in every installed package's metadata when it
        # builds the first model (a fiftieth of such a run); a validation has no use for them.
        # Set PYDANTIC_DISABLE_PLUGINS (to "" for none disabled) to choose otherwise.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        resume()  # the command starts (see productkit.cli.started)
        guarded(lambda: run_validate([Path(a) for a in args[1:]], "text", strict=False, no_cache=False))
    from .cli import app

    guarded(app)


def _plain(paths: list[str]) -> bool:
    """True when the framework would take ``paths`` as they are: no option, nothing it checks
    or expands first (an existing path it cannot read, a shell-completion request, Windows
    globs); anything else goes through it."""
    return (os.name == "posix" and "_PRODUCTKIT_COMPLETE" not in os.environ
            and not any(p.startswith("-") or (os.path.exists(p) and not os.access(p, os.R_OK)) for p in paths))
