"""What every command line shares, without the command-line framework: exit codes, the guard
that keeps tracebacks from users, and the ``validate`` command's body (see :mod:`productkit.console`)."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "counted", "guarded", "run_validate"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def guarded(run: Callable[[], Any]) -> NoReturn:
    """Run a command and exit with its code, ending as the command-line framework ends a command
    (an interrupt exits 130; a reader that closed the pipe exits 1, silently); an unexpected
    error is reported as PK900 without a traceback (bad input never gets here: it gets
    diagnostics)."""
    try:
        code = run()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        sys.exit(EXIT_PROBLEMS)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            _internal(exc)
        sys.stdout, sys.stderr = _Quiet(sys.stdout), _Quiet(sys.stderr)
        sys.exit(EXIT_PROBLEMS)
    except Exception as exc:  # last resort: no traceback for users
        _internal(exc)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _internal(exc: BaseException) -> NoReturn:
    sys.stderr.write(f"productkit: internal error PK900: {type(exc).__name__}: {exc}\n"
                     "please report this with the command you ran\n")
    sys.exit(EXIT_USAGE)


class _Quiet:
    """A stream whose reader is gone: flushing it at exit is not an error."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


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
