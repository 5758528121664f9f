"""The demo app: tickers that go through ingest / digest / commit with progress.

Run a worker on it with ``corral worker --app corral.examples.tickers:app``.
"""

from __future__ import annotations

import asyncio
import time

import corral

app = corral.Corral()


@app.task(name="tickers.process", queue="tickers", phases=["ingest", "digest", "commit"],
          max_attempts=2)
def process_ticker(ctx: corral.Context, ticker: str, articles: int = 20,
                   step: float = 0.05) -> dict[str, object]:
    """Fetch, digest and store a ticker's news; every step is a cancel checkpoint."""
    digested = 0
    with ctx.phase("ingest"):
        for i in range(articles):
            ctx.progress(i + 1, articles, f"{ticker}: fetching article {i + 1}")
            time.sleep(step)
    with ctx.phase("digest"):
        for i in range(articles):
            ctx.progress(i + 1, articles, f"{ticker}: digesting article {i + 1}")
            time.sleep(step)
            digested += 1
            if digested % 5 == 0:
                ctx.save({"ticker": ticker, "digested": digested, "partial": True})
    with ctx.phase("commit"), ctx.shield():
        time.sleep(step)
    return {"ticker": ticker, "digested": digested}


@app.task(name="tickers.quote", queue="tickers")
async def fetch_quote(ctx: corral.Context, ticker: str, delay: float = 0.5) -> dict[str, object]:
    """An async task: cancelled by ``CancelledError`` at its next await."""
    ctx.progress(0, 1, f"{ticker}: asking the exchange")
    await asyncio.sleep(delay)
    ctx.progress(1, 1, f"{ticker}: quoted")
    return {"ticker": ticker, "price": round(100 + len(ticker) * 1.7, 2)}
