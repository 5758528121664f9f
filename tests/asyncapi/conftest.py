"""An app on the test store (both backends) with the test tasks, and an in-process worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

import corral
from corral import waiters
from corral.store import Store
from corral.worker.worker import Worker
from tests import workerapp


@pytest.fixture
def client(store: Store) -> Iterator[corral.Corral]:
    app = corral.Corral(store.url)
    yield app
    watcher = waiters.watcher_of(store.url)
    if watcher is not None:  # its store's schema is dropped next: stop reading it now
        watcher.stop()
    app.close()


@pytest.fixture
def tasks(client: corral.Corral) -> SimpleNamespace:
    return workerapp.register(client)


@pytest.fixture
def start_worker(client: corral.Corral, tasks: SimpleNamespace) -> Iterator[Callable[[], Worker]]:
    """Start an in-process worker on the client app when the test says so."""
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(client, queues=["default"], concurrency=2)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(wait=False)


async def until(condition: Callable[[], object], *, timeout: float = 15.0,
                message: str = "condition") -> None:
    """``tests.waiting.wait_until`` for a coroutine: checks without blocking the loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.01)


T = TypeVar("T")


def while_ticking(waiting: Coroutine[Any, Any, T]) -> tuple[T, list[float]]:
    """Run ``waiting`` on a fresh loop beside a coroutine ticking every 10 ms; returns its
    result and the gaps between ticks (a gap well over 10 ms: the loop was blocked)."""
    ticks: list[float] = []

    async def ticker(done: asyncio.Event) -> None:
        while not done.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def main() -> T:
        done = asyncio.Event()
        ticking = asyncio.create_task(ticker(done))
        try:
            return await waiting
        finally:
            done.set()
            await ticking

    result = asyncio.run(main())
    assert len(ticks) >= 20, "the wait was too short to tell"
    return result, [later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False)]
