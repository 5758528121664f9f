"""``python -m bench.run [--quick] [--stores sqlite,postgres] [--out bench/results]``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import report, scenarios

FULL = {"enqueue": 10_000, "drain": 10_000, "latency": 200, "cancel": 50, "orphan": 5,
        "scale": [1_000, 100_000, 1_000_000], "memory": 10_000}
QUICK = {"enqueue": 2_000, "drain": 2_000, "latency": 50, "cancel": 10, "orphan": 2,
         "scale": [1_000, 20_000], "memory": 2_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--only", default="", help="comma list of scenarios")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    wanted = [s for s in options.only.split(",") if s] or list(sizes)
    results: report.Results = {}
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as scratch:
        for name in wanted:
            for backend in options.stores.split(","):
                started = time.monotonic()
                measure = getattr(scenarios, name)
                results.setdefault(name, {})[backend] = measure(backend, Path(scratch),
                                                                 sizes[name])
                print(f"{name:8} {backend:9} {time.monotonic() - started:6.1f}s  "
                      f"{results[name][backend]}", flush=True)
    print(f"report: {report.write(results, options.out, options.quick)}")


if __name__ == "__main__":
    main()
