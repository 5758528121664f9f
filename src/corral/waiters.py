"""Async waiters: ``await handle.wait_async()`` without a thread or a poll per waiter.

One watcher per process and per store URL: a daemon thread that reads the store's change
feed, loads the jobs that changed and some coroutine waits on (one query for all of them,
``LOAD_CHUNK`` ids at a time) and hands each job to its waiters on their own event loops
(``call_soon_threadsafe``), so a thousand waiting coroutines cost an ``asyncio.Event``
each and no read of their own. When the feed may have missed changes (``None``, a
reconnect, the feed just opened), and every ``SAFETY_NET`` seconds whatever it hears, the
watcher loads every waited job. A waiter reads its job once itself, through a thread,
when it starts waiting (the job may be finished already).

The watcher opens a store of its own on the URL (not an app's, whose ``close()`` must not
end other apps' waits), starts with its first waiter, and stops, closing its feed and
store, once no waiter is left for ``IDLE_STOP`` seconds or at interpreter exit.

Who writes and who reads: ``_watchers`` and each watcher's ``_waiters`` are written by
the event loops (register, unregister) and by the watcher threads (stopping), always under
``_lock``; a waiter's event is set on its own loop only.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from corral import errors
from corral.job import Job
from corral.store import Store, open_store
from corral.store.base import JobFilter
from corral.store.changes import ChangeFeed

logger = logging.getLogger("corral.waiters")
THREAD_NAME = "corral-waiters"
WAIT = 0.5  # seconds a watcher blocks on its feed; also how fast it notices a stop
SAFETY_NET = 1.0  # seconds between two loads of every waited job, whatever the feed says
LOAD_CHUNK = 500  # job ids per read
IDLE_STOP = 5.0  # seconds a watcher with no waiter lingers before it stops

_lock = threading.Lock()
_watchers: dict[str, Watcher] = {}  # store URL -> its running watcher (under _lock)


@dataclass(eq=False)
class Waiter:
    """One waiting coroutine: the job it waits on, its loop and the event that wakes it."""

    job_id: str
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)
    job: Job | None = None  # the newest read of the job (written on the waiter's loop)

    def deliver(self, job: Job) -> None:
        """Called from the watcher thread: hand ``job`` over on the waiter's own loop."""
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self.loop.call_soon_threadsafe(self._take, job)

    def _take(self, job: Job) -> None:
        self.job = job
        self.event.set()


class Watcher:
    """The thread reading one store's change feed for every waiter of this process."""

    def __init__(self, url: str, open_feed_store: Callable[[str], Store] = open_store) -> None:
        self.url = url
        self._open_store = open_feed_store
        self._waiters: dict[str, set[Waiter]] = {}  # job id -> waiters (under _lock)
        self._idle_since = time.monotonic()  # when the last waiter left (under _lock)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    @property
    def waiting(self) -> int:
        """How many coroutines are registered now."""
        with _lock:
            return sum(len(waiters) for waiters in self._waiters.values())

    def stop(self, join: float = WAIT * 4) -> None:
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(join)

    # -- called on event loops, under _lock ---------------------------------------------------

    def _add(self, waiter: Waiter) -> None:
        self._waiters.setdefault(waiter.job_id, set()).add(waiter)

    def _remove(self, waiter: Waiter) -> None:
        waiters = self._waiters.get(waiter.job_id, set())
        waiters.discard(waiter)
        if not waiters:
            self._waiters.pop(waiter.job_id, None)
        if not self._waiters:
            self._idle_since = time.monotonic()

    # -- the watcher thread -------------------------------------------------------------------

    def _run(self) -> None:
        store: Store | None = None
        feed: ChangeFeed | None = None
        swept = 0.0  # when every waited job was last loaded (monotonic)
        try:
            while not self._stop.is_set() and not self._retire():
                try:
                    if store is None:
                        store = self._open_store(self.url)
                    if feed is None:
                        feed = store.open_change_feed()
                        swept = 0.0  # a change before the feed opened went unheard
                    changed = feed.wait(WAIT)
                    if changed is None or time.monotonic() - swept >= SAFETY_NET:
                        swept = time.monotonic()
                        changed = None
                    self._deliver(store, changed)
                except Exception:  # a store hiccup must not end every wait for good
                    logger.exception("waiters: reading changes failed; retrying")
                    if feed is not None:
                        with contextlib.suppress(Exception):
                            feed.close()
                        feed = None
                    self._stop.wait(WAIT)
        finally:
            with _lock:
                if _watchers.get(self.url) is self:
                    del _watchers[self.url]
            if feed is not None:
                with contextlib.suppress(Exception):
                    feed.close()
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()

    def _retire(self) -> bool:
        """Leave the registry if no waiter came for ``IDLE_STOP`` seconds: a waiter that
        comes after starts a new watcher."""
        with _lock:
            if self._waiters or time.monotonic() - self._idle_since < IDLE_STOP:
                return False
            if _watchers.get(self.url) is self:
                del _watchers[self.url]
            return True

    def _deliver(self, store: Store, ids: list[str] | None) -> None:
        """Load the waited jobs among ``ids`` (every waited job for None) and hand each to
        its waiters."""
        with _lock:
            wanted = list(self._waiters) if ids is None else [
                job_id for job_id in dict.fromkeys(ids) if job_id in self._waiters]
        for start in range(0, len(wanted), LOAD_CHUNK):
            chunk = tuple(wanted[start:start + LOAD_CHUNK])
            jobs = store.list_jobs(JobFilter(ids=chunk), limit=None)
            with _lock:
                handed = [(w, job) for job in jobs for w in self._waiters.get(job.id, ())]
            for waiter, job in handed:
                waiter.deliver(job)


def register(url: str, job_id: str) -> tuple[Watcher, Waiter]:
    """Register a waiter for ``job_id`` with the watcher of ``url``, starting one if none
    runs (call on the waiter's event loop)."""
    waiter = Waiter(job_id, asyncio.get_running_loop())
    with _lock:
        watcher = _watchers.get(url)
        if watcher is None:
            watcher = _watchers[url] = Watcher(url)
            watcher.thread.start()
        watcher._add(waiter)
    return watcher, waiter


def unregister(watcher: Watcher, waiter: Waiter) -> None:
    with _lock:
        watcher._remove(waiter)


async def wait_for_job(url: str, job_id: str, refresh: Callable[[], Job],
                       timeout: float | None) -> Job:
    """Wait until the job is terminal and return it: read once by ``refresh()`` (in a
    thread) as the wait starts, then as the watcher delivers it; ``JobWaitTimeout`` after
    ``timeout`` seconds (``None``: forever). Cancelling the waiting coroutine unregisters
    it."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    watcher, waiter = register(url, job_id)  # before the read: no change slips between
    try:
        job = await asyncio.to_thread(refresh)
        while True:
            if waiter.job is not None:
                job, waiter.job = waiter.job, None
            if job.is_terminal:
                return job
            waiter.event.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise errors.JobWaitTimeout(job_id, job.status, timeout or 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.event.wait(), remaining)
    finally:
        unregister(watcher, waiter)


def watcher_of(url: str) -> Watcher | None:
    """The running watcher of ``url``, if any (for tests and introspection)."""
    with _lock:
        return _watchers.get(url)


def waiting(url: str) -> int:
    """How many coroutines of this process wait on jobs of ``url`` now."""
    found = watcher_of(url)
    return 0 if found is None else found.waiting


@atexit.register
def stop_all() -> None:
    """Stop every watcher (closing its feed and store); runs at interpreter exit."""
    with _lock:
        running = list(_watchers.values())
    for running_watcher in running:
        running_watcher.stop()
