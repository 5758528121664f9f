"""An app on the test store (both backends) with the test tasks, and an in-process worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

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
