"""The fast read path, on both stores: ``GET /jobs/{id}`` requests that arrive together are
read in one batch (http.batcher), each still answered for its own id, whatever the
others named; ``/stats`` is answered from a recent value (http.recent) and never older
than it says."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import httpx

import corral
from corral import ids
from corral.http import create_app
from corral.http.batcher import Batcher
from corral.http.recent import STALE_GRACE, Recent
from tests.http.serving import serving
from tests.test_short_ids import same_millisecond

UNKNOWN = "0190b2c4-1d2e-7000-8000-000000000000"


def test_reads_that_arrive_together_each_get_their_own_answer(
        app: corral.Corral, tasks: SimpleNamespace) -> None:
    jobs = [tasks.noop.enqueue(i).job for i in range(30)]
    twins = same_millisecond(app.store, 2)
    named: list[tuple[str, int, str | None]] = [  # (as named, status, id or error)
        *((job.id, 200, job.id) for job in jobs),
        *((ids.short(job.id), 200, job.id) for job in jobs[:10]),
        *((job.id.replace("-", "").upper(), 200, job.id) for job in jobs[10:20]),
        (UNKNOWN, 404, "JobNotFound"), ("xyz", 422, "InvalidJobId"),
        (twins[0].id[:13], 409, "AmbiguousId"),
    ] * 3

    async def read_all(base: str) -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(named))
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            return await asyncio.gather(*(client.get(f"/jobs/{given}") for given, _, _ in named))

    with serving(create_app(app)) as base:
        answers = asyncio.run(read_all(base))
    for (given, status, expected), answer in zip(named, answers, strict=True):
        assert answer.status_code == status, (given, answer.text)
        body = answer.json()
        assert (body["id"] if status == 200 else body["error"]) == expected, given
    assert {answer.json()["args"][0] for answer in answers[:30]} == set(range(30))


def test_a_batch_whose_read_fails_fails_each_request_and_the_next_batch_reads() -> None:
    failing = threading.Event()
    failing.set()

    def read(keys: list[int]) -> list[int | Exception]:
        if failing.is_set():
            raise corral.errors.StoreError("the store is unreachable")
        return [key * 2 if key >= 0 else ValueError(f"no {key}") for key in keys]

    batcher: Batcher[int, int] = Batcher(read)

    async def load_all(keys: list[int]) -> list[int | BaseException]:
        return await asyncio.gather(*(batcher.load(key) for key in keys),
                                    return_exceptions=True)

    try:
        assert all(isinstance(out, corral.errors.StoreError)
                   for out in asyncio.run(load_all([1, 2, 3])))
        failing.clear()
        outcomes = asyncio.run(load_all([1, -1, 3]))
        assert outcomes[0] == 2 and outcomes[2] == 6
        assert isinstance(outcomes[1], ValueError)
    finally:
        batcher.close()
    assert asyncio.run(load_all([5])) == [10]  # closed: the next call starts it again
    batcher.close()


def test_recent_serves_a_young_value_and_waits_for_a_fresh_one_after_a_quiet_spell() -> None:
    computed: list[int] = []

    def compute() -> int:
        computed.append(len(computed) + 1)
        return computed[-1]

    max_age = 0.2
    recent = Recent(compute, max_age=max_age)

    async def scenario() -> None:
        assert await recent.get() == 1  # nothing yet: waited for
        assert await recent.get() == 1 and computed == [1]  # young: no computation
        await asyncio.sleep(max_age * 1.2)  # stale but within the grace
        assert await recent.get() == 1  # at once, the last value; the next is under way
        await asyncio.sleep(max_age * (STALE_GRACE + 0.5))
        assert computed == [1, 2]  # one computation for the stale read, no more
        assert await recent.get() == 3  # too old to serve: the fresh value, waited for

    asyncio.run(scenario())


def test_stats_under_concurrent_clients_are_computed_once_per_max_age(
        app: corral.Corral, tasks: SimpleNamespace) -> None:
    clients = 40
    tasks.noop.enqueue(1)
    calls = 0
    stats = app.stats

    def counted() -> dict:
        nonlocal calls
        calls += 1
        return stats()

    app.stats = counted  # type: ignore[method-assign]

    async def poll(base: str, seconds: float) -> int:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            end = time.monotonic() + seconds
            answered = 0

            async def one_client() -> None:
                nonlocal answered
                while time.monotonic() < end:
                    response = await client.get("/stats")
                    assert response.json()["counts"]["queued"] == 1
                    answered += 1

            await asyncio.gather(*(one_client() for _ in range(clients)))
            return answered

    with serving(create_app(app)) as base:
        answered = asyncio.run(poll(base, 1.2))
    assert answered > calls * 5  # answered from the recent value, not computed each time
    assert 1 <= calls <= 4  # at most one per 0.5 s (and the first)
