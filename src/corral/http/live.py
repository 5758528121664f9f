"""The server's live hub: one thread reads the store's change feed and fans the changed
jobs out to every stream and long-poll, so hundreds of idle watchers cost a queue each,
not a thread or a database connection each.

Who writes and who reads: the hub thread loads jobs and hands them to the event loop
(``call_soon_threadsafe``); everything else here (the subscription sets, the queues) is
touched on the event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from corral.job import Job
from corral.store import Store
from corral.store.base import JobFilter

logger = logging.getLogger("corral.http")
WAIT = 0.5  # seconds the hub blocks on the feed; also how fast it notices a stop
LOAD_CHUNK = 500  # jobs read per query
QUEUE_SIZE = 1000  # changes a slow watcher may lag before it is told to resync


@dataclass(frozen=True)
class Change:
    """What a watcher is told: a job as it is now, a job gone, or "re-read everything"
    (changes were missed: the feed's connection dropped, or this watcher lagged)."""

    kind: Literal["update", "deleted", "resync"]
    job_id: str | None = None
    job: Job | None = None


RESYNC = Change("resync")


@dataclass(eq=False)
class Subscription:
    """One watcher: every job (both filters None), one job, or one batch's jobs (a batch
    watcher is also told of every deleted job: a deleted row no longer names its batch)."""

    job_id: str | None = None
    batch_id: str | None = None
    queue: asyncio.Queue[Change] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def put(self, change: Change) -> None:
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:  # too slow to keep up: drop the backlog, ask for a re-read
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    async def next(self, timeout: float | None = None) -> Change | None:
        """The next change, or None after ``timeout`` seconds."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        if timeout is not None and timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class LiveHub:
    """Started with the server (or by the first watcher); ``observe`` sees every changed
    job in the hub thread (the metrics use it). ``store`` gives the app's store when the
    hub reads it, never at construction (see ``Metrics``)."""

    def __init__(self, store: Callable[[], Store],
                 observe: Callable[[Sequence[Job]], None] | None = None) -> None:
        self._store = store
        self._observe = observe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._everything: dict[str, set[Subscription]] = {}  # one key: ""
        self._by_job: dict[str, set[Subscription]] = {}
        self._by_batch: dict[str, set[Subscription]] = {}

    def start(self) -> None:
        """Start the hub thread, bound to the running event loop (call from the loop)."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="corral-live",
                                        daemon=True)
        self._thread.start()
        ready.wait(10)  # the feed is open: no change from now on is missed

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(WAIT * 4)
            self._thread = None

    @contextlib.contextmanager
    def subscribe(self, *, job_id: str | None = None, batch_id: str | None = None
                  ) -> Iterator[Subscription]:
        """Watch while the block runs (call on the event loop)."""
        self.start()
        subscription = Subscription(job_id, batch_id)
        index, key = self._index_of(subscription)
        index.setdefault(key, set()).add(subscription)
        try:
            yield subscription
        finally:
            watchers = index.get(key, set())
            watchers.discard(subscription)
            if not watchers:
                index.pop(key, None)

    def _index_of(self, subscription: Subscription) -> tuple[dict[str, set[Subscription]], str]:
        if subscription.job_id:
            return self._by_job, subscription.job_id
        if subscription.batch_id:
            return self._by_batch, subscription.batch_id
        return self._everything, ""

    @property
    def watchers(self) -> int:
        return sum(1 for _ in self._all())

    # -- the hub thread ------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        feed = None
        while not self._stop.is_set():
            try:
                if feed is None:
                    feed = self._store().open_change_feed()
                    ready.set()
                ids = feed.wait(WAIT)
                if ids is None:
                    self._publish([RESYNC])
                elif ids:
                    self._publish(self._load(ids))
            except Exception:  # a store hiccup must not end live updates for good
                logger.exception("live hub: reading changes failed; retrying")
                self._publish([RESYNC])
                self._stop.wait(WAIT)
        if feed is not None:
            feed.close()

    def _load(self, ids: list[str]) -> list[Change]:
        jobs: list[Job] = []
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = tuple(ids[start:start + LOAD_CHUNK])
            jobs += self._store().list_jobs(JobFilter(ids=chunk), limit=None)
        if self._observe is not None:
            self._observe(jobs)
        found = {job.id for job in jobs}
        return ([Change("update", job.id, job) for job in jobs]
                + [Change("deleted", job_id) for job_id in ids if job_id not in found])

    def _publish(self, changes: list[Change]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._dispatch, changes)

    # -- back on the event loop ------------------------------------------------------------

    def _dispatch(self, changes: list[Change]) -> None:
        for change in changes:
            if change is RESYNC:
                for subscription in self._all():
                    subscription.put(change)
                continue
            for subscription in self._everything.get("", ()):
                subscription.put(change)
            for subscription in self._by_job.get(change.job_id or "", ()):
                subscription.put(change)
            if change.kind == "deleted":
                # the row is gone, and with it which batch it was in: every batch watcher
                # hears of it and keeps what it knows of its own jobs (streams.batch_stream)
                for watchers in self._by_batch.values():
                    for subscription in watchers:
                        subscription.put(change)
                continue
            batch_id = change.job.batch_id if change.job else None
            for subscription in self._by_batch.get(batch_id or "", ()):
                subscription.put(change)

    def _all(self) -> Iterator[Subscription]:
        for index in (self._everything, self._by_job, self._by_batch):
            for watchers in index.values():
                yield from watchers
