"""The command line: arguments in, exit code and output format out. Imports lazily."""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import os
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ._run import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, guarded

if TYPE_CHECKING:  # the CLI imports the library lazily, so start-up stays fast
    from .diagnostics import Diagnostic

app = typer.Typer(
    name="productkit",
    help="Validate and compile bank products declared in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The console holds cyclic collection off while the command line starts (the modules it imports
# live until it exits, see productkit._gcpause.hold_collection); every command runs with it on.
@app.callback()
def started() -> None:
    # (no docstring: typer would show it as the program's help)
    from ._gcpause import resume

    resume()


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


PathsArg = Annotated[list[Path] | None, typer.Argument(help="catalogue roots or files (default: .)")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="diagnostics format")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="warnings fail the run too")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="ignore and do not write the cache")]


def _emit(diagnostics: Sequence[Diagnostic], fmt: Format) -> None:
    from . import report

    sys.stdout.write(report.render(diagnostics, fmt.value))


@app.command()
def validate(paths: PathsArg = None, format: FormatOpt = Format.text, strict: StrictOpt = False,
             no_cache: NoCacheOpt = False) -> None:
    """Check every document's shape, types, constraints and references."""
    from ._run import run_validate

    raise typer.Exit(run_validate(paths or [], format.value, strict, no_cache))


def _usage(message: str) -> NoReturn:
    """A usage error: the message on stderr, exit 2."""
    sys.stderr.write(f"productkit: {safe(message)}\n")
    raise typer.Exit(EXIT_USAGE)


def safe(text: str) -> str:
    from .diagnostics import safe_text

    return safe_text(text)


@app.command()
def schema(out: Annotated[Path, typer.Option("--out", help="folder to write the schemas to")] = Path("schemas"),
           check: Annotated[bool, typer.Option("--check", help="fail when the folder is stale")] = False) -> None:
    """Write a JSON Schema (2020-12) per document kind, for editors."""
    from .schema import write_schemas

    if out.exists() and not out.is_dir():
        _usage(f"--out {out} is a file; name a folder for the schemas")
    try:
        stale = write_schemas(out, check=check)
    except OSError as exc:
        _usage(f"cannot write the schemas to {out}: {exc.strerror or exc}")
    for name in stale:
        sys.stderr.write(f"{'stale' if check else 'wrote'}: {out / name}\n")
    raise typer.Exit(EXIT_PROBLEMS if check and stale else EXIT_OK)


@app.command()
def build(paths: PathsArg = None,
          out: Annotated[Path, typer.Option("--out", "-o", help="output folder: new or a build")] = Path("build"),
          select: Annotated[list[str] | None, typer.Option("--select", help="product id or glob")] = None,
          changed_since: Annotated[str | None, typer.Option("--changed-since",
                                                           help="only products affected since this git ref")] = None,
          release_date: Annotated[str | None, typer.Option("--release-date",
                                                          help="release date T (YYYY-MM-DD)")] = None,
          target: Annotated[list[str] | None, typer.Option(
              "--target", help="output target, repeatable (default: forms and bpmn; see --list-targets)")] = None,
          lang: Annotated[str, typer.Option("--lang", help="label language of one-language targets (BPMN)")] = "zh-CN",
          list_targets: Annotated[bool, typer.Option("--list-targets", help="list the targets and exit")] = False,
          sign: Annotated[Path | None, typer.Option("--sign", help="sign the manifest with this Ed25519 "
                                                    "private key (PEM; see productkit keygen)")] = None,
          allow: Annotated[str | None, typer.Option("--allow", help="release gate: the change classes this "
                                                    "build may ship, e.g. configuration")] = None,
          base: Annotated[str | None, typer.Option("--base", help="what --allow compares with: a build folder "
                                                   "or git ref (default: the previous build in --out)")] = None,
          keep_versions: Annotated[str, typer.Option("--keep-versions", help="keep previous versions for "
                                                     "applications in flight: N per product, or id@version,...")] = "0",
          version_discipline: Annotated[str, typer.Option("--version-discipline",
                                                          help="warning or error")] = "warning",
          format: FormatOpt = Format.text, strict: StrictOpt = False, no_cache: NoCacheOpt = False) -> None:
    """Validate everything and compile products into definitions, forms, BPMN and a manifest."""
    from .build import Release
    from .build import build as run
    from .options import Options

    if list_targets:
        _list_targets()
    if version_discipline not in ("warning", "error"):
        _usage(f"--version-discipline {version_discipline!r}: expected warning or error")
    options = Options(strict=strict, release_date=_release_date(release_date), cache=None if no_cache else "auto",
                      language=_language(lang), targets=_targets(target),
                      version_discipline="error" if version_discipline == "error" else "warning")
    release = Release(sign=_signing_key(sign) if sign is not None else None, allow=_classes(allow),
                      base=_base_side(base, paths or [], options) if base is not None else None,
                      keep_versions=_keep(keep_versions))
    chosen = list(select or [])
    if changed_since is not None:
        chosen += _changed(paths or [], changed_since)
    tty = sys.stderr.isatty()

    def show(msg: str) -> None:
        sys.stderr.write(f"\r\033[K{msg}")

    result = run(paths or [], out, options, chosen, show if tty else None, release=release)
    if tty:
        sys.stderr.write("\r\033[K")
    _emit(result.diagnostics, format)
    if format == Format.text:
        state = "failed" if result.failed(strict) else (
            f"{out} is up to date" if result.up_to_date else f"wrote {out}")
        sys.stderr.write(f"build {state}: {len(result.compiled)} compiled, {len(result.reused)} unchanged\n")
    raise typer.Exit(EXIT_PROBLEMS if result.failed(strict) else EXIT_OK)


def _classes(text: str | None) -> frozenset[Any] | None:
    from .diff import ChangeClass

    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = [str(c) for c in ChangeClass]
    for name in names:
        if name not in known:
            _usage(f"--allow {name!r}: the classes are {', '.join(known)}")
    return frozenset(ChangeClass(n) for n in names)


def _keep(text: str) -> int | tuple[str, ...]:
    if text.isdigit():
        return int(text)
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    if not keys or not all("@" in k for k in keys):
        _usage(f"--keep-versions {text!r}: a number, or product versions as id@version,...")
    return keys


def _base_side(spec: str, paths: list[Path], options: Any) -> Any:
    import tempfile

    from .changes import SideError, load_side

    with tempfile.TemporaryDirectory(prefix="productkit-base-") as work:  # the side is read into memory
        try:
            return load_side(spec, Path(paths[0]) if paths else Path("."), options, Path(work))
        except SideError as exc:
            _usage(f"--base: {exc}")


def _list_targets() -> NoReturn:
    from .targets import load_targets

    for name, cls in sorted(load_targets().items()):
        sys.stdout.write(f"{name}\t{cls.description}\n")
    raise typer.Exit(EXIT_OK)


def _targets(names: list[str] | None) -> tuple[str, ...]:
    from .options import Options

    if not names:
        return Options().targets
    from .targets import load_targets  # the targets are imported only to check the names given

    known = load_targets(names)
    for name in names:
        if name not in known:
            _usage(f"--target {name!r}: known targets are {', '.join(sorted(known))}")
    return tuple(dict.fromkeys(names))


def _language(lang: str) -> str:
    from .options import LANGUAGES

    if lang not in LANGUAGES:
        _usage(f"--lang {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return lang


def _release_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        _usage(f"--release-date {text!r} is not YYYY-MM-DD")
    from .options import RELEASE_DATES

    if not RELEASE_DATES[0] <= day <= RELEASE_DATES[1]:
        _usage(f"--release-date {text} is outside {RELEASE_DATES[0]}..{RELEASE_DATES[1]}")
    return day


def _signing_key(path: Path) -> bytes:
    from .runtime._build import read_regular
    from .runtime.seal import SigningKeyError, public_of

    try:
        pem = read_regular(path, 64 * 1024)
        public_of(pem)
    except OSError as exc:
        _usage(f"--sign {path}: cannot read the key: {exc.strerror or exc}")
    except SigningKeyError as exc:
        _usage(f"--sign {path}: {exc}")
    return pem


def _changed(paths: list[Path], ref: str) -> list[str]:
    """The products a change since ``ref`` affects; none changed: every product is checked and
    the unchanged ones are taken over from the previous build as they are."""
    from .impact import GitError, changed_products

    try:
        return changed_products(paths, ref)
    except GitError as exc:
        _usage(str(exc))


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


class NotesFormat(str, Enum):
    markdown = "markdown"
    json = "json"


SideArg = Annotated[str, typer.Argument(help="a build folder, or a git reference of the catalogue")]
CatalogueOpt = Annotated[Path, typer.Option("--catalogue", help="the catalogue root a git reference is read from")]


def _diff_of(base: str, head: str, catalogue: Path, release_date: str | None) -> Any:
    import tempfile

    from .changes import SideError, load_side
    from .diff import diff as compare
    from .impact import GitError
    from .options import Options

    options = Options(release_date=_release_date(release_date), cache="auto")
    with tempfile.TemporaryDirectory(prefix="productkit-diff-") as work:
        try:
            return compare(load_side(base, catalogue, options, Path(work)),
                           load_side(head, catalogue, options, Path(work)))
        except (SideError, GitError) as exc:
            _usage(str(exc))


@app.command("diff")
def diff_(base: SideArg, head: SideArg, catalogue: CatalogueOpt = Path("."),
          format: Annotated[DiffFormat, typer.Option("--format")] = DiffFormat.text,
          release_date: Annotated[str | None, typer.Option("--release-date", help="T for refs built here")] = None
          ) -> None:
    """What changed between two builds (or git refs), each product change with its class."""
    import json

    from .changes import render
    from .diagnostics import json_safe

    result = _diff_of(base, head, catalogue, release_date)
    if format == DiffFormat.json:
        sys.stdout.write(json_safe(json.dumps(result.to_json(), ensure_ascii=False, indent=2, sort_keys=True)) + "\n")
    else:
        sys.stdout.write(render(result, format.value))
    raise typer.Exit(EXIT_OK)


@app.command("release-notes")
def release_notes(base: SideArg, head: SideArg, catalogue: CatalogueOpt = Path("."),
                  lang: Annotated[str, typer.Option("--lang", help="zh-CN or en")] = "zh-CN",
                  format: Annotated[NotesFormat, typer.Option("--format")] = NotesFormat.markdown,
                  release_date: Annotated[str | None, typer.Option("--release-date")] = None) -> None:
    """Release notes for business readers: each product change in business words, its class and
    its effective date."""
    from .notes import render_notes

    result = _diff_of(base, head, catalogue, release_date)
    sys.stdout.write(render_notes(result, _language(lang), format.value))
    raise typer.Exit(EXIT_OK)


@app.command()
def keygen(out: Annotated[Path, typer.Option("--out", help="private key file to create (the public key "
                                             "goes to the same name plus .pub)")]) -> None:
    """Create an Ed25519 key pair for signing builds (productkit build --sign)."""
    from .runtime.seal import generate_key_pair, key_id, public_key

    public = out.with_name(out.name + ".pub")
    for path in (out, public):
        if path.exists() or path.is_symlink():
            _usage(f"{path} exists: keygen never overwrites a key")
    private_pem, public_pem = generate_key_pair()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem)
        public.write_bytes(public_pem)
    except OSError as exc:
        _usage(f"cannot write the key: {exc.strerror or exc}")
    sys.stdout.write(f"private key: {out} (keep it secret)\npublic key:  {public} ({key_id(public_key(public_pem))})\n")


@app.command()
def serve(build_dir: Annotated[Path, typer.Argument(metavar="BUILD", help="the build folder to serve")],
          handlers: Annotated[str, typer.Option("--handlers", help="module:attribute of the Handlers registry "
                                                "the products' service steps call")],
          partners: Annotated[Path, typer.Option("--partners", help="partners file: ids, key hashes, "
                                                 "products, rate limits")],
          host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
          store: Annotated[str, typer.Option("--store", help="sqlite:PATH (durable) or memory")] = "memory",
          max_body: Annotated[int, typer.Option("--max-body", min=1024, help="largest request body, bytes")] = 65536,
          verify: Annotated[str, typer.Option("--verify", help="lazy: check each product's files when first "
                                              "used; all: check every file before serving")] = "lazy",
          trusted_key: Annotated[list[Path] | None, typer.Option("--trusted-key", help="public key the build "
                                                                 "must be signed with (repeatable)")] = None) -> None:
    """Serve the products offered on the open-API channel to partner platforms (see build/openapi.json)."""
    import logging
    import sqlite3
    import threading

    try:
        import uvicorn
    except ImportError:
        _usage("productkit serve needs its extra: pip install 'productkit[serve]'")

    from .runtime import Catalog, CatalogError, Engine, MemoryStore, SQLiteStore
    from .runtime._api_store import ApiStore
    from .runtime.errors import InvalidArgument
    from .runtime.handlers import InvalidHandlers, import_handlers
    from .runtime.partners import Partners
    from .runtime.serve import ApiSettings, create_app

    kind, _, path = store.partition(":")
    if kind not in ("sqlite", "memory") or (kind == "sqlite") != bool(path):
        _usage(f"--store {store!r}: expected sqlite:PATH or memory")
    try:
        registry = import_handlers(handlers)
        if verify not in ("lazy", "all"):
            _usage(f"--verify {verify!r}: expected lazy or all")
        catalog = Catalog.load(build_dir, [p.read_bytes() for p in trusted_key] if trusted_key else None,
                               verify=verify)
        known = Partners.load(partners)
    except (InvalidHandlers, InvalidArgument, OSError) as exc:
        _usage(str(exc))
    except CatalogError as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    try:  # a file that is no store, or one a newer productkit wrote, is the caller's to fix
        opened = SQLiteStore(path) if kind == "sqlite" else MemoryStore()
    except (sqlite3.Error, OSError) as exc:
        _usage(f"--store {store!r}: {exc}")
    engine = Engine(catalog, handlers=registry, store=opened)
    engine.recover()
    settings = ApiSettings(known, ApiStore(path if kind == "sqlite" else ":memory:"), max_body)
    try:
        application = create_app(engine, settings)
    except CatalogError as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.stdout.write(f"serving {len(known)} partner(s) on http://{host}:{port} (build {catalog.digest[:19]})\n")
    sys.stdout.flush()
    stop = threading.Event()  # due waits, staff due times and retries fire while the API serves
    timers = threading.Thread(target=engine.run_timers, args=(stop,), name="productkit-timers", daemon=True)
    timers.start()
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        timers.join(timeout=5)


@app.command("partner-key")
def partner_key(partner: Annotated[str, typer.Argument(help="the partner's id, e.g. P100231")]) -> None:
    """Print a new API key for a partner (give it to the partner) and the line for the partners file."""
    from .runtime.partners import new_key

    key, digest = new_key()
    sys.stdout.write(f"key (give to {safe(partner)}, shown once): {key}\n"
                     f"partners file: {{id: {safe(partner)}, key_sha256: \"{digest}\", products: [...]}}\n")


def _assembly(paths: list[Path] | None, product: str, date: str | None = None, lines: bool = False) -> object:
    """The assembly of the product version asked for; with ``lines``, the text explaining a
    product line of that id when no product has it."""
    from .options import Options
    from .validate import validate as run
    from .versions import pick_version

    ref, day = _product_ref(product), _date(date)
    result = run(paths or [], Options())
    ctx = result.context
    found = {k[2]: a for k, a in (ctx.assemblies if ctx else {}).items() if k[1] == ref.id}
    version = pick_version(ref, [_window(v, a) for v, a in found.items()], day)
    if version is None and lines and not found and ctx is not None:
        from .explain import line_text

        text = line_text(ctx, result.catalog, ref)
        if text is not None:
            return text
    if version is None:
        _emit([d for d in result.diagnostics if d.severity.value == "error"], Format.text)
        on = f" on sale on {day}" if day else ""
        known = f" (versions: {', '.join(sorted(found))})" if found else _similar(ctx, ref.id)
        sys.stderr.write(f"productkit: no product '{safe(str(ref))}'{on}{known}\n")
        raise typer.Exit(EXIT_USAGE)
    return found[version]


def _similar(ctx: Any, prefix: str) -> str:
    """The products whose id starts with ``prefix`` (a family named by its common start)."""
    ids = sorted({k[1] for k in (ctx.assemblies if ctx else {}) if k[0] == "Product" and k[1].startswith(prefix)})
    return f"; products whose id starts with it: {', '.join(safe(i) for i in ids)}" if ids else ""


def _window(version: str, asm: Any) -> Any:
    from .checks.dates import window_of
    from .versions import VersionWindow

    w = window_of(asm.product.entry)
    return VersionWindow(version, w.start if w else None, w.until if w else None)


def _product_ref(text: str) -> Any:
    from .versions import parse_ref

    try:
        return parse_ref(text)
    except ValueError as exc:
        _usage(str(exc))


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _usage(f"--date '{text}' is not a date; write YYYY-MM-DD")


DateOpt = Annotated[str | None, typer.Option("--date", help="the version on sale on this day (YYYY-MM-DD)")]


ChannelOpt = Annotated[str | None, typer.Option("--channel", "-c", help="only what runs on this channel")]


def _channel(asm: Any, channel: str | None) -> str | None:
    if channel is not None and channel not in asm.product.channels:
        _usage(f"--channel {channel!r}: {asm.product.model.id} is on {', '.join(asm.product.channels)}")
    return channel


@app.command()
def explain(product: Annotated[str, typer.Argument(help="product or product line id, or id@version")],
            paths: PathsArg = None, date: DateOpt = None, channel: ChannelOpt = None) -> None:
    """Resolved parameters with provenance, and the assembled steps in order; with --channel, the
    steps, screens and conditions of that channel. A product line lists its members too."""
    from .explain import explain_channel_text, explain_text

    found = _assembly(paths, product, date, lines=channel is None)
    if isinstance(found, str):
        sys.stdout.write(found)
    elif channel is not None:
        sys.stdout.write(explain_channel_text(found, _channel(found, channel) or channel))
    else:
        sys.stdout.write(explain_text(found))


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"


@app.command()
def graph(product: str, paths: PathsArg = None,
          format: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.mermaid,
          channel: ChannelOpt = None) -> None:
    """The product's step graph, reduced, with error routes, compensations and channels, as
    Mermaid or Graphviz source."""
    from .explain import graph_source

    asm = _assembly(paths, product)
    sys.stdout.write(graph_source(asm, format.value, _channel(asm, channel)))


@app.command()
def docs(build_dir: Annotated[Path, typer.Argument(metavar="BUILD", help="the build folder")] = Path("build"),
         out: Annotated[Path, typer.Option("--out", "-o", help="folder to write the site to")] = Path("site"),
         catalogue: Annotated[Path, typer.Option("--catalogue", help="the catalogue the build was made "
                                                 "from (lines, components, dictionaries, scenarios)")] = Path("."),
         forms_bundle: Annotated[Path | None, typer.Option("--forms-bundle", help="the form preview script "
                                                           "(default: bundled from tools/forms)")] = None,
         scenarios: Annotated[bool, typer.Option("--scenarios/--no-scenarios",
                                                 help="run the scenarios and show their outcomes")] = True) -> None:
    """A static site of the catalogue (zh-CN and en): products, journeys, live form previews, search."""
    from .docs import make_site

    if not (build_dir / "manifest.json").is_file():
        _usage(f"{build_dir} is not a build folder (no manifest.json); run productkit build first")
    if forms_bundle is not None and not forms_bundle.is_file():
        _usage(f"--forms-bundle {forms_bundle}: no such file")
    result = make_site(build_dir, out, catalogue, forms_bundle, scenarios=scenarios)
    _emit(result.diagnostics, Format.text)
    if result.why_no_previews:
        sys.stderr.write(f"productkit: form previews left empty: {result.why_no_previews}\n")
    if result.pages:
        sys.stdout.write(f"site written: {len(result.pages)} pages, open {(out / 'index.html').resolve().as_uri()}\n")
    failed = any(d.severity.value == "error" for d in result.diagnostics)
    raise typer.Exit(EXIT_PROBLEMS if failed else EXIT_OK)


@app.command()
def lsp() -> None:
    """A language server over stdio: productkit's diagnostics, completion and hover as you type."""
    from .lsp import serve

    raise typer.Exit(serve())


@app.command()
def impact(targets: Annotated[list[str], typer.Argument(help="files, component/line/dictionary ids")],
           root: Annotated[Path, typer.Option("--root", help="catalogue root")] = Path(".")) -> None:
    """Every product affected by a change to the given files or ids (for CI selection)."""
    from .impact import UnknownTarget, affected

    try:
        found = affected(root, targets)
    except UnknownTarget as exc:
        _usage(str(exc))
    for pid in found:
        sys.stdout.write(pid + "\n")


@app.command("test")
def test_(products: Annotated[list[str] | None, typer.Argument(help="product ids or id@version (default: all)")] = None,
          root: Annotated[Path, typer.Option("--root", help="catalogue root")] = Path("."),
          verbose: Annotated[bool, typer.Option("--verbose", "-v", help="print each step taken")] = False,
          coverage: Annotated[bool, typer.Option("--coverage", help="report what the scenarios exercised")] = False,
          min_coverage: Annotated[float | None, typer.Option("--min-coverage", min=0, max=100,
                                                             help="fail below this coverage percent")] = None,
          mutate: Annotated[bool, typer.Option("--mutate", help="change each product in small ways and "
                                               "report the changes no scenario notices")] = False,
          format: Annotated[Format, typer.Option("--format", "-f", help="text or json")] = Format.text,
          date: DateOpt = None) -> None:
    """Run the products' scenario files on the embedded engine, like a test runner."""
    from .scenario_report import RunRequest, run_tests

    if format not in (Format.text, Format.json):
        _usage("test writes --format text or json")
    refs = [_product_ref(p) for p in products or ()]
    request = RunRequest(root, tuple(r.id for r in refs), verbose, coverage or min_coverage is not None,
                         min_coverage, mutate, format.value,
                         versions=tuple((r.id, r.version) for r in refs if r.version), date=_date(date))
    outcome = run_tests(request, sys.stdout)
    if outcome.usage:
        _usage(outcome.usage)
    raise typer.Exit(outcome.exit_code)


@app.command()
def simulate(product: Annotated[str, typer.Argument(help="product id, or id@version")],
             channel: Annotated[str, typer.Option("--channel", "-c", help="channel to run on")] = "mobile",
             data: Annotated[Path | None, typer.Option("--data", help="YAML: context, inputs, handlers")] = None,
             root: Annotated[Path, typer.Option("--root", help="catalogue root")] = Path("."),
             lang: Annotated[str, typer.Option("--lang", help="language of the labels: zh-CN or en")] = "en",
             date: DateOpt = None) -> None:
    """Walk a product on a channel, from a data file or by answering prompts; print each step."""
    from .simulate import simulate as run

    if data is None and not (sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()):
        _usage("simulate without --data asks for each answer on a terminal, and standard input is not "
               "one; give the context, inputs and handler results with --data FILE")
    raise typer.Exit(run(root, product, channel, data, sys.stdout, lang=lang, on=_date(date)))


@app.command()
def worker(temporal: Annotated[str, typer.Option("--temporal", help="Temporal frontend HOST:PORT")],
           build: Annotated[list[Path], typer.Option("--build", help="a build whose applications this worker "
                                                     "runs; repeat to keep older builds' versions running")],
           handlers: Annotated[str, typer.Option("--handlers", help="module:registry of the handlers")],
           task_queue: Annotated[str, typer.Option("--task-queue", help="task queue to poll")] = "productkit",
           namespace: Annotated[str, typer.Option("--namespace", help="Temporal namespace")] = "default") -> None:
    """Run applications on Temporal: poll the task queue for workflows and handler activities."""
    try:
        from .runtime import CatalogError, InvalidArgument
        from .runtime.temporal import load_handlers, serve
    except ImportError as exc:
        _usage(f"worker needs the temporal extra (pip install 'productkit[temporal]'): {exc}")
    host, _, port = temporal.rpartition(":")
    if not host or not port.isdigit():
        _usage(f"--temporal {temporal!r}: expected HOST:PORT")
    try:
        registry = load_handlers(handlers)
        serve(temporal, build, registry, namespace=namespace, task_queue=task_queue)
    except (InvalidArgument, CatalogError) as exc:
        _usage(str(exc))
    except RuntimeError as exc:  # the SDK's connection failures
        _usage(f"cannot reach Temporal at {temporal}: {exc}")
    raise typer.Exit(EXIT_OK)


def main() -> None:
    """Every command through the command-line framework (the console script is
    :func:`productkit.console.main`, which answers a plain ``validate`` without it)."""
    from ._gcpause import hold_collection

    atexit.register(gc.freeze)  # see productkit.console
    hold_collection()
    guarded(app)
