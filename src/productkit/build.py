"""``productkit build``: validate everything, compile products, write the output atomically.

Output layout (what channel services load)::

    <out>/manifest.json                           every product version, digests, lock, changes
    <out>/definitions/<id>@<version>.json         canonical workflow definitions
    <out>/forms/<id>@<version>/<step>.<channel>.json
    <out>/bpmn/<id>@<version>.bpmn                 when the BPMN target is available

``<out>`` is a symbolic link to a versioned folder beside it; a new build is written to a new
folder and the link is replaced in one rename, so a build killed at any moment leaves the
previous build intact and loadable. Unchanged products (same input digest) are copied from the
previous build instead of being compiled again.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import hashlib
import importlib
import json
import multiprocessing
import os
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import ir
from .cache import engine_digest
from .checks.products import input_files
from .diagnostics import Diagnostic, Location, has_errors
from .options import Options
from .validate import validate
from .values import release_offset

__all__ = ["BuildResult", "build", "next_business_day"]

_T = TypeVar("_T")
_R = TypeVar("_R")

MANIFEST_FORMAT = "productkit.manifest/1"


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


def _date_resolver(options: Options) -> Callable[[str], str | None]:
    release = options.release_date or dt.date.today()

    def resolve(text: str) -> str | None:
        days = release_offset(text)
        if days is None:
            return text.strip()
        return next_business_day(release, days, options.calendar).isoformat()

    return resolve


def _sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _input_digest(files: Sequence[str], options: Options, relative: Callable[[str], str],
                  read: Callable[[str], bytes] = lambda name: Path(name).read_bytes()) -> str:
    """What a product's output depends on: its files, its lines', its components', dictionaries."""
    h = hashlib.sha256()
    release = options.release_date or dt.date.today()  # T+n resolves against it
    h.update(f"{_engine_digest()}|{release}|{options.calendar}|{options.targets}".encode())
    for name in sorted(set(files), key=relative):
        label = relative(name).encode()
        try:
            h.update(label + b"\0" + read(name) + b"\0")
        except OSError:
            h.update(label + b"\0missing\0")
    return "sha256:" + h.hexdigest()


def _engine_digest() -> str:
    """The compiler's own source: a new productkit recompiles everything."""
    return engine_digest()


def _selected(pid: str, select: Sequence[str]) -> bool:
    return not select or any(fnmatch.fnmatchcase(pid, pat) for pat in select)


def _artifacts(defn: ir.WorkflowDefinition, targets: Sequence[str]) -> tuple[dict[str, bytes], list[Diagnostic]]:
    from .forms import forms_of

    key = f"{defn.id}@{defn.version}"
    files = {f"definitions/{key}.json": ir.dump(defn).encode("utf-8")}
    for sid, per_channel in forms_of(defn).items():
        for channel, form in per_channel.items():
            text = ir.pretty_json(form)
            files[f"forms/{key}/{sid}.{channel}.json"] = text.encode("utf-8")
    if not targets:
        return files, []
    emit = importlib.import_module("productkit.targets")
    problems: list[Diagnostic] = []
    for target in targets:
        emitted = emit.emit(defn, target)
        if emitted.content is not None:
            files[f"{target}/{key}.{target}"] = emitted.content
        problems.extend(emitted.diagnostics)
    return files, problems


def _previous(out: Path) -> tuple[dict[str, Any], Path | None]:
    manifest = out / "manifest.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")), out.resolve()
    except (OSError, ValueError):
        return {}, None


def build(paths: Sequence[Path | str] = (), out: Path = Path("build"), options: Options = Options(),
          select: Sequence[str] = (), progress: Callable[[str], None] | None = None) -> BuildResult:
    """Validate, compile the selected products, and atomically replace ``out``."""
    result = BuildResult()
    fingerprint, root = _fingerprint(paths, options, select)
    if _up_to_date(out, fingerprint, root, result):
        return result
    checked = validate(paths, options)
    result.diagnostics = list(checked.diagnostics)
    if checked.failed(options.strict):
        return result
    ctx = checked.context
    assert ctx is not None
    previous, prev_dir = _previous(out)
    prev_products = {f"{p['id']}@{p['version']}": p for p in previous.get("products", [])}
    files: dict[str, bytes] = {}
    entries = []
    root = checked.catalog.root
    relative = _relative_to(root)
    resolve_date = _date_resolver(options)

    dictionary_files = sorted({e.doc.file for e in checked.catalog.kind("ParameterDictionary")})
    read = functools.cache(lambda name: Path(name).read_bytes())  # each input file once per build
    sources: dict[str, Path] = {}  # output name -> the identical file in the previous build
    todo: list[tuple[str, Any, str]] = []  # pid, assembly, input digest of what must be compiled
    for key in sorted(ctx.assemblies):
        pid = f"{key[1]}@{key[2]}"
        if not _selected(key[1], select):
            continue
        inputs = ctx.inputs.get(key)
        if inputs is None:  # the checks did not say what it reads: assemble it to find out
            inputs = input_files(ctx.assemblies[key].product)
        digest = _input_digest([*inputs, *dictionary_files], options, relative, read)
        old = prev_products.get(pid)
        if old is not None and old.get("inputs") == digest and prev_dir is not None:
            reused = _reuse(prev_dir, old)
            if reused is not None:
                files.update(reused)
                sources.update((name, prev_dir / name) for name in reused)
                entries.append(old)
                result.reused.append(pid)
                continue
        asm = ctx.assemblies[key]  # built now if its checks came from the cache
        todo.append((pid, asm, digest))

    def compile_one(item: tuple[str, Any, str]) -> tuple[dict[str, Any], dict[str, bytes], list[Diagnostic]]:
        _, asm, digest = item
        from .compile import compile_product  # imported only when something is compiled

        defn = compile_product(asm, resolve_date, relative)
        produced, problems = _artifacts(defn, options.targets)
        return _entry(defn, produced, digest), produced, problems

    for (pid, _, _), (entry, produced, problems) in zip(todo, _map_products(compile_one, todo), strict=True):
        result.diagnostics.extend(problems)
        files.update(produced)
        entries.append(entry)
        result.compiled.append(pid)
        if progress is not None:
            progress(f"compiled {pid}")
    if has_errors(result.diagnostics, options.strict):
        return result
    manifest = _manifest(entries, previous, options, {n: _sha(d) for n, d in files.items()})
    # Diagnostics are kept with catalogue-relative paths, so an up-to-date rebuild replays them.
    kept = [{**d.to_json(), "file": relative(d.location.file)} for d in result.diagnostics]
    manifest["build"] = {"fingerprint": fingerprint, "diagnostics": kept}
    files["manifest.json"] = ir.pretty_json(manifest).encode()
    try:
        _write_atomically(out, files, sources)
    except OSError as exc:
        result.diagnostics.append(Diagnostic("PK502", f"cannot write the build: {exc}", Location(str(out))))
        return result
    result.out, result.manifest = out, manifest
    return result


def _fingerprint(paths: Sequence[Path | str], options: Options, select: Sequence[str]) -> tuple[str, Path]:
    """Everything a build depends on: every catalogue file's bytes (by path relative to its
    root), productkit's own source, the options and the selection."""
    from .sources import discover, find_root

    h = hashlib.sha256()
    release = options.release_date or dt.date.today()
    h.update(f"{engine_digest()}|{release}|{options.calendar}|{options.targets}|{options.strict}|"
             f"{sorted(select)}|{options.max_file_bytes}|{options.max_depth}".encode())
    roots = []
    for given in [Path(p) for p in paths] or [Path.cwd()]:
        root = find_root(given.resolve()) if given.exists() else given
        roots.append(root)
        chosen = discover(root) if given.is_dir() else [given]
        for path in sorted(chosen):
            try:
                rel = path.resolve().relative_to(root).as_posix()
                data = path.read_bytes() if path.is_file() else b"<not a regular file>"
            except (OSError, ValueError):
                rel, data = str(path), b"<unreadable>"
            h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return "sha256:" + h.hexdigest(), roots[0]


def _up_to_date(out: Path, fingerprint: str, root: Path, result: BuildResult) -> bool:
    """True when ``out`` holds a build of exactly these inputs: it is kept, byte for byte, and
    its diagnostics (warnings) are reported again."""
    previous, prev_dir = _previous(out)
    recorded = previous.get("build") if isinstance(previous.get("build"), dict) else None
    if prev_dir is None or recorded is None or recorded.get("fingerprint") != fingerprint:
        return False
    try:
        result.diagnostics = [_diagnostic(d, root) for d in recorded.get("diagnostics", [])]
    except (KeyError, TypeError, ValueError):
        return False
    result.reused = [f"{p['id']}@{p['version']}" for p in previous.get("products", [])]
    result.out, result.manifest, result.up_to_date = out, previous, True
    return True


def _diagnostic(raw: Mapping[str, Any], root: Path) -> Diagnostic:
    from .diagnostics import Related, Severity
    from .sources import display_name

    path = tuple(str(raw["path"]).split(".")) if raw.get("path") else ()
    loc = Location(display_name(root / raw["file"]), raw["line"], raw["col"], path)
    related = tuple(Related(Location(r["file"], r["line"], r["col"]), r["message"]) for r in raw.get("related", []))
    return Diagnostic(raw["code"], raw["message"], loc, Severity(raw["severity"]), related, raw.get("hint"))


_PARALLEL_MIN = 40  # products; below this a forked worker costs more than it saves


def _map_products(fn: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """``fn`` over ``items``, results in order. Compiling and emitting are CPU-bound and
    independent per product: on a multi-core machine forked workers (which inherit the
    assemblies, so only results travel) take a share each and this process takes the first."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = min(cores, 4)
    if workers < 2 or len(items) < _PARALLEL_MIN or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    mp = multiprocessing.get_context("fork")
    children = []
    for w in range(1, workers):
        recv, send = mp.Pipe(duplex=False)
        proc = mp.Process(target=_work, args=(fn, items[w::workers], send), daemon=True)
        proc.start()
        send.close()
        children.append((recv, proc))
    try:
        shares = [[fn(item) for item in items[0::workers]]]
        for recv, proc in children:
            shares.append(_collect(recv))
            proc.join()
    finally:
        for _, proc in children:
            if proc.is_alive():
                proc.terminate()
    out: list[_R] = [None] * len(items)  # type: ignore[list-item]
    for w, share in enumerate(shares):
        out[w::workers] = share
    return out


def _work(fn: Callable[[_T], _R], items: list[_T], conn: Any) -> None:
    try:
        conn.send(("ok", [fn(item) for item in items]))
    except BaseException as exc:  # handed to the parent, which raises it
        conn.send(("error", exc))
    finally:
        conn.close()


def _collect(conn: Any) -> list[Any]:
    try:
        status, payload = conn.recv()
    except EOFError:
        raise RuntimeError("a build worker process ended without its results") from None
    if status == "error":
        raise payload
    return list(payload)


def _relative_to(root: Path) -> Callable[[str], str]:
    base = root.resolve()

    @functools.cache  # every product names the same few thousand files, each resolved once
    def rel(name: str) -> str:
        try:
            return Path(name).resolve().relative_to(base).as_posix()
        except ValueError:
            return Path(name).as_posix()

    return rel


def _reuse(prev_dir: Path, old: dict[str, Any]) -> dict[str, bytes] | None:
    names = [old["definition"], *(f for per in old.get("forms", {}).values() for f in per.values())]
    if old.get("bpmn"):
        names.append(old["bpmn"])
    try:
        return {n: (prev_dir / n).read_bytes() for n in names}
    except OSError:
        return None


def _entry(defn: ir.WorkflowDefinition, produced: dict[str, bytes], inputs: str) -> dict[str, Any]:
    key = f"{defn.id}@{defn.version}"
    forms: dict[str, dict[str, str]] = {}
    for name in produced:
        if name.startswith(f"forms/{key}/"):
            step, channel = name.rsplit("/", 1)[1].removesuffix(".json").split(".", 1)
            forms.setdefault(step, {})[channel] = name
    bpmn = f"bpmn/{key}.bpmn"
    return {
        "id": defn.id, "version": defn.version, "name": defn.name.model_dump(by_alias=True),
        "channels": defn.channels, "effective": defn.effective.model_dump(by_alias=True),
        "digest": defn.digest, "definition": f"definitions/{key}.json",
        "bpmn": bpmn if bpmn in produced else None, "forms": forms,
        "components": defn.components, "lines": defn.lines, "inputs": inputs,
    }


def _manifest(entries: list[dict[str, Any]], previous: dict[str, Any], options: Options,
              files: dict[str, str]) -> dict[str, Any]:
    products = sorted(entries, key=lambda e: (e["id"], e["version"]))
    before = {f"{p['id']}@{p['version']}": p["digest"] for p in previous.get("products", [])}
    now = {f"{p['id']}@{p['version']}": p["digest"] for p in products}
    changes = {
        "added": sorted(set(now) - set(before)),
        "removed": sorted(set(before) - set(now)),
        "changed": sorted(k for k in set(now) & set(before) if now[k] != before[k]),
    }
    release = (options.release_date or dt.date.today()).isoformat()
    # The digest seals the products and the sha256 of every file the build wrote, so a channel
    # service detects any edited or swapped definition, form or BPMN file.
    files = dict(sorted(files.items()))
    digest = _sha(ir.canonical_json({"files": files, "products": products}))
    return {"format": MANIFEST_FORMAT, "release_date": release, "calendar": options.calendar,
            "products": products, "files": files, "changes": changes, "digest": digest}


def _write_atomically(out: Path, files: dict[str, bytes], sources: Mapping[str, Path] | None = None) -> None:
    """Write into a new versioned folder, then swap the ``out`` link in one rename.

    A file of ``sources`` (the same bytes in the previous build, on the same file system) is
    hard-linked instead of written: it is already on disk, so unchanged products cost no write."""
    out = out.absolute()
    store = out.parent / f".{out.name}.builds"
    store.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(b"".join(k.encode() + b"\0" + v for k, v in sorted(files.items()))).hexdigest()[:16]
    target = store / f"{digest}-{uuid.uuid4().hex[:12]}"
    _sweep(store, out)
    tmp = store / f".tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    for name, data in sorted(files.items()):
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if sources and name in sources and _link(sources[name], path):
            continue
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, target)
    if out.exists() and not out.is_symlink():
        os.replace(out, store / f"legacy-{os.getpid()}")
    link = out.parent / f".{out.name}.link-{os.getpid()}"
    if link.is_symlink():
        link.unlink()
    os.symlink(os.path.relpath(target, out.parent), link)
    old = out.resolve() if out.is_symlink() else None
    os.replace(link, out)
    if old is not None and old != target.resolve() and old.parent == store.resolve():
        shutil.rmtree(old, ignore_errors=True)


def _link(source: Path, path: Path) -> bool:
    try:
        os.link(source, path)
    except OSError:
        return False  # another file system, or links not supported: write the bytes instead
    return True


def _sweep(store: Path, out: Path) -> None:
    """Remove what killed builds left behind: temporary folders of dead processes, and
    finished folders that no link points to."""
    current = out.resolve() if out.is_symlink() else None
    for child in store.iterdir():
        if child.name.startswith(".tmp-"):
            pid = child.name.removeprefix(".tmp-")
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                shutil.rmtree(child, ignore_errors=True)
        elif child.is_dir() and child.resolve() != current and not child.name.startswith("legacy-"):
            shutil.rmtree(child, ignore_errors=True)
    for link in out.parent.glob(f".{out.name}.link-*"):
        pid = link.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            link.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
