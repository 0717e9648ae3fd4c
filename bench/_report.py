"""Ratios, goals and the Markdown page of a benchmark run."""

from __future__ import annotations

from typing import Any

__all__ = ["judge", "markdown", "summary"]

LINEAR = 1.05  # growth exponent (time ~ size^k) still called linear


def _m(results: dict[str, Any], key: str) -> float:
    return float(results["scale_1"][key]["median"])


def judge(results: dict[str, Any]) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """The ratios asked for, and each goal with its figure and whether it is met."""
    cold, floor = _m(results, "cold_build"), _m(results, "yaml_floor")
    rt = results.get("runtime", {})
    spiff = rt.get("spiff_spec_parsed_once")
    ratios: dict[str, float | None] = {
        "cold_build / yaml_floor": cold / floor,
        "validate / yaml_floor": _m(results, "validate") / floor,
        "validate_warm / yaml_floor": _m(results, "validate_warm") / floor,
        "validate_one_file / yaml_floor": _m(results, "validate_one_file") / floor,
        "validate_changed_file / yaml_floor": _m(results, "validate_changed_file") / floor
        if "validate_changed_file" in results["scale_1"] else None,
        "no_change_rebuild / yaml_floor": _m(results, "no_change_rebuild") / floor,
        "one_product_change / yaml_floor": _m(results, "one_product_change") / floor,
        "one_component_change / yaml_floor": _m(results, "one_component_change") / floor,
        "catalog_load / yaml_floor": _m(results, "catalog_load") / floor if "catalog_load" in results["scale_1"]
        else None,
        "engine_memory / spiffworkflow": rt["engine_memory"] / spiff if spiff else None,
        "engine_sqlite_full / spiffworkflow": rt["engine_sqlite_full"] / rt.get("spiff_beside_sqlite_full", spiff)
        if spiff else None,
    }
    if spiff and "engine_sqlite_full_one_process" in rt:  # information: one process alone
        ratios["engine_sqlite_full_one_process / spiffworkflow"] = rt["engine_sqlite_full_one_process"] / spiff
    scaling = results["scaling"]
    one = results["scale_1"]
    # The goals of the performance issue (17), all as ratios to the YAML floor of the same run.
    goals = [
        _goal("Catalog.load within 1x the YAML floor", ratios["catalog_load / yaml_floor"], "x", 1.0),
        _goal("Catalog.load peak RSS at most 150 MiB", one.get("catalog_load_rss_mib"), "MiB", 150.0),
        _goal("validate (no cache) within 4x the floor", ratios["validate / yaml_floor"], "x", 4.0),
        _goal("validate, warm, nothing changed, within 0.5x", ratios["validate_warm / yaml_floor"], "x", 0.5),
        _goal("validate of one product file, warm, within 0.25x", ratios["validate_one_file / yaml_floor"], "x", 0.25),
        _goal("the same, the file just edited, within 0.25x", ratios["validate_changed_file / yaml_floor"], "x", 0.25),
        _goal("cold build within 6x the floor", ratios["cold_build / yaml_floor"], "x", 6.0),
        _goal("no-change rebuild within 0.5x", ratios["no_change_rebuild / yaml_floor"], "x", 0.5),
        _goal("one-product change within 0.5x", ratios["one_product_change / yaml_floor"], "x", 0.5),
        _goal("one-component change within 1x", ratios["one_component_change / yaml_floor"], "x", 1.0),
        _goal("peak RSS of a build at most 600 MiB", one.get("peak_rss_mib"), "MiB", 600.0),
        _goal("build output at most 120 MiB", one.get("build_output_mib"), "MiB", 120.0),
        _goal("engine in memory at least 20x SpiffWorkflow", ratios["engine_memory / spiffworkflow"], ">x", 20.0),
        _goal("engine on SQLite (FULL, a process per core) at least 5x SpiffWorkflow in memory (one thread)",
              ratios["engine_sqlite_full / spiffworkflow"], ">x", 5.0),
        _goal("lsp diagnostics for an edit within 200 ms", _lsp_edit(one), "s", 0.2),
        _goal("linear growth of validate (exponent)", scaling["validate_exponent"], "k", LINEAR),
        _goal("linear growth of the cold build (exponent)", scaling["cold_build_exponent"], "k", LINEAR),
    ]
    return ratios, goals


def _lsp_edit(one: dict[str, Any]) -> float | None:
    """The slower of an edit's median to its error and its undo's median to the clean publish."""
    lsp = one.get("lsp_edit")
    return max(lsp["median"], lsp["clean"]["median"]) if lsp else None


def _goal(name: str, value: float | None, unit: str, limit: float) -> dict[str, Any]:
    """A goal met when ``value`` is at most ``limit`` (at least, for units starting with '>')."""
    met = value is not None and (value >= limit if unit.startswith(">") else value <= limit)
    return {"goal": name, "value": value, "unit": unit.lstrip(">"), "limit": limit, "met": met}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "x":
        return f"{value:.1f}x"
    if unit == "k":
        return f"{value:.2f}"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:.2f} s"


def summary(results: dict[str, Any]) -> str:
    lines = ["ratios:"]
    for name, value in results["ratios"].items():
        lines.append(f"  {name:<38} {'n/a' if value is None else f'{value:.3f}'}")
    lines.append("goals:")
    for g in results["goals"]:
        lines.append(f"  {'met    ' if g['met'] else 'NOT MET'}  {g['goal']:<46} {_fmt(g['value'], g['unit'])}")
    if "skipped" in results.get("runtime", {}):
        lines.append(f"runtime: skipped ({results['runtime']['skipped']})")
    return "\n".join(lines)


_ROWS = (
    ("yaml_floor", "YAML floor: every file parsed with `yaml.CSafeLoader`, nothing else (runs at the start of "
                   "these figures, then at their end)"),
    ("validate", "`productkit validate` (whole catalogue, `--no-cache`)"),
    ("validate_warm", "`productkit validate` (whole catalogue, warm cache)"),
    ("cold_build", "cold `productkit build` (empty output folder; the user cache the validation before filled)"),
    ("cold_build_empty_cache", "the same with an empty user cache too (information: no goal names it)"),
    ("no_change_rebuild", "no-change rebuild"),
    ("one_product_change", "one-product change"),
    ("one_component_change", "one-component change"),
    ("validate_one_file", "`productkit validate` of one product file (warm cache: a pre-commit hook)"),
    ("validate_changed_file", "the same, the file just edited (only what it can affect is checked)"),
    ("cli_startup", "CLI start-up (`productkit --help`)"),
    ("catalog_load", "`Catalog.load` of the scale-1 build (what a channel service does at start-up)"),
    ("lsp_edit", "`productkit lsp`: an edit's diagnostics published (a stdio client; undo: see the goals)"),
)


def markdown(results: dict[str, Any]) -> str:
    m, s1 = results["machine"], results["scale_1"]
    counts = results["catalogues"]["1"]
    out = ["# Benchmarks", "",
           "Written by `make bench` (`python -m bench.run`); the raw figures are in `bench/results.json`.",
           "Every time is the wall time of a fresh process, the median of the runs shown; each run starts "
           "with the file system flushed (not timed), so that it is not charged for the writes of the runs "
           "before it (a build ends by flushing the file system: its durability point).", ""]
    if results.get("quick"):
        out += ["**Quick run** (`--quick`): one repetition each, fewer scales.", ""]
    out += ["## Machine", "", "| | |", "|---|---|",
            f"| nproc | {m['nproc']} |", f"| CPU | {m['cpu']} |", f"| memory | {m['memory']} |",
            f"| Python | {m['implementation']} {m['python']} |", f"| platform | {m['platform']} |",
            f"| productkit | commit {m['commit']}{' with local changes in src/' if m['dirty'] else ''} |", "",
            "## Scale 1", "",
            "Generated by `python -m bench.generate --scale 1 --seed 1`: "
            + ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items())) + ".", "",
            *_previous_note(results.get("previous")),
            "| operation | median | runs | previous |", "|---|---:|---|---:|"]
    before = (results.get("previous") or {}).get("scale_1", {})
    for key, name in _ROWS:
        if key not in s1:
            continue
        row = s1[key]
        extra = ""
        if key == "one_product_change":
            extra = f" ({row['product']})"
        if key == "one_component_change":
            extra = f" ({row['component']}, recompiles exactly its {row['products_recompiled']} products)"
        out.append(f"| {name}{extra} | {row['median']:.2f} s | {', '.join(f'{t:.2f}' for t in row['runs'])} | "
                   f"{_was(before.get(key), 's')} |")
    out += [f"| peak RSS of the cold build (largest process) | {s1['peak_rss_mib']:.0f} MiB | | "
            f"{_was(before.get('peak_rss_mib'), 'MiB')} |"]
    if "catalog_load_rss_mib" in s1:
        out += [f"| peak RSS of `Catalog.load` | {s1['catalog_load_rss_mib']:.0f} MiB | | "
                f"{_was(before.get('catalog_load_rss_mib'), 'MiB')} |",
                f"| build output | {s1['build_output_mib']:.0f} MiB | | "
                f"{_was(before.get('build_output_mib'), 'MiB')} |"]
    was_ratio = (results.get("previous") or {}).get("ratios", {})
    out += ["",
            "## Ratios and goals", "", "| ratio | value | previous |", "|---|---:|---:|"]
    for name, value in results["ratios"].items():
        out.append(f"| {name} | {'n/a' if value is None else f'{value:.3f}'} | "
                   f"{'' if was_ratio.get(name) is None else f'{was_ratio[name]:.3f}'} |")
    out += ["", "| goal | figure | met |", "|---|---:|:---:|"]
    for g in results["goals"]:
        out.append(f"| {g['goal']} | {_fmt(g['value'], g['unit'])} | {'yes' if g['met'] else '**no**'} |")
    out += ["", "## Scaling (validate + cold build)", "",
            "| factor | products | validate | cold build | ms per product (build) |", "|---:|---:|---:|---:|---:|"]
    scaling = results["scaling"]
    for key, row in scaling.items():
        if isinstance(row, dict):
            out.append(f"| {key} | {row['products']:,} | {row['validate']:.2f} s | {row['cold_build']:.2f} s | "
                       f"{row['ms_per_product_build']:.1f} |")
    out += ["", f"Growth exponents (time ~ size^k between the smallest and largest factor): validate "
            f"k = {scaling['validate_exponent']:.2f}, cold build k = {scaling['cold_build_exponent']:.2f}.", ""]
    out += _runtime_section(results.get("runtime", {}))
    out += _api_section(results.get("api", {}))
    return "\n".join(out) + "\n"


def previous_of(results: dict[str, Any]) -> dict[str, Any]:
    """What a later run shows beside its own figures: this run's medians and ratios."""
    s1 = results.get("scale_1", {})
    return {"commit": results.get("machine", {}).get("commit"), "quick": results.get("quick"),
            "scale_1": {k: (v["median"] if isinstance(v, dict) and "median" in v else v) for k, v in s1.items()
                        if isinstance(v, int | float) or (isinstance(v, dict) and "median" in v)},
            "ratios": results.get("ratios", {}),
            "runtime": {k: v for k, v in results.get("runtime", {}).items() if isinstance(v, int | float)}}


def _previous_note(previous: dict[str, Any] | None) -> list[str]:
    if not previous:
        return []
    kind = "a quick run" if previous.get("quick") else "a full run"
    return [f"**previous**: the figures of the run before this one ({kind}, commit {previous.get('commit')}).", ""]


def _was(value: Any, unit: str) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:.0f} MiB" if unit == "MiB" else f"{value:.2f} s"


def _api_section(api: dict[str, Any]) -> list[str]:
    out = ["", "## Open API: `productkit serve` under load", ""]
    if not api:
        return []
    if "skipped" in api:
        return [*out, f"Skipped: {api['skipped']}."]
    return [*out, f"One server process (SQLite store, synchronous=FULL) on loopback; {api['clients']} clients each "
            "walk whole partner deposit applications (start, order, confirmation, status read) for "
            f"{api['seconds']:.0f} s.", "",
            "| requests/s | applications/s | p50 | p99 |", "|---:|---:|---:|---:|",
            f"| {api['requests_per_second']:.0f} | {api['applications_per_second']:.0f} | {api['p50_ms']:.1f} ms | "
            f"{api['p99_ms']:.1f} ms |"]


def _runtime_section(rt: dict[str, Any]) -> list[str]:
    out = ["## Runtime: a ten-step product", ""]
    if "skipped" in rt:
        return [*out, f"Skipped: {rt['skipped']}."]
    names = {"engine_memory": "embedded engine, in memory",
             "engine_sqlite_full": "embedded engine, SQLite (synchronous=FULL)",
             "engine_sqlite_normal": "embedded engine, SQLite (synchronous=NORMAL)",
             "engine_sqlite_full_one_process": "embedded engine, SQLite (FULL), one process alone (information)",
             "engine_sqlite_full_local": "embedded engine, SQLite (FULL), handlers as local calls "
                                         "(committed with the next write: not the goal's one transaction per step)",
             "spiff_spec_parsed_once": "SpiffWorkflow 3.2 on the emitted BPMN (process parsed once)",
             "spiff_run_bpmn": "SpiffWorkflow 3.2 on the emitted BPMN (`run_bpmn`, parsed per application)",
             "spiff_beside_sqlite_full": "SpiffWorkflow 3.2 (process parsed once), its runs taken in turn with "
                                         "the SQLite (FULL) runs: the goal's ratio on SQLite divides by this",
             "temporal_one_worker": "Temporal (dev server, one `productkit worker` process, 50 in flight)"}
    out += ["Request screen, three parallel checks, two conditional rejects, a score, a confirmation "
            "screen, a booking and a notification; every application completes. One thread"
            + (f", except the engine on SQLite: {_sqlite_workers(rt)} share one engine and store, "
               "whose group commit writes the steps that arrive together in one durable transaction "
               "(each caller returns only after its step's transaction committed)"
               if rt.get("sqlite_threads", 1) > 1 else "") + ". On one thread, each rate is the median of "
            + (f"{rt['rate_repeats']} runs of {rt['applications']} applications (SpiffWorkflow: of a third as many)"
               if "rate_repeats" in rt else "one run") + ", each run after a full collection"
            + ("; the engine's runs and SpiffWorkflow's are taken in turn, so that their ratio does not "
               "also measure how the shared host's speed moved between them" if rt.get("paired") else "")
            + (f". On SQLite, each rate is the median of {rt['sqlite_windows']} runs of {rt['applications']} "
               + ("applications per process on one database file" if rt.get("sqlite_processes", 1) > 1 else
                  "applications on one store") + " (the thread curve: one run each)"
               if "sqlite_windows" in rt else "")
            + ".", "",
            "| engine | applications/s | previous |", "|---|---:|---:|"]
    was = rt.get("previous", {})
    out += [f"| {label} | {rt[key]:.0f} | {'' if key not in was else f'{was[key]:.0f}'} |"
            for key, label in names.items() if key in rt]
    if rt.get("sqlite_processes", 1) > 1 and was and "sqlite_processes" not in was:
        out += ["", "The previous SQLite figures are of one process: the benchmark ran the engine on SQLite in "
                "one process then. This run's figure of one process alone is the row marked so."]
    out += _sqlite_writes(rt)
    if "spiff_skipped" in rt:
        out.append(f"\nSpiffWorkflow skipped: {rt['spiff_skipped']}.")
    if "temporal_skipped" in rt:
        out.append(f"\nTemporal skipped: {rt['temporal_skipped']}.")
    return out + _faults_section(rt.get("temporal_faults"))


def _sqlite_workers(rt: dict[str, Any]) -> str:
    """Who drives the engine on SQLite, as the runtime section says it."""
    threads = f"{rt['sqlite_threads']} threads"
    processes = rt.get("sqlite_processes", 1)
    if processes == 1:
        return threads
    return (f"{processes} processes (one per core, one database file; the stores take turns at writing), "
            f"in each of which {threads}")


def _sqlite_writes(rt: dict[str, Any]) -> list[str]:
    """What the store wrote per application on SQLite, and the FULL figure over more threads."""
    out = []
    writes = rt.get("engine_sqlite_full_writes")
    if writes:
        out += ["", f"On SQLite (FULL) an application is {writes['commits_per_application']:.0f} durable points "
                f"(Commits) one after the other, written in {writes['transactions_per_application']:.2f} "
                f"transactions (syncs of the log) thanks to group commit; a COMMIT took "
                f"{writes['commit_ms']:.2f} ms on average."]
    curve = rt.get("engine_sqlite_full_threads")
    if curve:
        out += ["", "SQLite (FULL), one process, with more concurrent applications (information; the goal is "
                f"measured with {rt['sqlite_threads']} threads per process): "
                + ", ".join(f"{t} threads {rate:.0f}/s" for t, rate in curve.items()) + "."]
    return out


def _faults_section(faults: dict[str, Any] | None) -> list[str]:
    if not faults:
        return []
    return ["", "## Temporal: a worker killed with SIGKILL", "",
            f"{faults['repetitions']} runs; each: two `productkit worker` processes, {faults['applications']} "
            "applications in flight, one worker killed at a random moment.", "",
            "| figure | total |", "|---|---:|",
            f"| applications ended (completed) | {faults['ended']:,} ({faults['completed']:,}) |",
            f"| applications lost | {faults['lost']} |",
            f"| steps executed under two idempotency keys | {faults['steps_under_two_keys']} |",
            f"| steps never executed | {faults['steps_missing']} |",
            f"| handler calls made again after the kill (same key) | {faults['calls_repeated']} |"]
