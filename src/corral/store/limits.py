"""Queue and key limits applied to claim candidates, the same for both stores.

The store serializes the claims this runs in (SQLite: the write lock; PostgreSQL: an
advisory lock taken only by claims that touch limited work), so counts of running jobs read
in the same transaction are exact and limits hold across every worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def free_slots(rule: Mapping[str, Any] | None, limit: int) -> int:
    """Jobs a queue may start now, out of ``limit`` wanted: 0 when paused, and no more
    than its ``concurrency`` minus what runs already. ``rule`` None: no rules (unlimited)."""
    if rule is None:
        return limit
    if rule["paused"]:
        return 0
    if rule["concurrency"] is None:
        return limit
    return max(0, min(limit, int(rule["concurrency"]) - int(rule["running"])))


def pick(candidates: Iterable[Mapping[str, Any]], slots: Mapping[str, int],
         limit: int) -> list[Mapping[str, Any]]:
    """The best candidates (already sorted best first) that fit every limit: at most
    ``slots[queue]`` per queue, and per ``limit_key`` no more than ``key_limit`` counting
    the jobs running now (``key_running``) and those taken here."""
    taken: list[Mapping[str, Any]] = []
    per_queue: Counter[str] = Counter()
    per_key: Counter[str] = Counter()
    for row in candidates:
        if len(taken) == limit:
            break
        queue, key = row["queue"], row["limit_key"]
        if per_queue[queue] >= slots.get(queue, 0):
            continue
        if key is not None and row["key_limit"] is not None:
            if row["key_running"] + per_key[key] >= row["key_limit"]:
                continue
            per_key[key] += 1
        per_queue[queue] += 1
        taken.append(row)
    return taken
