"""What every command line shares, without the command-line framework: exit codes, the guard
that keeps tracebacks from users, and the ``validate`` command's body (see :mod:`productkit.console`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "counted", "guarded", "run_validate"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def guarded(run: Callable[[], Any]) -> NoReturn:
    """Run a command and exit with its code; an interrupt exits 130, and an unexpected error is
    reported as PK900 without a traceback (bad input never gets here: it gets diagnostics)."""
    try:
        code = run()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # last resort: no traceback for users
        sys.stderr.write(f"productkit: internal error PK900: {type(exc).__name__}: {exc}\n"
                         "please report this with the command you ran\n")
        sys.exit(EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def run_validate(paths: Sequence[Path], fmt: str, strict: bool, no_cache: bool) -> int:
    """``productkit validate``: the diagnostics on stdout in ``fmt``, the counts on stderr (text
    only); the exit code."""
    from . import report
    from .options import Options
    from .validate import validate

    result = validate(paths, Options(strict=strict, cache=None if no_cache else "auto"), replay=True)
    sys.stdout.write(report.render(result.diagnostics, fmt))
    if fmt == "text":
        errors = sum(1 for d in result.diagnostics if d.severity.value == "error")
        warnings = sum(1 for d in result.diagnostics if d.severity.value == "warning")
        counts = counted(len(result.catalog.files), result.kinds)
        sys.stderr.write(f"validated {counts}: {errors} error(s), {warnings} warning(s)\n")
    return EXIT_PROBLEMS if result.failed(strict) else EXIT_OK


def counted(files: int, kinds: Mapping[str, int]) -> str:
    """``5 file(s) (1 Product, 4 ProcessComponent)``."""
    parts = [f"{n} {k}" for k, n in sorted(kinds.items())]
    return f"{files} file(s)" + (f" ({', '.join(parts)})" if parts else "")
