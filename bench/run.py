"""``python -m bench.run [--quick] [--stores sqlite,postgres] [--peers all] [--out DIR]``."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import peers, report, scenarios
from bench.peers import base

FULL = {"enqueue": 10_000, "drain": 10_000, "latency": 200, "cancel": 100, "orphan": 5,
        "scale": [1_000, 100_000, 1_000_000], "memory": 10_000, "http": 10.0,
        "waiters": 1_000, "dagster": 5}
QUICK = {"enqueue": 2_000, "drain": 2_000, "latency": 50, "cancel": 10, "orphan": 2,
         "scale": [1_000, 20_000], "memory": 2_000, "http": 3.0, "waiters": 200, "dagster": 2}
PEER_SCENARIOS = ("enqueue", "drain", "latency", "cancel", "orphan")
"""Run scenario by scenario, corral's and then every peer's, so that a ratio compares
figures taken minutes apart: this VM's speed drifts by up to 2x within half an hour, and
corral's scenarios all run before the first peer's put the two sides of a ratio up to 25
minutes apart (corral's bulk enqueue at 07:27, pgqueuer's at 07:33 in the run of
2026-12-06 07:50)."""
ROUNDS = {"enqueue": 3, "drain": 3, "latency": 3}
"""Scenarios a target compares with a peer, run this many rounds in a full run (corral's
and every peer's in each round); the report gives each figure's median. One round each,
a bulk enqueue read 0.57x pgqueuer's in one run and 1.40x in the next, same code."""
ORPHAN_BOUND_S = 40.0  # pgqueuer, the only peer that re-runs an orphan, takes ~33 s


Taken = dict[str, dict[str, list[dict[str, Any]]]]  # scenario -> column -> each round's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--only", default="", help="comma list of scenarios")
    parser.add_argument("--peers", default=None,
                        help="comma list, 'all' or 'none' (default: all, none with --quick)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    wanted = [s for s in options.only.split(",") if s] or list(sizes)
    chosen = options.peers or ("none" if options.quick else "all")
    names = {"all": list(peers.ADAPTERS), "none": []}.get(chosen, chosen.split(","))
    taken: Taken = {}
    notes: report.Notes = {}
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as scratch:
        for name in wanted:  # each scenario for corral, then for every peer (see below)
            for _ in range(1 if options.quick else ROUNDS.get(name, 1)):
                for backend in options.stores.split(","):
                    measure = getattr(scenarios, name)
                    _timed(taken, name, backend, measure, backend, Path(scratch), sizes[name])
                if name in PEER_SCENARIOS:
                    for peer_name in names:
                        _run_peer(peer_name, name, sizes[name], Path(scratch), taken, notes)
    results = {name: {column: _median(rounds) for column, rounds in columns.items()}
               for name, columns in taken.items()}
    written = report.write(results, notes, options.out, options.quick, _each_round(taken))
    print(f"report: {written}")


def _each_round(taken: Taken) -> list[report.Results]:
    """The figures of each round (a scenario run fewer rounds, or a peer that failed in
    one, repeats its last)."""
    count = max((len(rounds) for columns in taken.values() for rounds in columns.values()),
                default=1)
    return [{name: {column: rounds[min(index, len(rounds) - 1)]
                    for column, rounds in columns.items()}
             for name, columns in taken.items()} for index in range(count)]


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each number's median over the rounds (anything else, a list of samples: the first
    round's)."""
    return {key: statistics.median(r[key] for r in rounds)
            if isinstance(value, int | float) else value
            for key, value in rounds[0].items()}


def _run_peer(name: str, scenario: str, size: Any, scratch: Path, taken: Taken,
              notes: report.Notes) -> None:
    marks = Path(tempfile.mkdtemp(dir=scratch))
    peer = peers.load(name)(marks)
    label = f"{name} {metadata.version(peer.package)} ({peer.store})"
    peer_notes = notes.setdefault(label, {})
    try:
        measure = getattr(base, scenario)
        _timed(taken, scenario, label, measure, peer,
               ORPHAN_BOUND_S if scenario == "orphan" else size)
    except base.Unsupported as why:
        peer_notes[scenario] = f"cannot: {why}"
    except Exception as error:  # one peer's failure must not lose the whole run
        peer_notes[scenario] = f"failed: {type(error).__name__}: {error}"
        print(f"{scenario:8} {label}: {peer_notes[scenario]}", flush=True)
    finally:
        peer.stop_workers()
        peer_notes.update(peer.notes)
        peer.close()


def _timed(taken: Taken, scenario: str, column: str,
           measure: Callable[..., dict[str, float]], *args: Any) -> None:
    started = time.monotonic()
    figures = measure(*args)
    taken.setdefault(scenario, {}).setdefault(column, []).append(figures)
    shown = {k: v for k, v in figures.items() if not isinstance(v, list)}
    print(f"{scenario:8} {column:28} {time.monotonic() - started:6.1f}s  {shown}", flush=True)


if __name__ == "__main__":
    main()
