"""``corral cancel``: stop jobs by id, by batch, or everything matching a filter."""

from __future__ import annotations

from typing import Annotated

import typer

from corral.app import Corral
from corral.bulk import BulkResult
from corral.cli import selection as sel
from corral.status import ACTIVE

Force = Annotated[bool, typer.Option(
    "--force", help="Mark running jobs cancelled at once, even if their worker is hung or "
                    "gone (a live worker drops the job when it learns).")]


@sel.command("cancel", sorted(ACTIVE), sel.option("reason", sel.Reason),
             sel.option("force", Force, False))
def cancel(app: Corral, job_ids: list[str], *, reason: str | None, force: bool) -> BulkResult:
    """Cancel jobs by id, by --batch, or by filter (--all asks first; --yes does not).

    Pending jobs never start; running ones stop at their next checkpoint (cancelling, then
    cancelled), or at once with --force. Finished jobs are refused (exit 4).
    Examples: corral cancel 01a2b3c4-d5e6 --reason "wrong ticker";
    corral cancel --batch BATCH_ID; corral cancel --all --status running --queue reports
    """
    return app.cancel_many(job_ids, reason=reason, force=force)
