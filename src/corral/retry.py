"""Retry backoff: exponential with jitter, as pure functions."""

from __future__ import annotations

import random

BASE_DELAY = 1.0
MAX_DELAY = 300.0


def backoff_delay(
    attempt: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): ``base * 2**(attempt-1)``, capped,
    then "equal jitter" (half fixed, half random) so a burst of failures spreads out
    instead of retrying in lockstep."""
    exponential = min(cap, base * 2.0 ** max(attempt - 1, 0))
    spread = rng.uniform(0, exponential / 2) if rng else random.uniform(0, exponential / 2)
    return exponential / 2 + spread
