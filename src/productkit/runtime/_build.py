"""Reading a build folder and proving it whole: manifest, definitions and forms, every digest.

Every problem of every file is collected before deciding; one CatalogError reports them all.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import semantic_version
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..diagnostics import Diagnostic, Location
from ..ir import FORMAT, Label, Step, WorkflowDefinition, load, with_digest
from ._durations import parse as parse_duration
from ._flow import Position, precedes, walk
from .errors import CatalogError
from .seal import SIGNATURE_FILE, SigningKeyError, manifest_digest, verify
from .views import Content, Deferred, Form, ProductVersion

__all__ = ["Build", "read_build"]

MANIFEST_FORMAT = "productkit.manifest/2"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024  # one definition, form or target file


class _Loose(BaseModel):
    # Unknown keys are allowed: a newer build may add some (targets, lines, inputs, changes).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Effective(_Loose):
    from_: dt.date | None = Field(None, alias="from")
    until: dt.date | None = None


class _Entry(_Loose):
    id: str
    version: str
    name: Label
    channels: list[str]
    effective: _Effective
    digest: str
    definition: str
    forms: dict[str, dict[str, str]] = Field(default_factory=dict)
    components: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Build:
    root: Path
    release_date: dt.date | None
    digest: str
    products: tuple[ProductVersion, ...]
    files: Mapping[str, str] = field(default_factory=dict)  # build-relative name -> sealed sha256
    lease: Lease | None = field(default=None, repr=False, compare=False)
    calendar: str = "CN"

    def sealed(self, rel: str) -> bytes:
        """A file of the build that the manifest seals (``openapi.json``), read and checked
        against its seal now; CatalogError when it is missing, unsealed or edited."""
        problems = _Problems()
        data = _read(self.root, rel, problems, dict(self.files))
        if problems or data is None:
            raise CatalogError(problems)
        return data


MARKER = ".productkit-build"  # in every build folder (productkit.output writes it)


class Lease:
    """A reader's shared ``flock`` on a build folder's marker file, held while a catalogue may
    still read files of that build: ``productkit build`` never sweeps a retired build a reader
    holds (it takes the lock exclusively, without waiting, before removing one). Released when
    the catalogue is closed or collected."""

    def __init__(self, root: Path) -> None:
        self._fd: int | None = None
        try:
            fd = os.open(root / MARKER, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return  # not a folder productkit build wrote (a copy, a test fixture): nothing to hold
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except OSError:
            os.close(fd)
            return
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock

    def __del__(self) -> None:
        self.release()


class _Problems(list[Diagnostic]):
    def add(self, code: str, message: str, file: str, *path: str | int) -> None:
        self.append(Diagnostic(code, message, Location(file, path=tuple(path))))


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_build(build_dir: Path, trusted_keys: Sequence[bytes | str] | None = None, *,
               lazy: bool = True) -> Build:
    """The verified content of ``build_dir``; CatalogError listing every problem otherwise.

    With ``trusted_keys`` the manifest must be signed by one of them (``manifest.sig``). The
    manifest (its digest seals every file's sha256), the signature and the folder's list of files
    are checked now; each product version's files when it is first used (``lazy``), or all now."""
    # Resolve once: the build folder is a link a new build may swap while we read.
    root = build_dir.resolve()
    lease = Lease(root)  # before anything is read: a build sweeping retired builds keeps this one
    problems = _Problems()
    manifest = _manifest(root, problems)
    if manifest is None:
        raise CatalogError(problems)
    if trusted_keys is not None:
        _check_signature(root, trusted_keys, problems)
    _unlisted(root, manifest["files"], problems)
    products: list[ProductVersion] = []
    seen: set[str] = set()
    for i, raw in enumerate(manifest["products"]):
        pv = _product(root, i, raw, problems, manifest["files"])
        if pv is None:
            continue
        if pv.key in seen:
            problems.add("PK610", f"{pv.key} is listed twice", "manifest.json", "products", i)
        seen.add(pv.key)
        products.append(pv)
    if not lazy:
        for pv in products:
            try:
                pv.content.get()
            except CatalogError as exc:
                problems.extend(exc.problems)
    if problems:
        raise CatalogError(problems)
    release = manifest.get("release_date")
    return Build(root, dt.date.fromisoformat(release) if isinstance(release, str) else None,
                 str(manifest["digest"]), tuple(products), dict(manifest["files"]), lease,
                 str(manifest.get("calendar") or "CN"))


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. A FIFO, a device, a link to
    ``/dev/zero`` or an oversized file is an OSError at once: never a hang or an exhausted memory."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, above the limit of {limit}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"more than {limit} bytes")
    return data


def _manifest(root: Path, problems: _Problems) -> dict[str, Any] | None:
    path = root / "manifest.json"
    try:
        data = orjson.loads(read_regular(path, MAX_MANIFEST_BYTES))  # refuses nesting past 1,024 levels
    except FileNotFoundError:
        problems.add("PK601", f"{root} has no manifest.json: the build is missing or was not "
                     "completed", str(path))
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        problems.add("PK601", f"manifest.json cannot be read: {exc}", str(path))
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        problems.add("PK602", f"format is {found!r}, expected '{MANIFEST_FORMAT}'", "manifest.json")
        return None
    products = data.get("products")
    if not isinstance(products, list):
        problems.add("PK602", "'products' is missing or not a list", "manifest.json", "products")
        return None
    files = data.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        problems.add("PK602", "'files' is missing or not a map of file digests", "manifest.json", "files")
        return None
    expected = manifest_digest(data)
    if data.get("digest") != expected:
        problems.add("PK603", f"manifest digest is {data.get('digest')!r} but its content hashes to "
                     f"{expected}: the manifest was edited or is incomplete", "manifest.json", "digest")
        return None
    return data


def _check_signature(root: Path, trusted: Sequence[bytes | str], problems: _Problems) -> None:
    try:
        signature = read_regular(root / SIGNATURE_FILE, 64 * 1024)
    except FileNotFoundError:
        problems.add("PK612", "the build is not signed (no manifest.sig) and trusted keys were given: "
                     "build it with productkit build --sign KEYFILE", SIGNATURE_FILE)
        return
    except OSError as exc:
        problems.add("PK613", f"manifest.sig cannot be read: {exc.strerror or exc}", SIGNATURE_FILE)
        return
    try:
        wrong = verify(read_regular(root / "manifest.json", MAX_MANIFEST_BYTES), signature, trusted)
    except (OSError, SigningKeyError) as exc:
        wrong = str(exc)
    if wrong is not None:
        problems.add("PK613", f"the build's signature is not valid: {wrong}", SIGNATURE_FILE)


_NOT_SEALED = frozenset({"manifest.json", SIGNATURE_FILE, MARKER})


def _unlisted(root: Path, files: Mapping[str, str], problems: _Problems) -> None:
    """A file in the build that the manifest does not seal is refused: nothing unsealed is used.
    One walk with the directory entries' own types (no stat per file): a build of a thousand
    products holds some twenty thousand files."""
    found = []
    stack = [("", str(root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append((rel + "/", entry.path))
            elif rel not in files and rel not in _NOT_SEALED:
                found.append(rel)  # a file, a link, or anything else that is not a folder
    for rel in sorted(found):
        problems.add("PK614", f"{rel} is in the build but not sealed by its manifest", rel)


def _product(root: Path, i: int, raw: Any, problems: _Problems,
             files: dict[str, str]) -> ProductVersion | None:
    try:
        entry = _Entry.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            problems.add("PK602", f"{err['msg']}", "manifest.json", "products", i,
                         *(str(x) for x in err["loc"]))
        return None
    try:
        semantic_version.Version(entry.version)
    except ValueError:
        problems.add("PK602", f"version {entry.version!r} is not semantic versioning",
                     "manifest.json", "products", i, "version")
        return None
    def read() -> Content:
        """The definition and forms, every file checked (seal, format, digest, structure)."""
        found = _Problems()
        defn = _definition(root, entry, found, files)
        forms = _forms(root, entry, defn, found, files) if defn is not None else {}
        if found or defn is None:
            raise CatalogError(found)
        return defn, forms

    return ProductVersion(
        id=entry.id, version=entry.version, name=entry.name, channels=tuple(entry.channels),
        effective_from=entry.effective.from_, effective_until=entry.effective.until,
        digest=entry.digest, components=dict(entry.components), content=Deferred(read))


def _read(root: Path, rel: str, problems: _Problems, files: dict[str, str] | None = None) -> bytes | None:
    path = (root / rel).resolve()
    if Path(rel).is_absolute() or not path.is_relative_to(root):
        problems.add("PK604", f"'{rel}' points outside the build", "manifest.json")
        return None
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError as exc:
        problems.add("PK604", f"cannot read {rel}: {exc.strerror or exc}", rel)
        return None
    if files is not None:
        sealed = files.get(rel)
        if sealed is None:
            problems.add("PK611", f"{rel} is not sealed by the manifest's files", "manifest.json", "files")
            return None
        if _sha(data) != sealed:
            # Reported, and the file is still read: its own checks say what changed in it.
            problems.add("PK611", f"{rel} hashes to {_sha(data)}, the manifest sealed {sealed}: "
                         "the file was edited after the build", rel)
    return data


def _format_of(text: bytes) -> object:
    """The ``format`` a definition declares (None when it is not a JSON object saying one)."""
    try:
        data = orjson.loads(text)  # orjson refuses nesting beyond 1,024 levels instead of recursing
    except orjson.JSONDecodeError:
        return None
    return data.get("format") if isinstance(data, dict) else None


def _definition(root: Path, entry: _Entry, problems: _Problems,
                files: dict[str, str]) -> WorkflowDefinition | None:
    rel, key = entry.definition, f"{entry.id}@{entry.version}"
    text = _read(root, rel, problems, files)
    if text is None:
        return None
    found = _format_of(text)
    if found != FORMAT:
        problems.add("PK605", f"{key} is in format {found!r}, this productkit runs {FORMAT!r}: "
                     "rebuild the catalogue with this productkit (productkit build)", rel, "format")
        return None
    try:
        defn = load(text)
    except ValidationError as exc:
        first = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        problems.add("PK605", f"{key} is not a workflow definition: {first}", rel)
        return None
    actual = with_digest(defn).digest
    if defn.digest != actual:
        problems.add("PK606", f"{key} content hashes to {actual} but says {defn.digest}: "
                     "the definition was edited after the build", rel, "digest")
    elif entry.digest != actual:
        problems.add("PK606", f"the manifest lists {key} with digest {entry.digest}, the file "
                     f"has {actual}", rel, "digest")
    for name, mine, theirs in (("id", entry.id, defn.id), ("version", entry.version, defn.version),
                               ("channels", sorted(entry.channels), sorted(defn.channels))):
        if mine != theirs:
            problems.add("PK607", f"the manifest says {name} {mine!r}, the definition "
                         f"{theirs!r}", rel, name)
    for message in check_definition(defn):
        problems.add("PK609", f"{key}: {message}", rel)
    return defn


def _forms(root: Path, entry: _Entry, defn: WorkflowDefinition,
           problems: _Problems, files: dict[str, str]) -> dict[tuple[str, str], Form]:
    out: dict[tuple[str, str], Form] = {}
    for step_id, per_channel in sorted(entry.forms.items()):
        step = defn.steps.get(step_id)
        for channel, rel in sorted(per_channel.items()):
            if step is None or step.kind != "user":
                problems.add("PK607", f"form for {step_id!r}, which is not a user step", rel)
                continue
            form = _form(root, rel, problems, files)
            if form is not None:
                out[(step_id, channel)] = form
    for step_id, channel in _screens(defn):
        if (step_id, channel) not in out and channel not in entry.forms.get(step_id, {}):
            problems.add("PK607", f"no form for screen {step_id!r} on {channel}: the build was made "
                         "without the forms target (productkit build --target forms)", "manifest.json",
                         "products", entry.id, "forms")
    return out


def _screens(defn: WorkflowDefinition) -> Iterator[tuple[str, str]]:
    """Every (user step, channel) a form is needed for: customers' channels, or staff."""
    for sid, step in sorted(defn.steps.items()):
        if step.kind == "user":
            yield from ((sid, c) for c in (step.channels if step.actor == "customer" else ["staff"]))


def _form(root: Path, rel: str, problems: _Problems, files: dict[str, str]) -> Form | None:
    text = _read(root, rel, problems, files)
    if text is None:
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        problems.add("PK608", f"not JSON: {exc}", rel)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), dict):
        problems.add("PK608", "a form is an object with a 'schema' object", rel)
        return None
    try:
        Draft7Validator.check_schema(data["schema"])
    except SchemaError as exc:
        problems.add("PK608", f"not a JSON Schema draft-07: {exc.message}", rel, "schema")
        return None
    extra = {k: v for k, v in data.items() if k not in ("schema", "uischema")}
    uischema = data.get("uischema")
    return Form(data["schema"], uischema if isinstance(uischema, dict) else {}, rel, extra)


def check_definition(defn: WorkflowDefinition) -> Iterator[str]:
    """What would stop the engine mid-run: dangling ids, bad routes, unreadable durations."""
    placed = list(walk(defn.flow))
    ids = [sid for sid, _ in placed]
    for sid in sorted({s for s in ids if ids.count(s) > 1}):
        yield f"step {sid!r} appears twice in the flow"
    for sid in sorted(set(ids) - set(defn.steps)):
        yield f"the flow names step {sid!r}, which is not defined"
    for sid in sorted(set(defn.steps) - set(ids) - set(defn.finally_steps)):
        yield f"step {sid!r} is not in the flow"
    for sid in defn.finally_steps:
        if sid in ids or sid not in defn.steps or defn.steps[sid].kind != "service":
            yield f"finally step {sid!r} is not a service step outside the flow"
    where = dict(placed)
    for _, step in sorted(defn.steps.items()):
        yield from _check_step(step, where)
    for channel, journey in sorted(defn.journeys.items()):
        for sid in journey:
            if sid not in defn.steps or defn.steps[sid].kind != "user":
                yield f"journey {channel} names {sid!r}, which is not a user step"


def _check_step(step: Step, where: Mapping[str, Position]) -> Iterator[str]:
    sid = step.id
    if step.kind == "service" and not step.handler:
        yield f"service step {sid!r} has no handler"
    if step.kind == "end" and not step.outcome:
        yield f"end step {sid!r} has no outcome"
    if step.kind == "wait" and not step.duration:
        yield f"wait step {sid!r} has no duration"
    texts = [step.duration, step.timeout, *(
        (step.retry.backoff, step.retry.max_backoff) if step.retry else ())]
    for text in (t for t in texts if t):
        try:
            parse_duration(text)
        except ValueError as exc:
            yield f"step {sid!r}: {exc}"
    for code, route in sorted(step.errors.items()):
        if route.goto is None:
            continue
        if route.goto not in where or sid not in where:
            yield f"step {sid!r} routes error {code!r} to unknown step {route.goto!r}"
        elif not precedes(where[sid], where[route.goto]):
            yield f"step {sid!r} routes error {code!r} to {route.goto!r}, which does not come later"
