"""REPORT.md, results.json and PNG plots from the scenarios' numbers."""

from __future__ import annotations

import functools
import json
import os
import platform
import sqlite3
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Results = dict[str, dict[str, dict[str, Any]]]
"""scenario -> column -> metric -> value: a number, or a list of samples (``*_samples_ms``,
drawn as a histogram, never tabled)."""
Notes = dict[str, dict[str, str]]  # peer column -> scenario -> how it ran / why it could not
CORRAL = ("sqlite", "postgres")  # corral's columns; every other column is a peer

# label, scenario, metric, corral store, store of the peers compared, least ratio
PEER_TARGETS: list[tuple[str, str, str, str, str, float]] = [
    ("drain, 1 worker >= 1.2x best PostgreSQL peer", "drain", "1_worker_jobs_per_s",
     "postgres", "postgres", 1.2),
    ("drain, 2 workers >= 1.2x best PostgreSQL peer", "drain", "2_worker_jobs_per_s",
     "postgres", "postgres", 1.2),
    ("drain, 1 worker >= 1.2x best Redis peer", "drain", "1_worker_jobs_per_s", "sqlite",
     "redis", 1.2),
    ("bulk enqueue >= 1.4x best peer", "enqueue", "bulk_jobs_per_s", "postgres", "", 1.4),
    ("bulk enqueue >= 1.4x best peer", "enqueue", "bulk_jobs_per_s", "sqlite", "", 1.4),
]

TARGETS: list[tuple[str, str, str, str, float, str]] = [
    # label, scenario, metric, backend, limit, "max" or "min"
    ("end-to-end p50 <= 2 ms", "latency", "p50_ms", "sqlite", 2.0, "max"),
    ("end-to-end p50 <= 3 ms", "latency", "p50_ms", "postgres", 3.0, "max"),
    ("end-to-end p99 <= 10 ms", "latency", "p99_ms", "sqlite", 10.0, "max"),
    ("end-to-end p99 <= 10 ms", "latency", "p99_ms", "postgres", 10.0, "max"),
    ("cancel p99, async <= 10 ms", "cancel", "async_p99_ms", "sqlite", 10.0, "max"),
    ("cancel p99, async <= 5 ms", "cancel", "async_p99_ms", "postgres", 5.0, "max"),
    ("cancel p99, sync (10 ms checkpoints) <= 20 ms", "cancel", "sync_p99_ms", "sqlite", 20.0,
     "max"),
    ("cancel p99, sync (10 ms checkpoints) <= 15 ms", "cancel", "sync_p99_ms", "postgres",
     15.0, "max"),
    ("process-isolated job stopped <= cancel_grace (1 s) + 1 s", "cancel", "process_max_s",
     "sqlite", 2.0, "max"),
    ("process-isolated job stopped <= cancel_grace (1 s) + 1 s", "cancel", "process_max_s",
     "postgres", 2.0, "max"),
    ("orphan recovery after kill -9 <= 1 s", "orphan", "max_s", "sqlite", 1.0, "max"),
    ("orphan recovery after kill -9 <= 1 s", "orphan", "max_s", "postgres", 1.0, "max"),
    ("idle worker RSS <= 60 MB", "memory", "idle_rss_mb", "sqlite", 60.0, "max"),
    ("idle worker RSS <= 60 MB", "memory", "idle_rss_mb", "postgres", 60.0, "max"),
    ("GET /jobs/{id} p99 <= 25 ms, 50 clients", "http", "job_p99_ms", "sqlite", 25.0, "max"),
    ("GET /jobs/{id} p99 <= 25 ms, 50 clients", "http", "job_p99_ms", "postgres", 25.0,
     "max"),
    ("GET /stats p99 <= 25 ms, 50 clients", "http", "stats_p99_ms", "sqlite", 25.0, "max"),
    ("GET /stats p99 <= 25 ms, 50 clients", "http", "stats_p99_ms", "postgres", 25.0, "max"),
    # issue 20: 3x the req/s of the report of 2026-12-02 (sqlite 803 and 1,068; postgres 631
    # and 1,401), the last before it
    ("GET /jobs/{id} >= 3x the req/s of 2026-12-02 (803)", "http", "job_req_per_s", "sqlite",
     3 * 803.0, "min"),
    ("GET /jobs/{id} >= 3x the req/s of 2026-12-02 (631)", "http", "job_req_per_s",
     "postgres", 3 * 631.0, "min"),
    ("GET /stats >= 3x the req/s of 2026-12-02 (1,068)", "http", "stats_req_per_s", "sqlite",
     3 * 1068.0, "min"),
    ("GET /stats >= 3x the req/s of 2026-12-02 (1,401)", "http", "stats_req_per_s",
     "postgres", 3 * 1401.0, "min"),
    ("change pushed to an SSE stream p99 <= 20 ms", "http", "push_p99_ms", "sqlite", 20.0,
     "max"),
    ("change pushed to an SSE stream p99 <= 100 ms", "http", "push_p99_ms", "postgres", 100.0,
     "max"),
    ("1,000 wait_async p99 no later than 1,000 sync waits", "waiters", "p99_extra_ms",
     "sqlite", 0.0, "max"),
    ("1,000 wait_async p99 no later than 1,000 sync waits", "waiters", "p99_extra_ms",
     "postgres", 0.0, "max"),
    ("Dagster terminate() to op process gone <= cancel_grace (2 s)", "dagster",
     "terminate_to_gone_max_s", "sqlite", 2.0, "max"),
    ("Dagster terminate() to op process gone <= cancel_grace (2 s)", "dagster",
     "terminate_to_gone_max_s", "postgres", 2.0, "max"),
]


def write(results: Results, notes: Notes, out: Path, quick: bool,
          rounds: list[Results] | None = None) -> Path:
    """``results``: each figure's median over ``rounds``, the figures of each round (a
    ratio is taken in each round, then the median of those: a ratio of two medians can
    pair a fast minute of one side with a slow minute of the other)."""
    rounds = rounds or [results]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    (out / "rounds.json").write_text(json.dumps(rounds, indent=2, sort_keys=True))
    plots = [_bars(results, out, "enqueue", "enqueue throughput (jobs/s)"),
             _bars(results, out, "drain", "drain throughput (jobs/s)"),
             _drain_curve(results, out),
             _histogram(results, out, "cancel", "async_samples_ms",
                        "async cancel: request to the task's finally (ms)"),
             _bars(results, out, "latency", "end-to-end latency (ms)"),
             _bars(results, out, "cancel", "cancel latency (ms)")]
    lines = [
        "# corral benchmark report", "",
        f"{'Quick run' if quick else 'Full run'}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {_postgres_version()}.",
        "Produced by `make bench` / `make bench-quick` (bench/run.py). Columns `sqlite` and "
        "`postgres` are corral on each store; the others are the peers, run in the same "
        "session with their documented defaults (bench/peers/, bench/requirements.txt), "
        "scenario by scenario: corral, then every peer"
        + (". " if len(rounds) == 1 else "; enqueue, drain and latency figures are the "
           f"medians of {len(rounds)} such rounds (`ROUNDS` in bench/run.py), and a ratio "
           "is the median of the ratios taken in each round (rounds.json). ") +
        "Every job is timed by what its code wrote (bench/peers/base.py), not by each "
        "queue's idea of status." + ("" if notes else " Peers are not run in a quick run."),
        "Where the time goes for the targets not met, and what profiling changed: "
        "[PROFILES.md](../PROFILES.md).", "",
        "## Targets", "", "| target | store | measured | status |", "|---|---|---|---|",
    ]
    for label, scenario, metric, backend, limit, kind in TARGETS:
        value = results.get(scenario, {}).get(backend, {}).get(metric)
        if value is None:
            lines.append(f"| {label} | {backend} | not run | - |")
            continue
        met = value <= limit if kind == "max" else value >= limit
        lines.append(f"| {label} | {backend} | {value:.2f} | {'met' if met else 'NOT met'} |")
    lines += _scale_targets(results) + _scaling_targets(results, rounds)
    lines += _peer_targets(results, rounds) + [""]
    lines += _histogram_table(results, "cancel", "async_samples_ms")
    for scenario, backends in results.items():
        metrics = _metrics(backends)
        lines += [f"## {scenario}", "", "| queue | " + " | ".join(metrics) + " |",
                  "|---|" + "---|" * len(metrics)]
        for column, values in backends.items():
            cells = [_fmt(values.get(metric)) for metric in metrics]
            lines.append(f"| {_name(column)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _notes(notes)
    lines += [f"![{plot.stem}]({plot.name})" for plot in plots if plot is not None]
    report = out / "REPORT.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _metrics(backends: dict[str, dict[str, Any]]) -> list[str]:
    """The tabled metrics: numbers, not sample lists."""
    return sorted({m for values in backends.values() for m, v in values.items()
                   if not isinstance(v, list)})


def _per_round(rounds: list[Results], ratio: Callable[[Results], float | None]
               ) -> tuple[float, str] | None:
    """The median of ``ratio`` taken in each round, and the rounds' ratios as text."""
    taken = [value for figures in rounds if (value := ratio(figures)) is not None]
    if not taken:
        return None
    each = "" if len(taken) == 1 else "; rounds " + ", ".join(f"{r:.2f}x" for r in taken)
    return statistics.median(taken), each


def _two_to_one(results: Results) -> float | None:
    values = results.get("drain", {}).get("postgres", {})
    one, two = values.get("1_worker_jobs_per_s"), values.get("2_worker_jobs_per_s")
    return two / one if one and two else None


def _scaling_targets(results: Results, rounds: list[Results]) -> list[str]:
    """More worker processes must add throughput: on PostgreSQL, 2 >= 1.5x one."""
    found = _per_round(rounds, _two_to_one)
    if found is None:
        return []
    ratio, each = found
    values = results["drain"]["postgres"]
    return [f"| drain, 2 worker processes >= 1.5x one | postgres | {ratio:.2f}x "
            f"({_fmt(values['2_worker_jobs_per_s'])} vs "
            f"{_fmt(values['1_worker_jobs_per_s'])}{each}) | "
            f"{'met' if ratio >= 1.5 else 'NOT met'} |"]


def _fastest_postgres_peer(results: Results) -> tuple[str, float] | None:
    columns = results.get("latency", {})
    theirs = {c: v["p50_ms"] for c, v in columns.items()
              if c not in CORRAL and c.endswith("(postgres)") and "p50_ms" in v}
    if not theirs:
        return None
    best = min(theirs, key=theirs.__getitem__)
    return best, theirs[best]


def _latency_ratio(results: Results) -> float | None:
    ours = results.get("latency", {}).get("postgres", {}).get("p50_ms")
    best = _fastest_postgres_peer(results)
    return ours / best[1] if ours is not None and best else None


def _latency_target(results: Results, rounds: list[Results]) -> list[str]:
    """End-to-end p50 on PostgreSQL <= 0.6x the best PostgreSQL peer's."""
    found, best = _per_round(rounds, _latency_ratio), _fastest_postgres_peer(results)
    if found is None or best is None:
        return []
    ratio, each = found
    ours = results["latency"]["postgres"]["p50_ms"]
    return [f"| end-to-end p50 <= 0.6x best PostgreSQL peer | postgres | {ratio:.2f}x "
            f"({ours:.2f} vs {best[0]} {best[1]:.2f} ms{each}) | "
            f"{'met' if ratio <= 0.6 else 'NOT met'} |"]


HISTOGRAM_EDGES_MS = (1, 2, 3, 4, 5, 7.5, 10, 20, 50)


def _histogram_table(results: Results, scenario: str, metric: str) -> list[str]:
    """How the samples spread, per store: the tail of a p99 in plain numbers."""
    columns = {c: v[metric] for c, v in results.get(scenario, {}).items() if metric in v}
    if not columns:
        return []
    labels = [f"<= {edge:g} ms" for edge in HISTOGRAM_EDGES_MS] + [
        f"> {HISTOGRAM_EDGES_MS[-1]:g} ms"]
    lines = [f"## {scenario}: {metric.removesuffix('_samples_ms')} samples", "",
             "| queue | samples | " + " | ".join(labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for column, samples in columns.items():
        counts = [0] * len(labels)
        for value in samples:
            index = next((i for i, edge in enumerate(HISTOGRAM_EDGES_MS) if value <= edge),
                         len(HISTOGRAM_EDGES_MS))
            counts[index] += 1
        lines.append(f"| {_name(column)} | {len(samples)} | "
                     + " | ".join(str(c) for c in counts) + " |")
    return lines + [""]


def _best_peer(results: Results, scenario: str, metric: str, peer_store: str
               ) -> tuple[str, float] | None:
    """The peer with the highest ``metric`` on ``peer_store`` (any store if empty)."""
    theirs = {column: values[metric] for column, values in results.get(scenario, {}).items()
              if column not in CORRAL and metric in values
              and column.endswith(f"({peer_store})" if peer_store else ")")}
    if not theirs:
        return None
    best = max(theirs, key=theirs.__getitem__)
    return best, theirs[best]


def _peer_ratio(scenario: str, metric: str, store: str, peer_store: str,
                figures: Results) -> float | None:
    """corral's ``metric`` on ``store`` over the best peer's, in ``figures``."""
    ours = figures.get(scenario, {}).get(store, {}).get(metric)
    best = _best_peer(figures, scenario, metric, peer_store)
    return ours / best[1] if ours is not None and best else None


def _peer_targets(results: Results, rounds: list[Results]) -> list[str]:
    lines = _latency_target(results, rounds)
    for label, scenario, metric, store, peer_store, least in PEER_TARGETS:
        ratio = functools.partial(_peer_ratio, scenario, metric, store, peer_store)
        found, best = _per_round(rounds, ratio), _best_peer(results, scenario, metric,
                                                            peer_store)
        if found is None or best is None:
            lines.append(f"| {label} | {store} | peers not run | - |")
            continue
        median, each = found
        ours = results[scenario][store][metric]
        lines.append(f"| {label} | {store} | {median:.2f}x ({_fmt(ours)} vs {best[0]} "
                     f"{_fmt(best[1])}{each}) | {'met' if median >= least else 'NOT met'} |")
    lines += _orphan_target(results)
    return lines


def _orphan_target(results: Results) -> list[str]:
    """Orphan recovery >= 30x faster than the best peer that re-runs an orphan at all."""
    columns = results.get("orphan", {})
    theirs = {c: v["max_s"] for c, v in columns.items() if c not in CORRAL and "max_s" in v}
    lines = []
    for store in CORRAL:
        ours = columns.get(store, {}).get("max_s")
        if ours is None or not theirs:
            continue
        best = min(theirs, key=theirs.__getitem__)
        ratio = theirs[best] / ours
        lines.append(f"| orphan recovery >= 30x faster than best peer | {store} | "
                     f"{ratio:.0f}x ({best}: {theirs[best]:.1f} s) | "
                     f"{'met' if ratio >= 30 else 'NOT met'} |")
    return lines


def _notes(notes: Notes) -> list[str]:
    lines = ["## How the peers ran", ""] if any(notes.values()) else []
    for column, by_scenario in notes.items():
        for scenario, text in sorted(by_scenario.items()):
            lines.append(f"- **{column}**, {scenario}: {text}")
    return lines + ([""] if lines else [])


def _scale_targets(results: Results) -> list[str]:
    lines = []
    for backend, values in results.get("scale", {}).items():
        sizes = sorted(int(k.rsplit("_", 1)[1]) for k in values if k.startswith("claim_ms_"))
        if len(sizes) < 2:
            continue
        small, large = sizes[0], sizes[-1]
        for what in ("claim", "status", "meta"):
            if f"{what}_ms_{large}" not in values:
                continue
            ratio = values[f"{what}_ms_{large}"] / values[f"{what}_ms_{small}"]
            status = "met" if ratio <= 1.3 else "NOT met"
            lines.append(f"| {what} cost at {large:,} rows <= 1.3x at {small:,} | {backend} | "
                         f"{ratio:.2f}x | {status} |")
    return lines


def _name(column: str) -> str:
    return f"**corral** ({column})" if column in CORRAL else column


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def _drain_curve(results: Results, out: Path) -> Path | None:
    """Drain throughput by number of worker processes, one line per queue."""
    backends = results.get("drain")
    if not backends:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for backend, values in backends.items():
        points = sorted((int(m.split("_", 1)[0]), v) for m, v in values.items()
                        if m.endswith("_worker_jobs_per_s"))
        axis.plot([p for p, _ in points], [v for _, v in points], marker="o",
                  label=_name(backend).replace("**", ""))
    axis.set_xlabel("worker processes")
    axis.set_ylabel("jobs/s")
    axis.set_xticks([1, 2, 4])
    axis.set_title("drain throughput by worker processes")
    axis.legend(fontsize=7)
    figure.tight_layout()
    path = out / "drain_curve.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _histogram(results: Results, out: Path, scenario: str, metric: str,
               title: str) -> Path | None:
    columns = {c: v[metric] for c, v in results.get(scenario, {}).items() if metric in v}
    if not columns:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    top = max(max(samples) for samples in columns.values())
    bins = [i * top / 40 for i in range(41)]
    for column, samples in columns.items():
        axis.hist(samples, bins=bins, alpha=0.5, label=_name(column).replace("**", ""))
    axis.set_xlabel("ms")
    axis.set_ylabel("samples")
    axis.set_title(title)
    axis.legend(fontsize=7)
    figure.tight_layout()
    path = out / f"{scenario}_{metric.removesuffix('_samples_ms')}_histogram.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _bars(results: Results, out: Path, scenario: str, title: str) -> Path | None:
    backends = results.get(scenario)
    if not backends:
        return None
    metrics = _metrics(backends)
    figure, axis = plt.subplots(figsize=(max(7, 1.2 * len(backends) * len(metrics)), 4))
    width = 0.8 / max(len(backends), 1)
    for index, (backend, values) in enumerate(backends.items()):
        xs = [i + index * width for i in range(len(metrics))]
        axis.bar(xs, [values.get(m, 0) for m in metrics], width,
                 label=_name(backend).replace("**", ""))
    axis.set_xticks([i + width * (len(backends) - 1) / 2 for i in range(len(metrics))],
                    metrics, fontsize=8)
    axis.set_title(title)
    axis.legend(fontsize=7)
    figure.tight_layout()
    path = out / f"{scenario}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _postgres_version() -> str:
    try:
        import psycopg

        from bench.scenarios import POSTGRES

        with psycopg.connect(POSTGRES) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"
    except Exception:  # the report still says what it can
        return "PostgreSQL unknown"
