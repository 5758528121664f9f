"""Self-fencing: a worker that cannot prove it is alive stops its own jobs before anyone
may recover them, so even a network partition cannot give one job two live executions.

Two proofs can go missing (DESIGN §5):

- the heartbeat: the reaper calls a worker dead once its last heartbeat is ``lease`` old,
  so the worker fences itself at ``LEASE_SHARE`` of the lease without one reaching the
  store (measured from when the last successful one was sent, which is no later than the
  ``last_seen`` the store wrote for it);
- the liveness lock (PostgreSQL): a reaper may call the worker dead once the lock is seen
  free long enough, so the worker fences itself when the lock has gone unproven for its
  ``fence_after``.

Fenced jobs are asked to stop (a checkpoint raises, an async task is cancelled, a child
process is killed at once) and handed back to the queue, attempt not spent, once the store
answers again; the store's fencing refuses the hand-back if a reaper was faster. A thread
running code that never checks cannot be stopped by anyone: only ``isolation="process"``
makes the guarantee hold for such code.
"""

from __future__ import annotations

import time

from corral.store.base import Liveness

LEASE_SHARE = 0.7


class Fence:
    """Says whether this worker must stop its jobs now, and why."""

    def __init__(self, liveness: Liveness, lease: float) -> None:
        self._liveness = liveness
        self._lease = lease
        self._heartbeat_sent = time.monotonic()  # written by the heartbeat, read by others

    def heartbeat_ok(self, sent_at: float) -> None:
        """A heartbeat sent at ``sent_at`` (monotonic) reached the store."""
        self._heartbeat_sent = max(self._heartbeat_sent, sent_at)

    def reason(self, now: float) -> str | None:
        """Why this worker must not run jobs at ``now`` (monotonic), or None."""
        silent = now - self._heartbeat_sent
        if silent > LEASE_SHARE * self._lease:
            return f"no heartbeat reached the store for {silent:.1f}s (lease {self._lease:g}s)"
        unproven = self._liveness.unconfirmed_for(now)
        if unproven > self._liveness.fence_after:
            return f"liveness lock unproven for {unproven:.2f}s"
        return None
