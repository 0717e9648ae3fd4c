"""The scale benchmark (``make bench``): one run, on the same generated files, of

* the YAML floor: every file parsed with ``yaml.CSafeLoader`` and nothing else;
* ``productkit validate`` of the catalogue, and of one product file;
* a cold ``productkit build``, a no-change rebuild, a one-product change and a one-component
  change (which must recompile exactly the products using that component);
* CLI start-up (``productkit --help``) and the peak memory of the cold build;
* scaling at factors 0.25, 0.5, 1 and 2 (validate; the cold build, as at scale 1, after a validation filled the cache);
* applications per second of a ten-step product on the embedded engine (memory, SQLite) and on
  SpiffWorkflow running the emitted BPMN, when ``productkit.runtime`` has an Engine.

Every figure is the wall time of a fresh process (what a user waits for), median of several
repetitions. Results go to ``bench/results.json`` and ``BENCHMARKS.md``.

    python -m bench.run [--out .bench] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from . import _report
from ._lsp import measure_lsp
from ._runtime import measure_runtime, measure_temporal
from .generate import generate

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
SCALES = (0.25, 0.5, 1.0, 2.0)
SEED = 1
# The one-product and one-component changes take about a second each and move with the machine
# more than the others (a build forks a child and workers on two cores): five runs each, not three.
CHANGE_RUNS = 5


class Bench:
    def __init__(self, out: Path, quick: bool) -> None:
        self.out = out.resolve()
        self.quick = quick
        self.python = sys.executable
        script = Path(sys.executable).with_name("productkit")
        self.cli = [str(script)] if script.exists() else [self.python, "-m", "productkit"]
        self.results: dict[str, Any] = {}
        self.trash = self.out / ".set-aside"
        path = os.environ.get("PYTHONPATH")
        self.env = {**os.environ, "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}

    def reps(self, n: int) -> int:
        return 1 if self.quick else n

    # -------------------------------------------------------------- running

    def wall(self, cmd: list[str], ok: Callable[[subprocess.CompletedProcess[str]], bool] | None = None,
             env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
        # Each run starts with the file system flushed (not timed): a build ends by flushing it
        # (its durability point), which would otherwise also write out what the runs before it
        # left in the page cache (a cold build leaves over 100 MB).
        os.sync()
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.out, env=env or self.env)
        seconds = time.perf_counter() - start
        if not (ok(proc) if ok else proc.returncode == 0):
            raise SystemExit(f"bench: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                             f"\n{proc.stderr[-2000:]}")
        return seconds, proc

    def worker(self, *args: str, env: dict[str, str] | None = None) -> tuple[float, dict[str, Any]]:
        seconds, proc = self.wall([self.python, "-m", "bench._worker", *args], env=env)
        return seconds, json.loads(proc.stdout.strip().splitlines()[-1])

    def median(self, label: str, n: int, run: Callable[[], float]) -> dict[str, Any]:
        times = [run() for _ in range(self.reps(n))]
        out = {"median": statistics.median(times), "runs": times}
        print(f"  {label:<34} {out['median']:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in times)})",
              flush=True)
        return out

    # -------------------------------------------------------------- the catalogue

    def catalogue(self, scale: float) -> Path:
        root = self.out / f"catalogue-{scale:g}"
        start = time.perf_counter()
        counts = generate(scale, root, SEED)
        print(f"generated scale {scale:g} in {time.perf_counter() - start:.1f} s: "
              + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())), flush=True)
        self.results.setdefault("catalogues", {})[f"{scale:g}"] = counts
        return root

    def validate(self, target: Path, cache: bool = False) -> float:
        """Cold (``--no-cache``) unless ``cache``: then what a designer's second run costs."""
        flags = [] if cache else ["--no-cache"]
        seconds, proc = self.wall([*self.cli, "validate", *flags, str(target)])
        if "0 error(s), 0 warning(s)" not in proc.stderr:
            raise SystemExit(f"bench: the generated catalogue is not clean: {proc.stderr[-500:]}")
        return seconds

    def set_aside(self, folder: Path) -> None:
        """Move ``folder`` out of the way, to be deleted once the builds are timed: on a file
        system without a journal (ext4 here), creating files right after a hundred thousand were
        deleted costs the kernel seconds of stepping past the freed inodes (measured: a cold
        build's system time 7.5 s right after deleting the previous output, 4.6 s 35 s later),
        which would time the benchmark's own clean-up, not the build."""
        if folder.exists() or folder.is_symlink():
            self.trash.mkdir(parents=True, exist_ok=True)
            os.replace(folder, self.trash / f"{len(list(self.trash.iterdir()))}-{folder.name}")

    def cold_build(self, root: Path, out: Path, memory: list[int] | None = None, cache: Path | None = None) -> float:
        """A build into an empty output folder; with ``cache``, also with an empty user cache
        there (else the cache the validation before it filled: only the output is cold)."""
        self.set_aside(out.parent)
        env = None
        if cache is not None:
            self.set_aside(cache)
            env = {**self.env, "PRODUCTKIT_CACHE_DIR": str(cache)}
        seconds, info = self.worker("build", str(root), str(out), env=env)
        if not info["ok"] or info["diagnostics"]:
            raise SystemExit(f"bench: the cold build is not clean: {info['errors']} error(s), "
                             f"{info['warnings']} warning(s)")
        if memory is not None:
            memory.append(max(info["maxrss_kib"], info["children_maxrss_kib"]))
        return seconds

    def rebuild(self, root: Path, out: Path, expect: set[str]) -> float:
        seconds, info = self.worker("build", str(root), str(out))
        if not info["ok"] or set(info["compiled"]) != expect:
            extra = sorted(set(info["compiled"]) - expect)[:5]
            missing = sorted(expect - set(info["compiled"]))[:5]
            raise SystemExit(f"bench: the rebuild compiled {len(info['compiled'])} product(s), expected "
                             f"{len(expect)} (unexpected: {extra}, missing: {missing})")
        return seconds

    # -------------------------------------------------------------- scale 1

    def scale_one(self, root: Path) -> dict[str, Any]:
        r: dict[str, Any] = {}
        build = self.out / "build-1" / "build"

        def floor() -> float:
            return self.worker("floor", str(root))[0]

        # The floor is taken at the start and again at the end of the figures it divides: the
        # shared host's speed moves over the minutes between (by a fifth in one run), and a
        # floor taken at one end alone would carry that into every ratio.
        first = self.median("YAML floor (CSafeLoader), first", 5, floor)
        r["validate"] = self.median("productkit validate (no cache)", 3, lambda: self.validate(root))
        self.validate(root, cache=True)  # fills the catalogue's cache
        r["validate_warm"] = self.median("productkit validate (warm cache)", 3,
                                         lambda: self.validate(root, cache=True))
        r["lsp_edit"] = measure_lsp(self.cli, root, self.reps(7), cwd=self.out, env=self.env)
        empty: list[int] = []  # information: before the goal's builds, which then start as they always did
        r["cold_build_empty_cache"] = self.median(
            "cold build, empty user cache", 1,
            lambda: self.cold_build(root, build, empty, cache=self.out / "cache-empty"))
        r["cold_build_empty_cache"]["peak_rss_mib"] = max(empty) / 1024
        memory: list[int] = []
        r["cold_build"] = self.median("cold build", 3, lambda: self.cold_build(root, build, memory))
        r["peak_rss_mib"] = max(memory) / 1024
        print(f"  {'peak RSS of the cold build':<34} {r['peak_rss_mib']:8.0f} MiB", flush=True)
        r["build_output_mib"] = sum(f.stat().st_size for f in build.resolve().rglob("*") if f.is_file()) / 2**20
        print(f"  {'build output':<34} {r['build_output_mib']:8.0f} MiB", flush=True)
        loads: list[dict[str, Any]] = []

        def load() -> float:
            _, info = self.worker("load", str(build))
            loads.append(info)
            return float(info["seconds"])

        r["catalog_load"] = self.median("Catalog.load of the build", 3, load)
        r["catalog_load_rss_mib"] = max(i["maxrss_kib"] for i in loads) / 1024
        print(f"  {'peak RSS of Catalog.load':<34} {r['catalog_load_rss_mib']:8.0f} MiB", flush=True)
        r["no_change_rebuild"] = self.median("no-change rebuild", 3, lambda: self.rebuild(root, build, set()))
        r["one_product_change"] = self.one_product(root, build)
        r["one_component_change"] = self.one_component(root, build)
        product = self.product_file(root)[0]
        r["validate_one_file"] = self.median("productkit validate <one product> (warm cache)", 5,
                                             lambda: self.validate(product, cache=True))
        r["validate_changed_file"] = self.changed_file(product)
        r["cli_startup"] = self.median("productkit --help", 5, lambda: self.wall([*self.cli, "--help"])[0])
        last = self.median("YAML floor (CSafeLoader), last", 5, floor)
        runs = first["runs"] + last["runs"]
        r["yaml_floor"] = {"median": statistics.median(runs), "runs": runs, "first": first["median"],
                           "last": last["median"]}
        print(f"  {'YAML floor (all ' + str(len(runs)) + ' runs)':<34} {r['yaml_floor']['median']:8.2f} s", flush=True)
        return r

    def changed_file(self, product: Path) -> dict[str, Any]:
        """A pre-commit hook's usual case: the file it is given was just edited."""
        original = product.read_bytes()
        count = iter(range(1, 100))

        def change() -> float:
            text = original.decode("utf-8")
            product.write_text(re.sub(r"(_product_code: [A-Z]{2})\d{4}", rf"\g<1>{9800 + next(count)}", text,
                                      count=1), encoding="utf-8")
            return self.validate(product, cache=True)

        try:
            return self.median("productkit validate <one product, just edited>", 5, change)
        finally:
            product.write_bytes(original)

    def product_file(self, root: Path) -> tuple[Path, str]:
        for path in sorted((root / "products").rglob("*.yaml")):
            text = path.read_text("utf-8")
            if "\nkind: Product\n" in text and "_product_code: " in text:
                ident = re.search(r"^id: (\S+)$", text, re.M)
                version = re.search(r"^version: (\S+)$", text, re.M)
                assert ident and version
                return path, f"{ident[1]}@{version[1]}"
        raise SystemExit("bench: no product file with a product code")

    def one_product(self, root: Path, build: Path) -> dict[str, Any]:
        path, pid = self.product_file(root)
        original = path.read_bytes()
        count = iter(range(1, 100))

        def change() -> float:
            text = original.decode("utf-8")
            path.write_text(re.sub(r"(_product_code: [A-Z]{2})\d{4}", rf"\g<1>{9900 + next(count)}", text, count=1),
                            encoding="utf-8")
            return self.rebuild(root, build, {pid})

        try:
            out = self.median(f"one-product change ({pid})", CHANGE_RUNS, change)
        finally:
            path.write_bytes(original)
        self.rebuild(root, build, {pid})
        out["product"] = pid
        return out

    def one_component(self, root: Path, build: Path) -> dict[str, Any]:
        manifest = json.loads((build / "manifest.json").read_text("utf-8"))
        users: dict[tuple[str, str], set[str]] = {}
        for p in manifest["products"]:
            for cid, version in p["components"].items():
                users.setdefault((cid, version), set()).add(f"{p['id']}@{p['version']}")
        files = self.component_files(root)
        candidates = sorted((len(u), key) for key, u in users.items() if len(u) >= 2 and key in files)
        count, key = candidates[len(candidates) // 2]  # a component with a median number of users
        path = files[key]
        original = path.read_bytes()
        timeouts = iter(f"PT{s}S" for s in range(41, 60))

        def change() -> float:
            text = original.decode("utf-8")
            path.write_text(re.sub(r"^timeout: \S+$", f"timeout: {next(timeouts)}", text, count=1, flags=re.M),
                            encoding="utf-8")
            return self.rebuild(root, build, users[key])

        try:
            out = self.median(f"one-component change ({count} users)", CHANGE_RUNS, change)
        finally:
            path.write_bytes(original)
        self.rebuild(root, build, users[key])
        out.update(component=f"{key[0]}@{key[1]}", products_recompiled=count)
        return out

    def component_files(self, root: Path) -> dict[tuple[str, str], Path]:
        found = {}
        for path in (root / "components" / "process").rglob("*.yaml"):
            text = path.read_text("utf-8")
            ident = re.search(r"^id: (\S+)$", text, re.M)
            version = re.search(r"^version: (\S+)$", text, re.M)
            if ident and version and re.search(r"^timeout: ", text, re.M):
                found[(ident[1], version[1])] = path
        return found

    # -------------------------------------------------------------- scaling

    def scaling(self, scale_one: dict[str, Any], root_one: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        scales = SCALES if not self.quick else (0.25, 1.0)
        for scale in scales:
            if scale == 1.0:
                row = {"validate": scale_one["validate"]["median"], "cold_build": scale_one["cold_build"]["median"]}
            else:
                root = self.catalogue(scale)
                # Three runs each: the growth goals divide two of these figures, and single runs
                # of one build on this shared host have differed by a third.
                n = 3
                build = self.out / f"build-{scale:g}" / "build"
                row = {"validate": self.median(f"validate at {scale:g}", n,
                                               functools.partial(self.validate, root))["median"]}
                # as at scale 1: the cache filled by a validation, only the output cold (without
                # it the first build of each scale would also check everything, the next not)
                self.validate(root, cache=True)
                row["cold_build"] = self.median(f"cold build at {scale:g}", n,
                                                functools.partial(self.cold_build, root, build))["median"]
                self.set_aside(build.parent)
                if scale != 1.0:
                    self.set_aside(root)
            products = self.results["catalogues"][f"{scale:g}"].get("Product", 0)
            row["products"] = products
            row["ms_per_product_build"] = 1000 * row["cold_build"] / max(products, 1)
            out[f"{scale:g}"] = row
        lo, hi = f"{min(scales):g}", f"{max(scales):g}"
        for what in ("validate", "cold_build"):
            ratio = out[hi][what] / out[lo][what]
            out[f"{what}_exponent"] = math.log(ratio) / math.log(max(scales) / min(scales))
        return out

    # -------------------------------------------------------------- all

    def run(self) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        self.results["machine"] = machine()
        self.results["quick"] = self.quick
        root = self.catalogue(1.0)
        self.results["scale_1"] = self.scale_one(root)
        self.results["scaling"] = self.scaling(self.results["scale_1"], root)
        shutil.rmtree(self.trash, ignore_errors=True)  # the builds are timed: now the clean-up
        self.results["runtime"] = self.runtime()
        self.results["api"] = self.api()
        self.results["ratios"], self.results["goals"] = _report.judge(self.results)
        self.results["seconds"] = time.perf_counter() - started
        return self.results

    def runtime(self) -> dict[str, Any]:
        work = self.out / "runtime"
        shutil.rmtree(work, ignore_errors=True)
        # In a fresh interpreter: the engine's rates are not to depend on what this process
        # holds after the catalogue's figures (its heap, what its collections walk).
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            result = pool.submit(measure_runtime, REPO, work, 100 if self.quick else 300).result()
        if "skipped" not in result:
            result.update(measure_temporal(work, work / "build", n=100 if self.quick else 300,
                                           repetitions=2 if self.quick else 10,
                                           applications=100 if self.quick else 500))
        if "skipped" in result:
            print(f"runtime: skipped: {result['skipped']}", flush=True)
        else:
            for key, value in result.items():
                if isinstance(value, float):
                    print(f"  {key:<34} {value:8.0f} applications/s", flush=True)
        return result

    def api(self) -> dict[str, Any]:
        from ._api import measure_api

        result = measure_api(REPO, seconds=5.0 if self.quick else 15.0)
        if "skipped" in result:
            print(f"open API: skipped: {result['skipped']}", flush=True)
        else:
            print(f"  open API: {result['requests_per_second']:.0f} requests/s, p50 {result['p50_ms']:.1f} ms, "
                  f"p99 {result['p99_ms']:.1f} ms ({result['clients']} clients)", flush=True)
        return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        models = Counter(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name"))
        cpu = ", ".join(f"{n} x {m}" if n > 1 else m for m, n in models.items()) or platform.processor()
    except OSError:
        pass
    memory = None
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])  # type: ignore[index]
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, TypeError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": cores, "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "commit": _git("rev-parse", "--short", "HEAD"), "dirty": bool(_git("status", "--porcelain", "src"))}


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".bench", help="work folder (generated files, builds)")
    parser.add_argument("--quick", action="store_true", help="one repetition, fewer scales (a smoke test)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    previous = None
    with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):  # the figures this run replaces
        previous = _report.previous_of(json.loads(args.results.read_text("utf-8")))
    results = Bench(args.out, args.quick).run()
    if previous is not None:
        results["previous"] = previous
        results["runtime"]["previous"] = previous["runtime"]
    args.results.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    args.markdown.write_text(_report.markdown(results), encoding="utf-8")
    print()
    print(_report.summary(results))
    print(f"\nwrote {args.results} and {args.markdown} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
