"""``corral delete``: remove finished jobs and their trails, by id or by filter."""

from __future__ import annotations

from corral.app import Corral
from corral.bulk import BulkResult
from corral.cli import selection as sel
from corral.status import TERMINAL


@sel.command("delete", sorted(TERMINAL))
def delete(app: Corral, job_ids: list[str]) -> BulkResult:
    """Delete finished jobs and their audit trails, by id or by filter.

    Active jobs are refused (exit 4): cancel them first.
    Examples: corral delete 01a2b3c4-d5e6; corral delete --status completed --older-than 7d
    """
    return app.delete_many(job_ids)
