"""StockDigest: a FastAPI service with corral inside it (README "Inside your app").

- ``jobs.py``: the corral app and the task that builds one ticker's digest.
- ``app.py``: the service: its login, its own routes (``POST /digests``,
  ``POST /jobs/batch/{id}/cancel``) and corral's dashboard and API at ``/ops/jobs``, behind
  the service's admin check, with a worker in the same process.
- ``tests/``: its tests, written with ``corral.testing``.

Run it: ``uvicorn examples.stockdigest.app:api`` and open http://127.0.0.1:8000/ops/jobs/
with the cookie ``session=alice-key`` (or ``Authorization: Bearer alice-key``).
"""
