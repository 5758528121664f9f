"""An app with a periodic task, for the periodic tests' worker processes (kept apart
from workerapp so no other test sees periodic jobs)."""

from __future__ import annotations

import corral

app = corral.Corral()


@app.periodic(cron="* * * * *", name="every_minute", kwargs={"greeting": "tick"})
def every_minute(greeting: str) -> str:
    return greeting
