"""One measured operation in a fresh process; prints one JSON object on stdout.

    python -m bench._worker floor ROOT          parse every catalogue file with yaml.CSafeLoader
    python -m bench._worker build ROOT OUT      productkit.build(), with what it compiled and reused
    python -m bench._worker load BUILD          Catalog.load() of a build (lazy: what a channel service does
                                                at start-up), then one product version used

``seconds`` is the operation alone (after imports); the caller also times the whole process.
Peak memory is the resident set size high-water mark from ``resource.getrusage``, of this
process and of the worker processes it forked (their maximum).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _rss() -> dict[str, int]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"maxrss_kib": own, "children_maxrss_kib": children}


def floor(root: Path) -> dict[str, Any]:
    import yaml

    files = sorted(p for d in ("components", "products") for p in (root / d).rglob("*.yaml"))
    start = time.perf_counter()
    size = 0
    for path in files:
        data = path.read_bytes()
        size += len(data)
        yaml.load(data, Loader=yaml.CSafeLoader)
    return {"seconds": time.perf_counter() - start, "files": len(files), "bytes": size}


def build(root: Path, out: Path) -> dict[str, Any]:
    import atexit
    import gc

    import productkit

    # The process ends as ``productkit build`` does (see productkit.console): what is left of the
    # build is frozen first, so the interpreter's last collection does not walk it again.
    atexit.register(gc.freeze)

    start = time.perf_counter()
    result = productkit.build([root], out=out)
    seconds = time.perf_counter() - start
    levels = [d.severity.value for d in result.diagnostics]
    return {"seconds": seconds, "compiled": result.compiled, "reused": result.reused,
            "errors": levels.count("error"), "warnings": levels.count("warning"),
            "diagnostics": len(levels), "ok": result.out is not None, **_rss()}


def load(build_dir: Path) -> dict[str, Any]:
    from productkit.runtime import Catalog

    start = time.perf_counter()
    catalog = Catalog.load(build_dir)
    seconds = time.perf_counter() - start
    first = next(iter(catalog))
    start = time.perf_counter()
    first.definition  # noqa: B018 - reading one version's files: what the first application costs
    return {"seconds": seconds, "first_use_seconds": time.perf_counter() - start,
            "products": sum(1 for _ in catalog), **_rss()}


def main(argv: list[str]) -> None:
    op, *args = argv
    if op == "floor":
        out = floor(Path(args[0]))
    elif op == "build":
        out = build(Path(args[0]), Path(args[1]))
    elif op == "load":
        out = load(Path(args[0]))
    else:
        raise SystemExit(f"unknown operation {op!r}")
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
