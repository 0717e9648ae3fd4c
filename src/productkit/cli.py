"""The command line: arguments in, exit code and output format out. Imports lazily."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="productkit",
    help="Validate and compile bank products declared in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


PathsArg = Annotated[list[Path] | None, typer.Argument(help="catalogue roots or files (default: .)")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="diagnostics format")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="warnings fail the run too")]


def _emit(diagnostics: list, fmt: Format) -> None:  # type: ignore[type-arg]
    from . import report

    sys.stdout.write(report.render(diagnostics, fmt.value))


@app.command()
def validate(paths: PathsArg = None, format: FormatOpt = Format.text, strict: StrictOpt = False) -> None:
    """Check every document's shape, types, constraints and references."""
    from .options import Options
    from .validate import validate as run

    result = run(paths or [], Options(strict=strict))
    _emit(result.diagnostics, format)
    if format == Format.text:
        errors = sum(1 for d in result.diagnostics if d.severity.value == "error")
        warnings = sum(1 for d in result.diagnostics if d.severity.value == "warning")
        counts = _counts(result.catalog)
        sys.stderr.write(f"validated {counts}: {errors} error(s), {warnings} warning(s)\n")
    raise typer.Exit(EXIT_PROBLEMS if result.failed(strict) else EXIT_OK)


def _counts(catalog: object) -> str:
    from collections import Counter

    kinds = Counter(e.model.kind for e in getattr(catalog, "entries", []))
    files = len(getattr(catalog, "files", []))
    parts = [f"{n} {k}" for k, n in sorted(kinds.items())]
    return f"{files} file(s)" + (f" ({', '.join(parts)})" if parts else "")


@app.command()
def schema(out: Annotated[Path, typer.Option("--out", help="folder to write the schemas to")] = Path("schemas"),
           check: Annotated[bool, typer.Option("--check", help="fail when the folder is stale")] = False) -> None:
    """Write a JSON Schema (2020-12) per document kind, for editors."""
    from .schema import write_schemas

    stale = write_schemas(out, check=check)
    for name in stale:
        sys.stderr.write(f"{'stale' if check else 'wrote'}: {out / name}\n")
    raise typer.Exit(EXIT_PROBLEMS if check and stale else EXIT_OK)


def main() -> None:
    """Console entry point: exit 0 clean, 1 problems, 2 usage or internal error."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # last resort: no traceback for users
        sys.stderr.write(f"productkit: internal error PK900: {type(exc).__name__}: {exc}\n"
                         "please report this with the command you ran\n")
        sys.exit(EXIT_USAGE)
