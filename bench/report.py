"""REPORT.md, results.json and PNG plots from the scenarios' numbers."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Results = dict[str, dict[str, dict[str, float]]]  # scenario -> backend -> metric -> value

TARGETS: list[tuple[str, str, str, str, float, str]] = [
    # label, scenario, metric, backend, limit, "max" or "min"
    ("end-to-end p50 <= 2 ms", "latency", "p50_ms", "sqlite", 2.0, "max"),
    ("end-to-end p50 <= 2 ms", "latency", "p50_ms", "postgres", 2.0, "max"),
    ("end-to-end p99 <= 10 ms", "latency", "p99_ms", "sqlite", 10.0, "max"),
    ("end-to-end p99 <= 10 ms", "latency", "p99_ms", "postgres", 10.0, "max"),
    ("cancel p99, async <= 10 ms", "cancel", "async_p99_ms", "sqlite", 10.0, "max"),
    ("cancel p99, async <= 5 ms", "cancel", "async_p99_ms", "postgres", 5.0, "max"),
    ("cancel p99, sync (10 ms checkpoints) <= 20 ms", "cancel", "sync_p99_ms", "sqlite", 20.0,
     "max"),
    ("cancel p99, sync (10 ms checkpoints) <= 15 ms", "cancel", "sync_p99_ms", "postgres",
     15.0, "max"),
    ("orphan recovery after kill -9 <= 1 s", "orphan", "max_s", "sqlite", 1.0, "max"),
    ("orphan recovery after kill -9 <= 1 s", "orphan", "max_s", "postgres", 1.0, "max"),
    ("idle worker RSS <= 60 MB", "memory", "idle_rss_mb", "sqlite", 60.0, "max"),
    ("idle worker RSS <= 60 MB", "memory", "idle_rss_mb", "postgres", 60.0, "max"),
]


def write(results: Results, out: Path, quick: bool) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    plots = [_bars(results, out, "enqueue", "enqueue throughput (jobs/s)"),
             _bars(results, out, "drain", "drain throughput (jobs/s)"),
             _bars(results, out, "latency", "end-to-end latency (ms)"),
             _bars(results, out, "cancel", "cancel latency (ms)")]
    lines = [
        "# corral benchmark report", "",
        f"{'Quick run' if quick else 'Full run'}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {_postgres_version()}.",
        "Produced by `make bench` / `make bench-quick` (bench/run.py). Peers (Celery, RQ, "
        "procrastinate, pgqueuer, arq, dramatiq, saq, huey) are not run yet: the ratios the "
        "benchmark issue asks for come with them.", "",
        "## Targets", "", "| target | store | measured | status |", "|---|---|---|---|",
    ]
    for label, scenario, metric, backend, limit, kind in TARGETS:
        value = results.get(scenario, {}).get(backend, {}).get(metric)
        if value is None:
            lines.append(f"| {label} | {backend} | not run | - |")
            continue
        met = value <= limit if kind == "max" else value >= limit
        lines.append(f"| {label} | {backend} | {value:.2f} | {'met' if met else 'NOT met'} |")
    lines += _scale_targets(results)
    lines += ["| drain >= 1.2x best peer, bulk enqueue >= 1.4x best peer | both | - | "
              "peers not run yet |", ""]
    for scenario, backends in results.items():
        metrics = sorted({m for values in backends.values() for m in values})
        lines += [f"## {scenario}", "", "| metric | " + " | ".join(backends) + " |",
                  "|---|" + "---|" * len(backends)]
        for metric in metrics:
            cells = [_fmt(backends[b].get(metric)) for b in backends]
            lines.append(f"| {metric} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"![{plot.stem}]({plot.name})" for plot in plots if plot is not None]
    report = out / "REPORT.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _scale_targets(results: Results) -> list[str]:
    lines = []
    for backend, values in results.get("scale", {}).items():
        sizes = sorted(int(k.rsplit("_", 1)[1]) for k in values if k.startswith("claim_ms_"))
        if len(sizes) < 2:
            continue
        small, large = sizes[0], sizes[-1]
        for what in ("claim", "status"):
            ratio = values[f"{what}_ms_{large}"] / values[f"{what}_ms_{small}"]
            status = "met" if ratio <= 1.3 else "NOT met"
            lines.append(f"| {what} cost at {large:,} rows <= 1.3x at {small:,} | {backend} | "
                         f"{ratio:.2f}x | {status} |")
    return lines


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def _bars(results: Results, out: Path, scenario: str, title: str) -> Path | None:
    backends = results.get(scenario)
    if not backends:
        return None
    metrics = sorted({m for values in backends.values() for m in values})
    figure, axis = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / max(len(backends), 1)
    for index, (backend, values) in enumerate(backends.items()):
        xs = [i + index * width for i in range(len(metrics))]
        axis.bar(xs, [values.get(m, 0) for m in metrics], width, label=backend)
    axis.set_xticks([i + width * (len(backends) - 1) / 2 for i in range(len(metrics))],
                    metrics, fontsize=8)
    axis.set_title(title)
    axis.legend()
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
