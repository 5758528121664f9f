"""StockDigest's background jobs: one digest per ticker, a batch per request.

The corral app is built once at import, like the service's other globals; its store is
``CORRAL_DATABASE_URL`` (tests point it at a fresh file with ``corral.testing.isolated``).
A digest is written to ``STOCKDIGEST_OUTPUT`` (default ``./digests``) as
``<ticker>.json``: the one thing a finished job leaves behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import corral

jobs = corral.Corral()


def output_folder() -> Path:
    return Path(os.environ.get("STOCKDIGEST_OUTPUT", "digests"))


def closing_price(ticker: str, day: int) -> float:
    """A made-up but stable price: the example needs no market data feed."""
    digest = hashlib.sha256(f"{ticker}:{day}".encode()).digest()
    return round(50 + int.from_bytes(digest[:2], "big") / 655.36, 2)


@jobs.task(name="digests.build", queue="digests", phases=["prices", "write"],
           max_attempts=2)
def build_digest(ctx: corral.Context, ticker: str, days: int = 5,
                 step: float = 0.0) -> dict[str, object]:
    """Read ``days`` closing prices (each one a cancel checkpoint; what is read so far is
    saved, so a cancelled digest still shows how far it got), then write the digest."""
    prices: list[float] = []
    with ctx.phase("prices"):
        for day in range(days):
            ctx.progress(day, days, f"{ticker}: day {day + 1} of {days}")
            time.sleep(step)  # the example's stand-in for a slow market data call
            prices.append(closing_price(ticker, day))
            ctx.save({"ticker": ticker, "prices": prices})
    digest = {"ticker": ticker, "days": days, "low": min(prices, default=None),
              "high": max(prices, default=None), "last": prices[-1] if prices else None}
    with ctx.phase("write"), ctx.shield():  # a digest file is never left half written
        folder = output_folder()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{ticker}.json").write_text(json.dumps(digest))
    return digest
