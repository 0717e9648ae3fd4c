"""Applications per second for a ten-step product: the embedded engine (in memory and on
SQLite) and SpiffWorkflow running the BPMN that ``productkit build`` emitted for the same product.

The product is written as YAML and built like any other: a request screen, three independent
checks (a parallel block), a conditional reject, a score and its conditional reject, a
confirmation screen, a booking and a notification. Every application takes the happy path.

The engine in memory and SpiffWorkflow run one application after another on one thread, their
runs taken in turn (the goal is their ratio, and the shared host's speed moves). The
engine on SQLite is run as a channel service runs it on this machine: one worker process per
core (``_cores``), each with its own engine and store on the one database file, and each driven by
``SQLITE_THREADS`` threads, its concurrent customers. A process's store writes the steps its
threads hand in together in one durable transaction (group commit: every caller still returns
only after its step's transaction was committed), and the stores of different processes take
turns at writing. Python runs one thread of a process at a time, so a second process is what
puts the second core to work; ``engine_sqlite_full_one_process`` is the FULL figure of one
process alone (information).

The handlers answer at once in the process, so they are registered ``inline``: called on the
caller's thread, as a channel service registers such handlers, and, like every handler that is
not local, only once what led to the call is committed (SpiffWorkflow's handlers are plain calls
too). An application is therefore nine durable points one after the other on its thread:
(1) its start with the first screen; (2) the request, committed before the first check is
called; (3-5) one before each of the next three calls (aml, fraud, score), each holding the
answer of the call before it (and the risk guard); (6) the score's answer with its guard and
the confirmation screen; (7) the confirmation, before the booking is called; (8) the booking's
answer, before the notification is called; (9) the notification's answer with the end. Guards,
rejects and the end have no durable write of their own: they go with the point around them.
Concurrent applications share those transactions (group commit), so
``engine_sqlite_*_writes`` reports, per application, the Commits (durable points, 9) and the
transactions (under FULL: syncs of the log) that carried them. ``engine_sqlite_full_local``
registers the handlers ``local`` instead (results committed with the next durable write, three
points per application): it does not keep the goal's one durable transaction per step and is
information only, as is ``engine_sqlite_full_threads``, the FULL figure with each of
``SQLITE_CURVE`` threads (a channel service serves more concurrent customers than 16).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._params import label
from ._yaml import Raw, dump

__all__ = ["measure_runtime", "runtime_missing", "write_catalogue"]

PRODUCT = "bench.ten-step"
SQLITE_THREADS = 16
SQLITE_CURVE = (8, 16, 32, 64)
CHANNEL = "mobile"
CONTEXT = {"applicant": {"name": "Li Lei", "id_number": "110101199003074514", "age": 36},
           "session": {"device_id": "device-0001"}}
INPUTS = {"request": {"bench": {"amount": "20000.00", "term_months": 12}},
          "confirm": {"confirm": {"accepted": True}}}
RESULTS = {"bench.kyc.verify": {"kyc.status": "passed"}, "bench.aml.screen": {"aml.result": "clear"},
           "bench.fraud.score": {"fraud.level": "low"}, "bench.credit.score": {"credit.score": 720},
           "bench.core.book": {"book.reference": "BK000000000001"}, "bench.notify.sms": {}}


def _component(ident: str, handler: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "productkit/v1", "kind": "ProcessComponent", "id": ident,
                           "version": Raw("1.0.0"), "title": label(ident, ident), "handler": handler,
                           "inputs": inputs}
    if outputs:
        doc["outputs"] = outputs
    doc["timeout"] = Raw("PT10S")
    return doc


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "enum", "values": list(values)}


def _documents() -> dict[str, dict[str, Any]]:
    money = {"type": "money", "currency": "CNY"}
    ui_request = {"apiVersion": "productkit/v1", "kind": "UIComponent", "id": "ui.bench.request",
                  "version": Raw("1.0.0"), "title": label("申请", "Request"), "channels": ["mobile", "web"],
                  "fields": {"bench.amount": {**money, "min": Raw("100.00"), "max": Raw("500000.00"),
                                              "label": label("金额", "Amount"), "widget": "money"},
                             "bench.term_months": {"type": "integer", "min": 1, "max": 60,
                                                   "label": label("期限", "Term"), "widget": "select"}}}
    ui_confirm = {"apiVersion": "productkit/v1", "kind": "UIComponent", "id": "ui.bench.confirm",
                  "version": Raw("1.0.0"), "title": label("确认", "Confirm"), "channels": ["mobile", "web"],
                  "fields": {"confirm.accepted": {"type": "boolean", "label": label("同意", "I agree"),
                                                  "widget": "consent"}}}
    dictionary = {"apiVersion": "productkit/v1", "kind": "ParameterDictionary", "id": "dict.bench",
                  "version": Raw("1.0.0"), "title": label("基准参数", "Benchmark parameters"),
                  "parameters": {"bench_min_score": {"type": "integer", "min": 300, "max": 900, "default": 600,
                                                     "title": label("最低评分", "Minimum score")}}}
    product = {
        "apiVersion": "productkit/v1", "kind": "Product", "id": PRODUCT, "version": Raw("1.0.0"),
        "name": label("十步产品", "Ten-step product"), "effective": {"from": Raw("2026-01-01")},
        "channels": ["mobile", "web"],
        "context": {"applicant.name": {"type": "string"}, "applicant.id_number": {"type": "string"},
                    "applicant.age": {"type": "integer"}, "session.device_id": {"type": "string"}},
        "parameters": {"bench_min_score": 600},
        "steps": [
            {"id": "request", "use": "ui.bench.request@^1"},
            {"id": "kyc", "use": "bench.kyc@^1"},
            {"id": "aml", "use": "bench.aml@^1"},
            {"id": "fraud", "use": "bench.fraud@^1"},
            {"id": "reject-risk", "end": "rejected",
             "when": 'kyc.status == "failed" || aml.result == "hit" || fraud.level == "high"'},
            {"id": "score", "use": "bench.score@^1"},
            {"id": "reject-score", "end": "rejected", "when": "credit.score < bench_min_score"},
            {"id": "confirm", "use": "ui.bench.confirm@^1"},
            {"id": "book", "use": "bench.book@^1", "after": ["confirm"]},
            {"id": "notify", "use": "bench.notify@^1", "inputs": {"notify.reference": "book.reference"}},
        ],
    }
    amount = {"bench.amount": money}
    return {
        "components/parameters/bench.yaml": dictionary,
        "components/ui/request.yaml": ui_request,
        "components/ui/confirm.yaml": ui_confirm,
        "components/process/kyc.yaml": _component("bench.kyc", "bench.kyc.verify",
                                                  {"applicant.id_number": {"type": "string"}, **amount},
                                                  {"kyc.status": _enum("passed", "failed")}),
        "components/process/aml.yaml": _component("bench.aml", "bench.aml.screen",
                                                  {"applicant.name": {"type": "string"}, **amount},
                                                  {"aml.result": _enum("clear", "hit")}),
        "components/process/fraud.yaml": _component("bench.fraud", "bench.fraud.score",
                                                    {"session.device_id": {"type": "string"}, **amount},
                                                    {"fraud.level": _enum("low", "high")}),
        "components/process/score.yaml": _component("bench.score", "bench.credit.score",
                                                    {"applicant.age": {"type": "integer"}, **amount},
                                                    {"credit.score": {"type": "integer", "min": 300, "max": 900}}),
        "components/process/book.yaml": _component("bench.book", "bench.core.book", dict(amount),
                                                   {"book.reference": {"type": "string"}}),
        "components/process/notify.yaml": _component("bench.notify", "bench.notify.sms",
                                                     {"notify.reference": {"type": "string"}}, {}),
        "products/ten-step.yaml": product,
    }


def write_catalogue(root: Path) -> None:
    for rel, doc in _documents().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(doc), encoding="utf-8")


def runtime_missing() -> str | None:
    """Why the runtime part cannot run here, or None."""
    if importlib.util.find_spec("productkit.runtime") is None:
        return "productkit.runtime does not exist yet"
    runtime = importlib.import_module("productkit.runtime")
    if not hasattr(runtime, "Engine"):
        return "productkit.runtime exposes no Engine yet"
    return None


RATE_REPEATS = 5


def _cores() -> int:
    """The cores this process may run on: the engine on SQLite runs one process per core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


SQLITE_WINDOWS = 3  # windows of ``n`` applications per SQLite figure (its median); the curve's are single


def _paired_rates(runners: Mapping[str, tuple[Callable[[], object], int]], warmup: int) -> dict[str, float]:
    """Applications per second of each runner (``name -> (run one, applications per window)``) on
    one thread, their windows taken in turn (first one order, then the reverse): the median of
    ``RATE_REPEATS`` windows each. A ratio of two rates measured minutes apart also measures how
    the shared host's speed moved in between (runs on this machine moved by 40% within an hour);
    taken in turn, both see the same host. Each window follows a full collection: a window of a
    few hundred applications lasts about a tenth of a second, and whether the interpreter's
    collection of its oldest generation (tens of milliseconds over everything the benchmark
    process holds, the built catalogue included) falls inside it decided a single run's figure
    by a third; both engines are measured alike."""
    for run_one, _ in runners.values():
        for _ in range(warmup):
            run_one()
    rates: dict[str, list[float]] = {name: [] for name in runners}
    order = list(runners)
    for repeat in range(RATE_REPEATS):
        for name in order if repeat % 2 == 0 else reversed(order):
            rates[name].append(_window(*runners[name]))
    return {name: statistics.median(found) for name, found in rates.items()}


def _window(run_one: Callable[[], object], n: int) -> float:
    """Applications per second over one window of ``n``, after a full collection."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        run_one()
    return n / (time.perf_counter() - start)


def _threaded_rate(run_one: Callable[[], object], n: int, warmup: int, threads: int) -> float:
    """Applications per second with ``threads`` threads running ``n`` applications between them."""
    for _ in range(warmup):
        run_one()
    each = max(1, n // threads)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(each):
                run_one()
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return each * threads / elapsed


def _engine_runner(runtime: Any, build: Path, store: Any, local: bool = False) -> Callable[[], object]:
    """Applications one after the other; the handlers answer in the process, promptly (inline:
    a commit before each call), or as local calls (``local``: committed with the next write)."""
    handlers = runtime.Handlers()
    for name, result in RESULTS.items():
        handlers.add(name, lambda call, r=result: dict(r), inline=True, local=local)
    engine = runtime.Engine(runtime.Catalog.load(build), handlers=handlers, store=store)

    def one() -> object:
        app = engine.start(PRODUCT, CHANNEL, CONTEXT)
        for step in ("request", "confirm"):
            assert app.screen is not None and app.screen.step_id == step, (app.status, app.reason)
            app = engine.submit(app.id, step, INPUTS[step])
        assert app.outcome == "completed", (app.status, app.outcome, app.reason)
        return app

    return one


def _sqlite_rate(runtime: Any, build: Path, path: Path, sync: str, local: bool, n: int,
                 threads: int, windows: int = SQLITE_WINDOWS, processes: int = 1,
                 beside: tuple[tuple[Callable[[], object], int], list[float]] | None = None
                 ) -> tuple[float, dict[str, float]]:
    """Applications per second on a fresh SQLite store, with what the store wrote for them: per
    application, the Commits and the transactions holding them, and the mean time of a COMMIT.
    With ``processes`` > 1, that many processes of ``threads`` threads each share the file, and
    ``beside`` (a runner and its window, and a list) gets the rate of the runner's window taken
    before each window."""
    if processes > 1:
        return _sqlite_rate_processes(runtime, build, path, sync, local, n, threads, windows, processes, beside)
    store = runtime.SQLiteStore(path, synchronous=sync)
    try:
        run = _engine_runner(runtime, build, store, local)
        for _ in range(20):
            run()
        before = store.stats()
        rates = []
        for _ in range(windows):
            os.sync()  # not timed: what earlier measurements left in the page cache is not this one's to write
            rates.append(_threaded_rate(run, n, 0, threads))
        rate = statistics.median(rates)
        after = store.stats()
    finally:
        store.close()
    apps = max(1, n // threads) * threads * windows
    return rate, _writes(_written(before, after), apps)


def _written(before: Any, after: Any) -> tuple[int, int, float, int]:
    """What a store's WriteStats say it wrote from ``before`` to ``after``: Commits, transactions,
    seconds committing, and the largest batch."""
    return (after.commits - before.commits, after.transactions - before.transactions,
            after.commit_seconds - before.commit_seconds, after.largest_batch)


def _writes(written: tuple[int, int, float, int], apps: int) -> dict[str, float]:
    """Per application, what :func:`_written` says was written for ``apps`` applications."""
    commits, transactions, seconds, largest = written
    return {"commits_per_application": commits / apps, "transactions_per_application": transactions / apps,
            "commit_ms": 1000 * seconds / max(1, transactions), "largest_batch": largest}


def _sqlite_rate_processes(runtime: Any, build: Path, path: Path, sync: str, local: bool, n: int, threads: int,
                           windows: int, processes: int,
                           beside: tuple[tuple[Callable[[], object], int], list[float]] | None
                           ) -> tuple[float, dict[str, float]]:
    """:func:`_sqlite_rate` over ``processes`` processes, each with its own engine and store on
    the one file (as a channel service runs one worker process per core): each window starts
    in every process at once, runs ``n`` applications in each and lasts until the last of them
    is done; its rate is all their applications over that time."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter each, as a service's workers are
    runtime.SQLiteStore(path, synchronous=sync).close()  # the tables, made once before the workers open it
    start = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    share = n  # each process's window as long as one process's: a short one would be half ramp
    workers = [ctx.Process(target=_sqlite_worker, args=(str(build), str(path), sync, local, share, threads,
                                                        windows, start, results), daemon=True)
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    totals: list[Any] = []  # what each store wrote (a process may tell it before another's last window)
    try:
        rates = []
        for _ in range(windows):
            if beside is not None:  # while the workers wait for the window: see measure_runtime
                os.sync()  # the last window's writes are not flushed while SpiffWorkflow runs
                beside[1].append(_window(*beside[0]))
            os.sync()  # not timed (see _sqlite_rate)
            try:
                start.wait(timeout=600)
            except threading.BrokenBarrierError:  # a worker failed before its window
                raise RuntimeError("a SQLite benchmark process failed before its window: "
                                   + _failure(results, workers)) from None
            runs = [_result(results, "window", totals) for _ in workers]
            rates.append(sum(apps for _, _, apps in runs) / (max(e for _, e, _ in runs) - min(s for s, _, _ in runs)))
        while len(totals) < processes:
            totals.append(_result(results, "written", totals))
    finally:
        start.abort()  # workers still waiting for a window (after a failure) stop waiting
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    apps = max(1, share // threads) * threads * windows * processes
    written = (sum(t[0] for t in totals), sum(t[1] for t in totals), sum(t[2] for t in totals),
               max(t[3] for t in totals))
    return statistics.median(rates), _writes(written, apps)


def _failure(results: Any, workers: list[Any]) -> str:
    """What the workers said of their failure, or how they ended."""
    for worker in workers:
        worker.join(timeout=5)
    try:
        found = results.get(timeout=1)
    except queue.Empty:
        return "exit codes " + ", ".join(str(w.exitcode) for w in workers)
    return found if isinstance(found, str) else "no message"


def _result(results: Any, kind: str, written: list[Any]) -> Any:
    """The next message of ``kind`` from the workers; what they wrote, met on the way, goes
    to ``written``."""
    while True:
        found = results.get(timeout=600)
        if isinstance(found, str):
            raise RuntimeError(f"a SQLite benchmark process failed:\n{found}")
        tag, value = found
        if tag == kind:
            return value
        written.append(value)


def _sqlite_worker(build: str, path: str, sync: str, local: bool, n: int, threads: int, windows: int,
                   start: Any, results: Any) -> None:
    """One process of :func:`_sqlite_rate_processes`: its windows' (start, end, applications),
    then what its store wrote from the warm-up's end to the last window's (:func:`_written`)."""
    try:
        runtime = importlib.import_module("productkit.runtime")
        store = runtime.SQLiteStore(path, synchronous=sync)
        try:
            run = _engine_runner(runtime, Path(build), store, local)
            for _ in range(20):
                run()
            before = store.stats()
            each = max(1, n // threads) * threads
            for _ in range(windows):
                start.wait(timeout=600)
                began = time.perf_counter()  # CLOCK_MONOTONIC: one clock for every process
                _threaded_rate(run, n, 0, threads)
                results.put(("window", (began, time.perf_counter(), each)))
            after = store.stats()
        finally:
            store.close()
        results.put(("written", _written(before, after)))
    except BaseException:  # reported by the parent, which would otherwise wait for the results
        import traceback
        results.put(traceback.format_exc())
        start.abort()  # the parent and the other workers stop waiting for this one's window


def _spiff_runners(repo: Path, build: Path) -> dict[str, Callable[[], object]]:
    """SpiffWorkflow through the test suite's harness: parsing the BPMN for each application
    (``run_bpmn`` as the tests call it) and with the process spec parsed once."""
    sys.path.insert(0, str(repo / "tests"))
    import bpmn_support as bs  # type: ignore[import-not-found]
    from productkit import expr, ir
    from productkit.targets.bpmn import process_id

    defn = ir.load(next((build / "definitions").glob(f"{PRODUCT}@*.json")).read_text("utf-8"))
    xml = next((build / "bpmn").glob(f"{PRODUCT}@*.bpmn")).read_bytes()
    params = {n: p.value for n, p in defn.parameters.items()}
    conditions = bs.conditions_of(defn)
    handlers = {name: (lambda variables, r=result: dict(r)) for name, result in RESULTS.items()}
    inputs = {**_flat(CONTEXT), "channel": CHANNEL}

    def evaluate(cond: Any, data: Mapping[str, Any]) -> bool:
        env = {**params, **_flat(data)}
        return bool(expr.evaluate(cond, env))

    def per_app() -> object:
        run = bs.run_bpmn(xml, process_id(defn), handlers, inputs, evaluate, conditions=conditions,
                          user_data=INPUTS)
        assert run.outcome in (None, "completed"), run.outcome
        return run

    parser = bs._Parser()
    parser.add_bpmn_str(xml)
    spec = parser.get_spec(process_id(defn))

    def parsed_once() -> object:
        engine = bs._Engine(handlers, conditions, evaluate, ())
        workflow = bs.BpmnWorkflow(spec, script_engine=engine)
        workflow.get_next_task(state=bs.TaskState.READY).data.update(bs._nested(inputs))
        run = bs._Runner(workflow, engine, INPUTS).run()
        assert run.outcome in (None, "completed"), run.outcome
        return run

    return {"spiff_run_bpmn": per_app, "spiff_spec_parsed_once": parsed_once}


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, path + "."))
        else:
            out[path] = value
    return out


def measure_runtime(repo: Path, work: Path, n: int = 300) -> dict[str, Any]:
    """Applications per second on each engine, or ``{"skipped": reason}``."""
    missing = runtime_missing()
    if missing is not None:
        return {"skipped": missing}
    import productkit
    runtime = importlib.import_module("productkit.runtime")

    catalogue, build = work / "catalogue", work / "build"
    write_catalogue(catalogue)
    built = productkit.build([catalogue], out=build)
    if built.out is None:
        return {"skipped": "the ten-step product does not build: "
                + "; ".join(str(d) for d in built.diagnostics[:3])}
    processes = _cores()
    out: dict[str, Any] = {"steps": 10, "applications": n, "sqlite_threads": SQLITE_THREADS,
                           "sqlite_processes": processes, "rate_repeats": RATE_REPEATS, "paired": True,
                           "sqlite_windows": SQLITE_WINDOWS}
    paired: dict[str, tuple[Callable[[], object], int]] = {
        "engine_memory": (_engine_runner(runtime, build, runtime.MemoryStore()), n)}
    if importlib.util.find_spec("SpiffWorkflow") is None or not (repo / "tests" / "bpmn_support.py").exists():
        out["spiff_skipped"] = "SpiffWorkflow or tests/bpmn_support.py is not available"
    else:  # each against the engine: the goal's ratio is of two rates taken in turn
        paired.update((name, (runner, max(50, n // 3))) for name, runner in _spiff_runners(repo, build).items())
    out.update(_paired_rates(paired, 20))
    with tempfile.TemporaryDirectory() as tmp:
        for sync, local in (("FULL", False), ("NORMAL", False), ("FULL", True)):
            name = f"engine_sqlite_{sync.lower()}" + ("_local" if local else "")
            # The goal's figure is taken in turn with SpiffWorkflow's windows, as the in-memory
            # one is: its ratio then does not also measure the host's speed minutes apart.
            spiff = paired.get("spiff_spec_parsed_once") if name == "engine_sqlite_full" else None
            beside: list[float] = []
            out[name], out[f"{name}_writes"] = _sqlite_rate(runtime, build, Path(tmp) / f"{name}.db", sync,
                                                            local, n, SQLITE_THREADS, processes=processes,
                                                            beside=None if spiff is None else (spiff, beside))
            if beside:
                out["spiff_beside_sqlite_full"] = statistics.median(beside)
        if processes > 1:  # information: what one process makes of the same threads
            out["engine_sqlite_full_one_process"] = _sqlite_rate(runtime, build, Path(tmp) / "one.db", "FULL",
                                                                 False, n, SQLITE_THREADS)[0]
        out["engine_sqlite_full_threads"] = {
            str(t): _sqlite_rate(runtime, build, Path(tmp) / f"curve-{t}.db", "FULL", False,
                                 max(n, 8 * t), t, windows=1)[0] for t in SQLITE_CURVE}
    return out


def measure_temporal(work: Path, build: Path, n: int, repetitions: int, applications: int) -> dict[str, Any]:
    """The ten-step product on Temporal (same build as the embedded engine's figures): applications
    per second with one worker process, and the fault run repeated ``repetitions`` times."""
    from ._temporal import dev_server, kill_run, temporal_missing, temporal_rate

    missing = temporal_missing()
    if missing is not None:
        return {"temporal_skipped": missing}
    out: dict[str, Any] = {}
    with dev_server(work / "temporal") as address:
        out["temporal_one_worker"] = temporal_rate(address, build, applications=n)
        runs = []
        for seed in range(repetitions):
            runs.append(kill_run(address, build, work / "faults", applications=applications, seed=seed))
            print(f"  fault run {seed + 1}/{repetitions}: {runs[-1]}", flush=True)
    out["temporal_faults"] = {
        "repetitions": repetitions, "applications": applications, "workers": 2,
        **{key: sum(r[key] for r in runs) for key in ("lost", "steps_under_two_keys", "keys_not_derived",
                                                       "steps_missing", "calls_repeated")},
        "ended": sum(r["ended"] for r in runs), "completed": sum(r["completed"] for r in runs),
        "runs": runs}
    return out
