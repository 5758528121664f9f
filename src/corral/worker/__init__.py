"""The worker: claims jobs, runs them (threads and an event loop), records what happened.

Modules: ``worker`` (lifecycle), ``claimer`` (claim loop), ``executor`` (one Outcome per
job), ``isolation`` (thread pool and event loop runners), ``recorder`` (batched writes),
``heartbeat`` (liveness + cancel fallback), ``listener`` (notifications), ``watchdog``
(timeouts, stalls). Every loop is a ``corral.maintenance.service.Service``.
"""
