"""Periodic tasks: ``@app.periodic(cron="*/5 * * * *")``, enqueued once per tick however
many workers run (DESIGN §6).

Every worker's housekeeper looks at each schedule's latest tick; the first to insert the
``(name, tick)`` row into ``periodic_ticks`` enqueues the job in the same transaction, the
others find the row there and do nothing. Ticks missed while no worker ran are not
back-filled beyond ``CATCH_UP`` (a worker started at 9:07 does not run the 9:00 job)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cronsim import CronSim, CronSimError

from corral import errors
from corral.job import JSON
from corral.store import Store
from corral.task import Task

CATCH_UP = timedelta(minutes=1)


@dataclass(frozen=True)
class Schedule:
    task: Task
    cron: str
    args: tuple[JSON, ...] = ()
    kwargs: dict[str, JSON] = field(default_factory=dict)


def check_cron(cron: str) -> None:
    """Raises ``ConfigError`` for an expression cron cannot read."""
    try:
        CronSim(cron, datetime.now().astimezone())
    except (CronSimError, ValueError) as exc:
        raise errors.ConfigError(f"invalid cron expression {cron!r}: {exc}") from exc


def latest_tick(cron: str, now: datetime) -> datetime:
    """The last time at or before ``now`` the expression fires (UTC)."""
    return next(CronSim(cron, now.replace(microsecond=0) + timedelta(seconds=1),
                        reverse=True))


def enqueue_due(store: Store, schedules: Sequence[Schedule], now: datetime, actor: str,
                seen: dict[str, datetime]) -> list[str]:
    """Enqueue each schedule's latest tick if nobody has yet; returns the new jobs' ids.
    ``seen`` (name -> tick) spares the store a write for ticks this process handled."""
    made = []
    for schedule in schedules:
        tick = latest_tick(schedule.cron, now)
        if now - tick > CATCH_UP or seen.get(schedule.task.name) == tick:
            continue
        seen[schedule.task.name] = tick
        job = schedule.task.s(*schedule.args, **schedule.kwargs).set(
            meta={"periodic": schedule.task.name, "tick": tick.isoformat()}).to_new_job()
        if store.enqueue_tick(schedule.task.name, tick, job, actor=actor):
            made.append(job.id)
    return made

