"""Prometheus metrics of one corral deployment, as the server sees it.

Gauges (jobs by queue and status, queue depth, stalled and unresponsive jobs, workers by
state: running, stopped cleanly, dead) are read from the store at scrape time, so every
server reports the same truth whichever worker ran what. Histograms (run time of finished
attempts, cancel latency: request to stop) are fed by the server's live hub as it sees
jobs finish; like any Prometheus histogram they count from the server's start.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from corral.job import Job
from corral.status import JobStatus
from corral.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, float("inf"))
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                   float("inf"))
REMEMBERED = 100_000  # finished attempts remembered so none is counted twice


class StoreCollector(Collector):
    """Gauges read from the store on every scrape (``store()``: the app's store then)."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The gauges without values: what the registry checks names against when the
        collector is registered (else it collects, i.e. reads the store, right then)."""
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = self._store()
        jobs, depth, workers = self._families()
        for queue, status, count in store.jobs_per_queue():
            jobs.add_metric([queue, str(status)], count)
        for info in store.queue_stats():
            depth.add_metric([info.name], info.queued + info.scheduled)
        states = {"running": 0, "dead": 0, "stopped": 0}
        for worker in store.list_workers():
            states[worker.state] = states.get(worker.state, 0) + 1
        for state, count in states.items():
            workers.add_metric([state], count)
        return iter((jobs, depth, workers))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("corral_jobs", "Jobs by queue and status.",
                                  labels=["queue", "status"]),
                GaugeMetricFamily("corral_queue_depth",
                                  "Jobs waiting to start (queued and scheduled) per queue.",
                                  labels=["queue"]),
                GaugeMetricFamily("corral_workers", "Registered workers by state.",
                                  labels=["state"]))


class Metrics:
    """The registry the server's ``/metrics`` renders (one per app, not the global one).
    ``store`` gives the store to read when a scrape comes: an app mounted at import (a
    host's module) opens no database then, and follows its app to another store (tests'
    ``corral.testing.isolated``)."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(StoreCollector(store))
        self.durations = Histogram(
            "corral_job_duration_seconds", "Run time of finished attempts.",
            ["queue", "status"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.cancel_latency = Histogram(
            "corral_cancel_latency_seconds",
            "Time from a cancel request to the job stopped (cancelled).",
            ["queue"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()  # hub thread only

    def observe(self, jobs: Sequence[Job]) -> None:
        """Count each finished attempt once (called by the live hub with changed jobs)."""
        for job in jobs:
            if not job.is_terminal or job.finished_at is None:
                continue
            key = (job.id, job.attempt)
            if key in self._seen:
                continue
            self._seen[key] = None
            if len(self._seen) > REMEMBERED:
                self._seen.popitem(last=False)
            if job.started_at is None:
                continue  # never ran: no run time, and a pending cancel takes no time
            self.durations.labels(job.queue, str(job.status)).observe(
                max((job.finished_at - job.started_at).total_seconds(), 0.0))
            if job.status == JobStatus.CANCELLED and job.cancel_requested_at is not None:
                self.cancel_latency.labels(job.queue).observe(
                    max((job.finished_at - job.cancel_requested_at).total_seconds(), 0.0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
