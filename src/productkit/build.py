"""``productkit build``: validate everything, compile products, write the output atomically.

Output layout (what channel services load)::

    <out>/manifest.json                           every product version, digests, lock, changes
    <out>/definitions/<id>@<version>.json         canonical workflow definitions
    <out>/forms/<id>@<version>/<step>.<channel>.json   the forms target
    <out>/bpmn/<id>@<version>.bpmn                 the BPMN target (--target chooses targets)

``<out>`` is a symbolic link to a versioned folder beside it; a new build is written to a new
folder and the link is replaced in one rename, so a build killed at any moment leaves the
previous build intact and loadable. Unchanged products (same input digest) are copied from the
previous build instead of being compiled again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import functools
import hashlib
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import semantic_version

from ._prelink import Linker, Prelinked, prelinking
from ._prelink import Work as PrelinkWork
from .cache import Cache, engine_digest, open_cache
from .checkindex import ChangedDuringRun, Surveyed
from .diagnostics import Diagnostic, Location, Severity, has_errors
from .options import Options
from .output import MARKER, Inside, OutputRefused, Stage, check_out, plain_name, staged_build, tidy
from .runtime.seal import SIGNATURE_FILE, manifest_digest, public_of
from .runtime.seal import sign as sign_manifest

if TYPE_CHECKING:  # the checks, compiler, targets and definition models are imported when
    # something is built, so that an up-to-date rebuild (which only compares digests) starts fast
    from . import ir
    from .assemble import Assembly
    from .checks import CheckContext
    from .compile import Shared
    from .context import Key
    from .diff import ChangeClass, Side
    from .validate import Summary

__all__ = ["BuildResult", "build", "next_business_day"]

MANIFEST_FORMAT = "productkit.manifest/2"  # 2: targets: {name: location} per product


@dataclass(slots=True)
class BuildResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    out: Path | None = None
    manifest: dict[str, Any] | None = None
    up_to_date: bool = False  # nothing changed since the build in ``out``: it was left as it is

    def failed(self, strict: bool = False) -> bool:
        return has_errors(self.diagnostics, strict)


def next_business_day(release: dt.date, days: int, calendar: str = "CN") -> dt.date:
    """The ``days``-th business day after ``release`` under a public-holiday calendar
    (mainland China knows its adjusted working weekends)."""
    import holidays

    cal = holidays.country_holidays(calendar, years=range(release.year, release.year + 2))
    day, left = release, days
    while left > 0:
        day += dt.timedelta(days=1)
        if cal.is_working_day(day):
            left -= 1
    return day


def _business_day(release: dt.date, days: int, calendar: str, cache: Cache | None) -> str:
    """:func:`next_business_day` as ISO text, remembered in the user cache for the holidays
    release that answered it: importing the calendar and building it is a tenth of a second,
    which each build that compiles a dated product would pay again."""
    if cache is None:
        return next_business_day(release, days, calendar).isoformat()
    from importlib.metadata import PackageNotFoundError, version

    try:
        source = f"holidays {version('holidays')}"
    except PackageNotFoundError:
        source = "holidays"
    name = f"{calendar}|{release.isoformat()}|{days}"
    found = cache.get("business-days", name, source)
    if isinstance(found, str):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(found).isoformat()
    day = next_business_day(release, days, calendar).isoformat()
    cache.put("business-days", name, source, day)
    return day


def _date_resolver(options: Options) -> Callable[[str], str | None]:
    from .types import release_offset

    release = options.release_date or dt.date.today()
    cache = open_cache(options.cache)

    @functools.cache  # a build asks for a few offsets, many times
    def business_day(days: int) -> str:
        return _business_day(release, days, options.calendar, cache)

    def resolve(text: str) -> str | None:
        days = release_offset(text)
        return text.strip() if days is None else business_day(days)

    return resolve


def _sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _InputDigests:
    """What a product's output depends on: its files, its lines', its components', dictionaries
    (each by its name and the sha256 of the bytes that were checked). The products of a build
    name the same few thousand files: each file's part of a digest is made once."""

    def __init__(self, options: Options, relative: Callable[[str], str], sha: Callable[[str], str | None]) -> None:
        release = options.release_date or dt.date.today()  # T+n resolves against it
        self.head = f"{_engine_digest()}|{release}|{options.calendar}|{options.targets}|{options.language}"
        self.relative, self.sha = relative, sha
        self.parts: dict[str, tuple[str, str, str]] = {}  # name -> (relative name, name, its part)
        self.rank: dict[str, int] = {}  # name -> its place among the names ranked ahead (see rank_all)
        self.ranked: list[str] = []  # their parts, in that order

    def _part(self, name: str) -> tuple[str, str, str]:
        part = self.parts.get(name)
        if part is None:
            rel = self.relative(name)
            part = self.parts[name] = (rel, name, f"{rel}\0{self.sha(name) or 'missing'}\0")
        return part

    def rank_all(self, names: Iterable[str]) -> None:
        """Order every name a batch of products reads once, ahead: each product's digest then
        sorts whole numbers instead of its hundred (relative name, name) pairs."""
        parts = sorted(map(self._part, set(names)))
        self.rank = {part[1]: i for i, part in enumerate(parts)}
        self.ranked = [part[2] for part in parts]

    def __call__(self, files: Sequence[str]) -> str:
        rank, ranked = self.rank, self.ranked
        try:
            body = "".join([ranked[i] for i in sorted({rank[name] for name in files})])
        except KeyError:  # a name not ranked ahead
            parts = sorted(map(self._part, set(files)))  # by relative name (then name, as each pair is unique)
            body = "".join(part[2] for part in parts)
        return "sha256:" + hashlib.sha256((self.head + body).encode()).hexdigest()


def _engine_digest() -> str:
    """The compiler's own source: a new productkit recompiles everything."""
    return engine_digest()


def _selected(pid: str, select: Sequence[str]) -> bool:
    return not select or any(fnmatch.fnmatchcase(pid, pat) for pat in select)


# A product's build output: its manifest entry (without its input digest), its files in the
# stage (name -> sha256), and what the build's own checks of those files found.
_Made = tuple[dict[str, Any], dict[str, str], list[Diagnostic]]


def _emitter(root: Path, options: Options, stage: Stage, select: Sequence[str] = (),
             previous: _Previous | None = None
             ) -> Callable[[Assembly, CheckContext | None], tuple[_Made | None, tuple[Diagnostic, ...]]]:
    """Compile and emit one clean product into ``stage`` (in whichever process checked it): its
    output, and the targets' diagnostics about it. A product the selection leaves out is only
    asked about (its previous output, if any, is kept); so is, given the ``previous`` build and
    the context that checked the product, one whose inputs are those of its previous output (the
    checks of a change look at every product it may concern; the build keeps the others)."""
    relative, resolve_date = _relative_to(root), _date_resolver(options)
    as_before = _as_before(previous, options, relative) if previous is not None else None
    told = _TargetProblems(options)  # what the targets said of products not compiled
    shared: list[Shared] = []  # what this build's products share: made with the first one

    def make(asm: Assembly, ctx: CheckContext | None = None) -> tuple[_Made | None, tuple[Diagnostic, ...]]:
        from .compile import Shared, compile_product  # imported only when something is compiled
        from .targets import load_targets

        unchanged = as_before(asm, ctx) if as_before is not None and ctx is not None else None
        if unchanged is not None or not _selected(asm.product.model.id, select):
            said = told.get(asm.product.entry.file, unchanged)
            if said is None:
                defn = compile_product(asm, resolve_date, relative, options.calendar, digest=False)
                registry = load_targets(options.targets)
                said = tuple(d for name in options.targets if name in registry
                             for d in registry[name](options).problems(defn))
                told.put(asm.product.entry.file, unchanged, said)
            return None, said
        if not shared:
            shared.append(Shared())
        defn = compile_product(asm, resolve_date, relative, options.calendar, shared=shared[0])
        produced, locations, problems, said = _artifacts(defn, options, shared[0].steps)
        for name, data in produced.items():
            stage.write(name, data)
        shas = {name: _sha(data) for name, data in produced.items()}
        return (_entry(defn, produced, locations), shas, problems), said

    return make


class _TargetProblems:
    """What the targets said of a product the build did not compile, kept in the user cache by
    the digest of the product's inputs (see :class:`_InputDigests`) and the options and checking
    libraries: what they say is a function of the definition, which is one of those inputs."""

    _NAMESPACE = "target-problems"

    def __init__(self, options: Options) -> None:
        from .validate import libraries

        self.cache, self.context = open_cache(options.cache), f"{options!r}|{libraries()}"

    def get(self, file: str, inputs: str | None) -> tuple[Diagnostic, ...] | None:
        if self.cache is None or inputs is None:
            return None
        from .diagnostics import diagnostic_from_data

        found = self.cache.get(self._NAMESPACE, file, f"{inputs}|{self.context}")
        try:
            return tuple(diagnostic_from_data(d) for d in found) if isinstance(found, list) else None
        except ValueError:
            return None

    def put(self, file: str, inputs: str | None, said: tuple[Diagnostic, ...]) -> None:
        if self.cache is not None and inputs is not None:
            from .diagnostics import diagnostic_to_data

            self.cache.put(self._NAMESPACE, file, f"{inputs}|{self.context}", [diagnostic_to_data(d) for d in said])


def _as_before(previous: _Previous, options: Options, relative: Callable[[str], str]
               ) -> Callable[[Assembly, CheckContext], str | None]:
    """A product's input digest when its inputs are those the previous build compiled it from
    (the digest as ``_plan`` works it out; were the two to differ, the plan compiles the product
    afterwards), else None."""
    from .checks.products import input_files

    before = previous.products
    # per catalogue checked (held, so that its id is not another's): its dictionaries' files, and
    # the digests of its products' inputs
    seen: dict[int, tuple[Any, list[str], _InputDigests]] = {}

    def same(asm: Assembly, ctx: CheckContext) -> str | None:
        model = asm.product.model
        old = before.get(f"{model.id}@{model.version}")
        if old is None:
            return None
        catalog = ctx.catalog
        if id(catalog) not in seen:
            seen[id(catalog)] = (catalog, [e.file for e in catalog.kind("ParameterDictionary")],
                                 _InputDigests(options, relative, catalog.digests.get))
        _, files, digest = seen[id(catalog)]
        inputs = digest([*input_files(asm.product), *files])
        return inputs if old.get("inputs") == inputs else None

    return same


def _artifacts(defn: ir.WorkflowDefinition, options: Options, steps: ir.DumpedSteps | None = None
               ) -> tuple[dict[str, bytes], dict[str, str], list[Diagnostic], tuple[Diagnostic, ...]]:
    """The definition and every selected target's files; ``targets`` maps each target that
    wrote something to its location; the build's checks of the files; the targets' diagnostics
    (``steps``: the JSON of the steps the build's definitions share)."""
    from . import ir
    from .targets import load_targets

    files = {_definition_name(defn): ir.dump(defn, steps).encode("utf-8")}
    locations: dict[str, str] = {}
    said: list[Diagnostic] = []
    registry = load_targets(options.targets)
    problems = _round_trip(defn, files[_definition_name(defn)])
    for name in options.targets:
        target = registry[name](options)
        emitted = target.emit(defn)
        said.extend(emitted.diagnostics)
        if emitted.files:
            files.update(emitted.files)
            locations[name] = emitted.location
            problems += [_unsound(file, f"the {name} target wrote {message}")
                         for file, message in target.verify(emitted.files)]
    return files, locations, problems, tuple(said)


def _combined(root: Path, plan: _Plan, options: Options, scenarios: list[Path] | None) -> list[Diagnostic]:
    """Each target's build-wide files (the OpenAPI document of every product offered), made from
    its per-product files in this build, compiled now or kept, and checked like them.
    ``scenarios``: the catalogue's scenario files, as the fingerprint found them (None: look)."""
    from .targets import load_targets
    from .targets.base import BuildView

    registry, problems = load_targets(options.targets), []
    view = BuildView(root, options.release_date or dt.date.today(), plan.files, plan.entries, scenarios)
    for name in options.targets:
        target = registry[name](options)
        made = target.combine(_Under(plan.files, f"{name}/"), view)
        problems += [_unsound(file, f"the {name} target wrote {message}")
                     for file, message in target.verify(made, view)]
        plan.files.memory.update(made)
    return problems


def _round_trip(defn: ir.WorkflowDefinition, text: bytes) -> list[Diagnostic]:
    """The definition as written loads back equal to what was compiled."""
    from . import ir

    try:
        same = ir.load(text) == defn
    except ValueError as exc:
        return [_unsound(_definition_name(defn), f"the definition does not load back: {exc}")]
    return [] if same else [_unsound(_definition_name(defn), "the definition loads back different")]


def _unsound(name: str, message: str) -> Diagnostic:
    """A file the build wrote failed its own check: a productkit bug; the previous build stays."""
    return Diagnostic("PK504", f"{name}: {message}", Location(name),
                      hint="the previous build was kept; please report this with the catalogue")


def _definition_name(defn: ir.WorkflowDefinition) -> str:
    return f"definitions/{defn.id}@{defn.version}.json"


@dataclass(slots=True)
class _Previous:
    """The build in ``out`` before this one, with its seals checked."""

    manifest: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    seals: dict[str, str] = field(default_factory=dict)  # file -> sha256 the manifest sealed
    stamps: _Stamps | None = None
    stamp: tuple[int, ...] | None = None  # the manifest file's (size, mtime, ctime, inode) when read
    linked: Prelinked | None = None  # its files found as sealed and linked into the stage already
    inside: Callable[[str], bool] = field(default=lambda name: False)  # see output.Inside
    named: dict[int, tuple[Any, list[str]]] = field(default_factory=dict)  # id(entry) -> entry, its files

    def names(self, entry: Any) -> list[str]:
        """The files of a product entry of its manifest (see :func:`_names_in`), worked out once."""
        found = self.named.get(id(entry))
        if found is None or found[0] is not entry:
            found = self.named[id(entry)] = (entry, _names_in(entry))
        return found[1]

    def prelink_work(self) -> PrelinkWork | None:
        """What a child linking this build's product files into the next stage is given."""
        if self.folder is None:
            return None
        names = [n for entry in self.manifest.get("products", []) for n in self.names(entry)]
        stamps = self.stamps.files if self.stamps is not None else {}
        settled = (self.stamps.now if self.stamps is not None else time.time_ns()) - _Stamps.SETTLED_NS
        return PrelinkWork(os.fspath(self.folder), names, self.seals, stamps, settled)

    def prelinked(self, linked: Prelinked) -> None:
        self.linked = linked
        if self.stamps is not None:
            self.stamps.seen(linked.saw)

    @property
    def products(self) -> dict[str, dict[str, Any]]:
        return {f"{p['id']}@{p['version']}": p for p in self.manifest.get("products", [])}

    def reuse(self, entry: Mapping[str, Any]) -> dict[str, str] | None:
        """The files of a product of the previous build (name -> sha256), if every one is as
        it was sealed."""
        if self.folder is None:
            return None
        names = self.names(entry)
        if not names:
            return None
        if self.linked is not None:  # each was checked against its seal (and found inside) before it was linked
            sealed = self.linked.sealed
            return {n: self.seals[n] for n in names} if all(map(sealed, names)) else None
        if not all(map(self.inside, names)):
            return None
        shas = {}
        try:
            for name in names:
                shas[name] = self.sha(name)
        except (OSError, KeyError, TypeError):
            return None
        return shas if all(self.seals.get(n) == sha for n, sha in shas.items()) else None

    def sha(self, name: str) -> str:
        """The sha256 of one of its files: its seal when the file's stamp is the one recorded
        when it was last read (see :class:`_Stamps`), else read and hashed."""
        assert self.folder is not None
        path = os.path.join(self.folder, name)
        if self.stamps is not None and self.stamps.same(name, path) and name in self.seals:
            return self.seals[name]
        with open(path, "rb") as fh:
            sha = _sha(fh.read())
        if self.stamps is not None and sha == self.seals.get(name):
            self.stamps.saw(name, path)
        return sha


class _Stamps:
    """The ``lstat`` stamps (size, mtime, inode, ctime) of a build's files as they were when last
    read and found to match their seals, kept in the user cache: a file with the same stamp is
    not read again. A stamp is recorded only for a file last changed well before it was read (a
    file system stamps times coarsely: a change just after the read could keep the stamp). A
    kept file is linked into the next build, which changes its ctime: the next build records the
    link's stamp as soon as it is made (the same file, just read as matching its seal)."""

    _NAMESPACE = "build-stamps"
    SETTLED_NS = 2_000_000_000

    def __init__(self, cache: Cache, folder: Path, manifest_digest: str) -> None:
        self.cache, self.name, self.key = cache, os.path.realpath(folder), manifest_digest
        value = cache.get(self._NAMESPACE, self.name, self.key)
        self.files: dict[str, list[int]] = dict(value) if isinstance(value, dict) else {}
        self.added = False
        self.now = time.time_ns()
        self.carried: str | None = None  # the folder whose stamps :meth:`carry` recorded

    @staticmethod
    def _stamp(path: str) -> list[int] | None:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns] if stat.S_ISREG(st.st_mode) else None

    def same(self, name: str, path: str) -> bool:
        recorded = self.files.get(name)
        return recorded is not None and recorded == self._stamp(path)

    def saw(self, name: str, path: str) -> None:
        stamp = self._stamp(path)
        if stamp is not None and max(stamp[1], stamp[3]) < self.now - self.SETTLED_NS:
            self.files[name] = stamp
            self.added = True

    def seen(self, stamps: Mapping[str, list[int]]) -> None:
        """Record the stamps of files another process found as sealed (see :meth:`saw`)."""
        if stamps:
            self.files.update(stamps)
            self.added = True

    def save(self) -> None:
        if self.added:
            self.cache.put(self._NAMESPACE, self.name, self.key, self.files)
            self.added = False

    def drop(self) -> None:
        """Forget this build's stamps: it was retired (by a build in another folder)."""
        if self.name != self.carried:
            self.cache.drop(self._NAMESPACE, self.name)
        self.added = False

    def carry(self, folder: Path, manifest_digest: str, kept: Mapping[str, str],
              linked: Mapping[str, list[int]] | None = None) -> None:
        """Record for the build in ``folder`` the stamps of the files it kept from this one: each
        is the file this build just found as sealed (its content settled), linked. ``linked``:
        the stamps of the links another process made, as it found them."""
        base, carried = os.fspath(folder), {}
        for name in kept:
            stamp: list[int] | None
            if linked is not None and name in linked:
                stamp = linked[name]
            else:
                stamp = self._stamp(os.path.join(base, name)) if name in self.files else None
            if stamp is not None and name in self.files and stamp[:3] == self.files[name][:3]:  # same content, inode
                carried[name] = stamp
        if carried:
            self.carried = os.path.realpath(folder)
            self.cache.put(self._NAMESPACE, self.carried, manifest_digest, carried)


def _previous(out: Path, options: Options, before: _Previous | None = None) -> _Previous:
    """The previous build in ``out`` when its manifest is intact (its digest holds); ``before``
    itself when it was read from the same manifest file, unchanged since."""
    folder = out.resolve()
    try:
        with open(folder / "manifest.json", "rb") as fh:
            st = os.fstat(fh.fileno())
            stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            if before is not None and before.folder == folder and before.stamp == stamp:
                return before
            manifest = orjson.loads(fh.read())
    except (OSError, ValueError, RecursionError):
        return _Previous()
    if not isinstance(manifest, dict) or manifest.get("digest") != manifest_digest(manifest):
        return _Previous()
    files = manifest.get("files")
    cache = open_cache(options.cache)
    stamps = _Stamps(cache, folder, str(manifest["digest"])) if cache is not None else None
    return _Previous(manifest, folder, dict(files) if isinstance(files, dict) else {}, stamps, stamp,
                     inside=Inside(folder))


@dataclass(frozen=True, slots=True)
class Release:
    """How a build is released: signed, gated by change class, keeping versions in flight."""

    sign: bytes | None = None  # an Ed25519 private key (PEM): the manifest is signed with it
    allow: frozenset[ChangeClass] | None = None  # the change classes this build may ship
    base: Side | None = None  # what the gate compares with (default: the previous build in out)
    keep_versions: int | tuple[str, ...] = 0  # previous versions kept for applications in flight
    grace: float = 600.0  # seconds a retired build stays for its readers


# Seconds spent waiting for the output (another build of it running) after which the catalogue is
# surveyed again before it is checked: what was edited during the wait is built, not refused (PK513).
_SURVEY_AGAIN_AFTER = 0.5


def build(paths: Sequence[Path | str] = (), out: Path = Path("build"), options: Options = Options(),
          select: Sequence[str] = (), progress: Callable[[str], None] | None = None,
          release: Release = Release()) -> BuildResult:
    """Validate, compile the selected products, and atomically replace ``out``.

    ``out`` must be a new path or a previous build (see :mod:`productkit.output`). A selection
    (ids or globs) builds only those products and keeps every other product of the previous
    build as it was; a selection that matches nothing is an error. ``release`` says how the build
    is released: signed, gated by change class, keeping versions in flight (see :class:`Release`)."""
    result = BuildResult()
    try:
        check_out(out, [_first_root(paths)])
    except OutputRefused as exc:
        result.diagnostics.append(Diagnostic("PK505", str(exc), Location(str(out))))
        return result
    first = _previous(out, options)
    # A child checks the previous build's files while the catalogue is fingerprinted; it links
    # them into the stage only if there is something to build (see _prelink).
    with prelinking(first.prelink_work()) as linker:
        found = _fingerprint(paths, options, select, release)
        if not _up_to_date(first, out, found.fingerprint, found.root, result):
            return _staged(paths, out, options, select, found, result, progress, release, first, linker)
    tidy(out)
    return result


def _first_root(paths: Sequence[Path | str]) -> Path:
    """The catalogue root of the first path given (the working folder when none is)."""
    from .sources import root_of

    return root_of(Path(paths[0]) if paths else Path.cwd())


def _staged(paths: Sequence[Path | str], out: Path, options: Options, select: Sequence[str], found: _Found,
            result: BuildResult, progress: Callable[[str], None] | None, release: Release,
            first: _Previous, linker: Linker | None) -> BuildResult:
    """The build, under the output's lock, in a stage committed at the end."""
    with contextlib.ExitStack() as stack:
        asked = time.monotonic()
        try:
            stage = stack.enter_context(staged_build(out, release.grace))
        except OSError as exc:
            result.diagnostics.append(Diagnostic("PK502", f"cannot write the build: {exc}", Location(str(out))))
            return result
        if time.monotonic() - asked > _SURVEY_AGAIN_AFTER:  # another build held the output: the catalogue
            found = _fingerprint(paths, options, select, release)  # may have changed since
        previous = _previous(out, options, first)  # again, under the lock: another build may have finished meanwhile
        if _up_to_date(previous, out, found.fingerprint, found.root, result):
            return result
        if previous is not first and linker is not None:  # the child checked a build retired since
            linker.stop()
            linker = stack.enter_context(prelinking(previous.prelink_work()))
        if linker is not None:
            stack.callback(linker.stop)  # the child ends before the stage is removed (a failed build)
            linker.go(stage)
        try:
            return _validated_and_written(paths, out, previous, options, select, found, result, progress,
                                          release, stage, linker)
        except OSError as exc:  # writing the stage (in this process or a worker) failed
            result.diagnostics.append(Diagnostic("PK502", f"cannot write the build: {exc}", Location(str(out))))
            return result
        except ChangedDuringRun as exc:  # what was checked is no longer what would be compiled
            result.diagnostics.append(Diagnostic(
                "PK513", "this file changed while the build was reading the catalogue; nothing was written",
                Location(exc.name), hint="build again once the catalogue is no longer being edited"))
            return result


def _validated_and_written(paths: Sequence[Path | str], out: Path, previous: _Previous, options: Options,
                           select: Sequence[str], found: _Found, result: BuildResult,
                           progress: Callable[[str], None] | None, release: Release, stage: Stage,
                           linker: Linker | None) -> BuildResult:
    from .shape import did_you_mean
    from .validate import validate

    root = found.root
    checked = validate(paths, options, emit=_emitter(root, options, stage, select, previous), summary=True,
                       surveyed=found.surveyed)
    result.diagnostics = list(checked.diagnostics)
    if checked.failed(options.strict):
        return result
    ctx, summary = checked.context, checked.summary
    assert ctx is not None and summary is not None
    known = sorted({k[1] for k in summary.keys.values() if k[0] == "Product"})
    unmatched = [pat for pat in select if not any(fnmatch.fnmatchcase(k, pat) for k in known)]
    if unmatched:
        result.diagnostics.append(Diagnostic(
            "PK506", f"--select {unmatched[0]!r} matches no product of the catalogue", Location(str(root)),
            hint=did_you_mean(unmatched[0], known) or f"products: {', '.join(known[:8])}"))
        return result
    from ._gcpause import gc_paused, promote

    # What is compiled, planned and written lives until the build is done: a collection over the
    # loaded catalogue (a second at scale 1) would find little to free (see _gcpause).
    with gc_paused():
        try:
            done, root = _Checked(ctx, summary), checked.catalog.root
            digests = _digests(done, root, options, select, previous)  # while the child may still be linking
            if linker is not None:
                _take_links(linker, previous, stage)
            scenarios = found.scenarios if root == found.root else None
            return _compile_and_write(done, root, out, previous, options, select, found.fingerprint, result,
                                      progress, release, stage, digests, scenarios)
        finally:
            _stamps_kept(previous, result)
            promote()


@dataclass(slots=True)
class _Checked:
    """What the checks left: the context of the products checked afresh (what they made of them)
    and a summary of every document (see :class:`~productkit.validate.Summary`)."""

    ctx: CheckContext
    summary: Summary
    products: dict[Key, str] = field(init=False)  # product key -> its file

    def __post_init__(self) -> None:
        self.products = {key: name for name, key in self.summary.keys.items() if key[0] == "Product"}

    def inputs(self, key: Key) -> list[str] | None:
        return self.ctx.inputs.get(key) or self.summary.inputs.get(self.products[key])

    def load(self, key: Key) -> None:
        """Make sure the product's document is known, loading it when the checks did not need it."""
        if key not in self.ctx.assemblies:
            entry = self.summary.load(self.products[key])
            if entry is None:  # it held this product when the catalogue was checked
                raise ChangedDuringRun(self.products[key])
            self.ctx.assemblies.add(entry)

    def assembly(self, key: Key) -> Assembly:
        self.load(key)
        return self.ctx.assemblies[key]

    def documents(self) -> dict[str, str]:
        """kind:id@version -> the digest of its content, for every document: what version
        discipline compares."""
        keys = sorted((key, name) for name, key in self.summary.keys.items())
        return {f"{k[0]}:{k[1]}@{k[2]}": self.summary.documents[name] for k, name in keys}

    def document_files(self) -> dict[str, str]:
        return {f"{k[0]}:{k[1]}@{k[2]}": name for name, k in self.summary.keys.items()}


def _compile_and_write(checked: _Checked, root: Path, out: Path, previous: _Previous, options: Options,
                       select: Sequence[str], fingerprint: str, result: BuildResult,
                       progress: Callable[[str], None] | None, release: Release, stage: Stage,
                       digests: list[_Digest], scenarios: list[Path] | None) -> BuildResult:
    from ._gcpause import gc_frozen, gc_paused
    from .governance import version_discipline
    from .parallel import map_ordered

    ctx = checked.ctx
    plan = _plan(digests, previous, result, stage)
    _keep_versions(checked, previous, release.keep_versions, plan, result)
    make = _emitter(root, options, stage)  # everything planned, selected or not (a damaged kept one)
    fresh = [key for _, key, _ in plan.todo if key not in ctx.made]

    def compile_one(key: Key) -> tuple[_Made | None, tuple[Diagnostic, ...]]:
        checked.load(key)  # loaded and assembled here, in the worker (its findings are known)
        return make(ctx.to_compile(key), None)

    # what the checks did not make in passing (their results came from the cache) is made now
    with gc_frozen(), gc_paused():  # as for the checks: see _gcpause
        compiled = map_ordered(compile_one, fresh)
    for key, (made, said) in zip(fresh, compiled, strict=True):
        assert made is not None  # this emitter selects everything
        ctx.made[key] = made
        result.diagnostics.extend(d for d in said if d.severity is Severity.ERROR)
    for pid, key, digest in plan.todo:
        entry, produced, problems = ctx.made.pop(key)
        result.diagnostics.extend(problems)
        plan.files.staged.update(produced)
        plan.entries.append({**entry, "inputs": digest})
        result.compiled.append(pid)
        if progress is not None:
            progress(f"compiled {pid}")
    result.diagnostics += _combined(root, plan, options, scenarios)
    documents = checked.documents()
    result.diagnostics += version_discipline(previous.manifest.get("documents", {}), documents,
                                             checked.document_files(), Severity(options.version_discipline))
    changes = _changes(previous, plan, options, release, str(out))
    result.diagnostics += changes[1]
    if has_errors(result.diagnostics, options.strict):
        return result
    # Diagnostics are kept with catalogue-relative paths, so an up-to-date rebuild replays them.
    relative = _relative_to(root)
    kept = [{**d.to_json(), "file": relative(d.location.file)} for d in result.diagnostics]
    manifest = _manifest(plan.entries, changes[0], options, {n: plan.files.sha(n) for n in plan.files},
                         {"fingerprint": fingerprint, "diagnostics": kept}, documents)
    from .ir import compact_json

    plan.files.memory["manifest.json"] = compact_json(manifest).encode()
    if release.sign is not None:
        plan.files.memory[SIGNATURE_FILE] = sign_manifest(plan.files.memory["manifest.json"], release.sign)
    # the links' stamps, taken by the child that made them before the stage is renamed
    link_stamps = previous.linked.link_stamps() if previous.linked is not None and previous.stamps else None
    try:
        folder = stage.commit(plan.files, plan.files.kept, plan.files.staged)
    except OSError as exc:
        result.diagnostics.append(Diagnostic("PK502", f"cannot write the build: {exc}", Location(str(out))))
        return result
    if previous.stamps is not None:  # a kept file is the same file (linked), with the same stamp
        # (as the child found it, unless the commit removed a retired build: its links to the
        # same files changed their ctime since; they are looked at again)
        previous.stamps.carry(folder, str(manifest["digest"]), plan.files.kept, None if stage.swept else link_stamps)
    result.out, result.manifest = out, manifest
    return result


def _stamps_kept(previous: _Previous, result: BuildResult) -> None:
    """The previous build's stamps once a build is done with them: dropped when the build was
    committed (its own were recorded by :meth:`_Stamps.carry`: nobody builds on a retired build,
    and an entry per build would fill the user cache), else saved with those this build added."""
    if previous.stamps is not None:
        if result.out is not None:
            previous.stamps.drop()
        else:
            previous.stamps.save()


def _take_links(linker: Linker, previous: _Previous, stage: Stage) -> None:
    """What the child linked into the stage, for the plan to keep; a child that failed leaves
    the stage empty again, and the plan checks and links the files itself."""
    linked = linker.result()
    if linked is None:
        shutil.rmtree(stage.folder, ignore_errors=True)
        stage.folder.mkdir()
        return
    previous.prelinked(linked)
    stage.prelinked, stage.unlinked = set(linked.linked), set(linked.unlinked)


def _changes(previous: _Previous, plan: _Plan, options: Options, release: Release,
             where: str) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The manifest's classified changes, and the gate's verdict when classes are restricted."""
    from .diff import diff
    from .governance import classified_changes, gate, relevant_diff, side_of_files

    # The targets that wrote something for a product, as the previous manifest records them: a
    # target with nothing to say about any product (openapi without open-api products) is no change.
    written = sorted({t for entry in plan.entries for t in entry.get("targets", {})})
    found = relevant_diff(previous.manifest, previous.folder, plan.entries, plan.files, written)
    before = {f"{p['id']}@{p['version']}": p.get("digest") for p in previous.manifest.get("products", [])}
    after = {f"{p['id']}@{p['version']}": p["digest"] for p in plan.entries}
    changes = classified_changes(found, before, after, (before, after))
    if release.allow is None:
        return changes, []
    gated = diff(release.base, side_of_files(plan.files, written)) if release.base is not None else found
    return changes, gate(gated, release.allow, where)


def _keep_versions(checked: _Checked, previous: _Previous, keep: int | tuple[str, ...], plan: _Plan,
                   result: BuildResult) -> None:
    """Previous versions the catalogue no longer has, kept for applications in flight: the
    ``keep`` newest per product (a number) or those named (id@version)."""
    if not keep or previous.folder is None:
        return
    present = {f"{k[1]}@{k[2]}" for k in checked.products}
    gone = [e for key, e in previous.products.items() if key not in present]
    gone.sort(key=lambda e: (e["id"], semantic_version.Version(e["version"])), reverse=True)
    counts: dict[str, int] = {}
    for entry in gone:
        key = f"{entry['id']}@{entry['version']}"
        counts[entry["id"]] = counts.get(entry["id"], 0) + 1
        wanted = key in keep if isinstance(keep, tuple) else counts[entry["id"]] <= keep
        reused = previous.reuse(entry) if wanted else None
        if reused is not None:
            plan.files.keep(previous.folder, reused)
            plan.entries.append({**entry, "kept": True})
            result.reused.append(key)


class _Files(Mapping[str, bytes]):
    """The files of the build being made, by name: written into the stage as their products
    were compiled (``staged``: name -> sha256), kept from the previous build (``kept``: linked at
    the commit), or in memory until the commit (the manifest, build-wide files). Bytes are read
    back only when asked for, so no process holds a whole build."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.staged: dict[str, str] = {}
        self.kept: dict[str, str] = {}  # name -> the path of the same file in the previous build
        self.kept_shas: dict[str, str] = {}
        self.memory: dict[str, bytes] = {}

    def keep(self, folder: Path, shas: Mapping[str, str]) -> None:
        base = os.fspath(folder) + os.sep  # (each name a plain relative one: see _names_in)
        for name, sha in shas.items():
            self.kept[name], self.kept_shas[name] = base + name, sha

    def sha(self, name: str) -> str:
        if name in self.memory:
            return _sha(self.memory[name])
        return self.staged.get(name) or self.kept_shas[name]

    def __getitem__(self, name: str) -> bytes:
        if name in self.memory:
            return self.memory[name]
        if name in self.staged:
            return self.stage.path(name).read_bytes()
        with open(self.kept[name], "rb") as fh:
            return fh.read()

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.kept), **dict.fromkeys(self.staged), **dict.fromkeys(self.memory)})

    def __len__(self) -> int:
        return len(set(self.kept) | set(self.staged) | set(self.memory))

    def __contains__(self, name: object) -> bool:
        return name in self.memory or name in self.staged or name in self.kept


class _Under(Mapping[str, bytes]):
    """The files of a build below one folder, read only when asked for."""

    def __init__(self, files: Mapping[str, bytes], prefix: str) -> None:
        self.files = files
        self.names = [n for n in files if n.startswith(prefix)]
        self.known = set(self.names)

    def __getitem__(self, name: str) -> bytes:
        if name not in self.known:
            raise KeyError(name)
        return self.files[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(slots=True)
class _Plan:
    files: _Files
    entries: list[dict[str, Any]] = field(default_factory=list)
    todo: list[tuple[str, Key, str]] = field(default_factory=list)  # pid, product, input digest


# A product to build or keep: its key and id@version, its previous manifest entry (if any),
# whether the selection chose it, and the digest of its inputs.
_Digest = tuple[tuple[str, str, str], str, dict[str, Any] | None, bool, str]


def _digests(checked: _Checked, root: Path, options: Options, select: Sequence[str],
             previous: _Previous) -> list[_Digest]:
    """Every product to build or keep, with the digest of its inputs (see _InputDigests)."""
    from .checks.products import input_files

    relative = _relative_to(root)
    dictionary_files = sorted({n for n, k in checked.summary.keys.items() if k[0] == "ParameterDictionary"})
    before, input_digest = previous.products, _InputDigests(options, relative, checked.summary.shas.get)
    read: list[tuple[Key, str, dict[str, Any] | None, bool, list[str]]] = []
    for key in sorted(checked.products):
        pid, old = f"{key[1]}@{key[2]}", before.get(f"{key[1]}@{key[2]}")
        chosen = _selected(key[1], select)
        if not chosen and old is None:
            continue  # not selected and not in the previous build: nothing to keep
        inputs = checked.inputs(key)
        if inputs is None:  # the checks did not say what it reads: assemble it to find out
            inputs = input_files(checked.assembly(key).product)
        read.append((key, pid, old, chosen, [*inputs, *dictionary_files]))
    input_digest.rank_all(name for *_, files in read for name in files)
    return [(key, pid, old, chosen, input_digest(files)) for key, pid, old, chosen, files in read]


def _plan(digests: list[_Digest], previous: _Previous, result: BuildResult, stage: Stage) -> _Plan:
    """What to compile, and what to take over from the previous build: unchanged products, and
    products the selection leaves out (kept as they were)."""
    plan = _Plan(_Files(stage))
    for key, pid, old, chosen, digest in digests:
        if old is not None and (old.get("inputs") == digest or not chosen):
            reused = previous.reuse(old)
            if reused is not None and previous.folder is not None:
                plan.files.keep(previous.folder, reused)
                plan.entries.append(old)
                result.reused.append(pid)
                continue
            result.diagnostics.append(Diagnostic(
                "PK507", f"{pid}: a file of the previous build no longer matches its seal (edited or "
                "deleted after the build); it is compiled again", Location(str(previous.folder)),
                Severity.WARNING))
        plan.todo.append((pid, key, digest))
    return plan


@dataclass(frozen=True, slots=True)
class _Found:
    """What a build found in the catalogue before checking it: the fingerprint of everything it
    depends on, the first root, that root's survey (see :func:`_surveyed`) and its scenarios."""

    fingerprint: str
    root: Path
    surveyed: Surveyed | None
    scenarios: list[Path] | None


def _fingerprint(paths: Sequence[Path | str], options: Options, select: Sequence[str],
                 release: Release) -> _Found:
    """Everything a build depends on: every catalogue file's bytes (by path relative to its
    root), the scenarios' too (the OpenAPI document's examples come from them), productkit's own
    source, the options, the selection and the signing key. Also the survey of the first root's
    files, when there is one, for the validation to go by, and its scenario files."""
    from .sources import discover_all, root_of

    h = hashlib.sha256()
    h.update(b"signed by " + public_of(release.sign) if release.sign is not None else b"unsigned")
    h.update(f"|{sorted(release.allow or ())}|{release.keep_versions}|{release.base is not None}".encode())
    day = options.release_date or dt.date.today()
    h.update(f"{engine_digest()}|{day}|{options.calendar}|{options.targets}|{options.language}|{options.strict}|"
             f"{options.version_discipline}|{sorted(select)}|{options.max_file_bytes}|{options.max_depth}".encode())
    roots: list[Path] = []
    handed: Surveyed | None = None
    first_scenarios: list[Path] | None = None
    for given in [Path(p) for p in paths] or [Path.cwd()]:
        root = root_of(given)
        roots.append(root)
        chosen, scenarios = discover_all(root) if given.is_dir() else ([os.fspath(given)], [])
        if len(roots) == 1 and given.is_dir():
            first_scenarios = scenarios
        inside = os.fspath(root) + os.sep
        surveyed = _surveyed(root, chosen, options) if given.is_dir() else None
        if surveyed is not None:  # every file's sha256, most from their stamps
            handed = handed or (surveyed if given.resolve() == root else None)
            for path, sha in zip(chosen, surveyed.seen.shas.values(), strict=True):  # discover's order: sorted
                h.update(path[len(inside):].replace(os.sep, "/").encode() + b"\0" + sha.encode())
        for file in [*(chosen if surveyed is None else ()), *scenarios]:  # in the order paths sort
            h.update(_file_part(file, inside))
    handed = handed if handed is not None and handed.root == roots[0] else None
    return _Found("sha256:" + h.hexdigest(), roots[0], handed, first_scenarios)


def _file_part(path: str | Path, inside: str) -> bytes:
    """A file's part of the fingerprint: its name below the root and the sha256 of its bytes."""
    name = os.fspath(path)
    real = os.path.realpath(name)
    try:
        if not real.startswith(inside):
            raise ValueError(name)
        rel = real[len(inside):].replace(os.sep, "/")
        if os.path.isfile(real):
            with open(real, "rb") as fh:
                data = fh.read()
        else:
            data = b"<not a regular file>"
    except (OSError, ValueError):
        rel, data = name, b"<unreadable>"
    return rel.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode()


def _surveyed(root: Path, files: list[str], options: Options) -> Surveyed | None:
    """The survey of ``files``, each read only where its stamp differs from the one the check
    index recorded (see :mod:`productkit.checkindex`); None without a cache, or when a file is not
    a plain one below the root (the caller then reads every file)."""
    from .checkindex import Index, now_ns, survey
    from .loader import LoadLimits
    from .sources import SOURCE_DIRS
    from .validate import index_context

    cache = open_cache(options.cache)
    inside = os.fspath(root) + os.sep
    if cache is None or any((root / d).is_symlink() for d in SOURCE_DIRS):
        return None
    if not all(f.startswith(inside) for f in files):
        return None
    context, started = index_context(root, options), now_ns()
    known = Index.read(cache, root, context)
    seen = survey(files, LoadLimits(options.max_file_bytes, options.max_depth), known, started)
    if seen is None:
        return None
    return Surveyed(root, context, files, known, seen, started)


def _up_to_date(previous: _Previous, out: Path, fingerprint: str, root: Path, result: BuildResult) -> bool:
    """True when ``out`` holds an intact build of exactly these inputs: it is kept, byte for
    byte, and its diagnostics (warnings) are reported again. Intact: the manifest's digest holds,
    every file it seals is there with that content, and there is no file it does not list."""
    recorded = previous.manifest.get("build")
    if previous.folder is None or not isinstance(recorded, dict) or recorded.get("fingerprint") != fingerprint:
        return False
    if not _intact(previous):
        return False
    try:
        result.diagnostics = [_diagnostic(d, root) for d in recorded.get("diagnostics", [])]
    except (KeyError, TypeError, ValueError):
        return False
    result.reused = list(previous.products)
    result.out, result.manifest, result.up_to_date = out, previous.manifest, True
    return True


def _intact(previous: _Previous) -> bool:
    folder = previous.folder
    assert folder is not None
    on_disk = _listed(folder)
    expected = set(previous.seals) | {"manifest.json", MARKER}
    if SIGNATURE_FILE in on_disk:
        expected.add(SIGNATURE_FILE)
    if on_disk != expected:
        return False
    try:
        return all(previous.sha(name) == sha for name, sha in previous.seals.items())
    except OSError:
        return False
    finally:
        if previous.stamps is not None:
            previous.stamps.save()


def _listed(folder: Path) -> set[str]:
    """Every file and link below ``folder``, by relative POSIX name (os.walk: a build holds
    thousands of files, and path objects cost more than the walk)."""
    base, found = os.fspath(folder), set[str]()
    for top, dirs, files in os.walk(base):
        rel = os.path.relpath(top, base)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.update(prefix + f for f in files)
        found.update(prefix + d for d in dirs if os.path.islink(os.path.join(top, d)))
    return found


def _diagnostic(raw: Mapping[str, Any], root: Path) -> Diagnostic:
    from .diagnostics import Related, Severity
    from .sources import display_name

    path = tuple(str(raw["path"]).split(".")) if raw.get("path") else ()
    loc = Location(display_name(root / raw["file"]), raw["line"], raw["col"], path)
    related = tuple(Related(Location(r["file"], r["line"], r["col"]), r["message"]) for r in raw.get("related", []))
    return Diagnostic(raw["code"], raw["message"], loc, Severity(raw["severity"]), related, raw.get("hint"))


def _relative_to(root: Path) -> Callable[[str], str]:
    base = os.path.realpath(root) + os.sep
    folder = functools.cache(os.path.realpath)  # a catalogue has a few hundred folders

    @functools.cache  # every product names the same few thousand files, each resolved once
    def rel(name: str) -> str:
        head, tail = os.path.split(name)
        if tail in ("", ".", "..") or os.path.islink(name):
            real = os.path.realpath(name)
        else:  # what realpath gives, its folder's resolution shared
            real = os.path.join(folder(head or os.curdir), tail)
        return real[len(base):].replace(os.sep, "/") if real.startswith(base) else Path(name).as_posix()

    return rel


def _names_in(entry: Any) -> list[str]:
    """The files of a previous build's manifest entry, or none when the entry is not one a build
    wrote (a manifest whose digest holds may still have been written by hand): a product's files
    are plain names inside the build (see :func:`~productkit.output.plain_name`) in a folder of
    it (never the manifest, the marker or a build-wide file)."""
    try:
        names = _entry_files(entry)
    except (KeyError, TypeError, AttributeError, ValueError):
        return []
    return names if all(_product_file(n) for n in names) else []


def _product_file(name: object) -> bool:
    return isinstance(name, str) and plain_name(name) and "/" in name and not name.startswith(".")


def _entry_files(entry: Mapping[str, Any]) -> list[str]:
    """Every file a manifest entry names: its definition, forms and one-file targets."""
    names = [entry["definition"], *(f for per in entry.get("forms", {}).values() for f in per.values())]
    names += [loc for loc in entry.get("targets", {}).values() if not loc.endswith("/")]
    return names


def _entry(defn: ir.WorkflowDefinition, produced: dict[str, bytes], locations: dict[str, str]) -> dict[str, Any]:
    from .governance import handlers_of

    key = f"{defn.id}@{defn.version}"
    forms: dict[str, dict[str, str]] = {}
    for name in produced:
        if name.startswith(f"forms/{key}/"):
            step, channel = name.rsplit("/", 1)[1].removesuffix(".json").split(".", 1)
            forms.setdefault(step, {})[channel] = name
    return {
        "id": defn.id, "version": defn.version, "name": defn.name.model_dump(by_alias=True),
        "channels": defn.channels, "effective": defn.effective.model_dump(by_alias=True),
        "digest": defn.digest, "definition": _definition_name(defn), "targets": dict(sorted(locations.items())),
        "forms": forms, "components": defn.components, "lines": defn.lines,
        "handlers": handlers_of(defn),
    }


def _manifest(entries: list[dict[str, Any]], changes: dict[str, Any], options: Options,
              files: dict[str, str], build_record: dict[str, Any], documents: dict[str, str]) -> dict[str, Any]:
    from .types import TYPE_NAMES

    products = sorted(entries, key=lambda e: (e["id"], e["version"]))
    release = (options.release_date or dt.date.today()).isoformat()
    manifest = {"format": MANIFEST_FORMAT, "release_date": release, "calendar": options.calendar,
                "products": products, "files": dict(sorted(files.items())), "changes": changes,
                "documents": documents, "types": sorted(TYPE_NAMES), "build": build_record}
    # The digest seals every other field (the sha256 of every file the build wrote, the release
    # date, ...), so a channel service detects any edited or swapped file or setting.
    return {**manifest, "digest": manifest_digest(manifest)}


