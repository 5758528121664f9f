from __future__ import annotations

import random

from corral import retry


def test_backoff_doubles_per_attempt_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (30, retry.MAX_DELAY)]:
        delays = [retry.backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 100, "jitter spreads retries out"
