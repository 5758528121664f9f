"""corral: background jobs you can see, stop and recover.

    import corral
    app = corral.Corral()

    @app.task(phases=["fetch", "store"])
    def crawl(ctx: corral.Context, url: str) -> int: ...

    job = crawl.enqueue("https://example.org")
    job.cancel(reason="not needed")

    worker = corral.Worker(app, queues=["default"], concurrency=4)  # threads, here
    worker.start()
    worker.stop(grace=30)
"""

from typing import TYPE_CHECKING, Any

from corral.app import Corral
from corral.batch import Batch
from corral.bulk import BulkResult
from corral.context import Context
from corral.errors import (
    BatchNotFound,
    Cancelled,
    ConfigError,
    CorralError,
    InvalidArguments,
    JobActive,
    JobAlreadyFinished,
    JobNotFound,
    JobNotRestartable,
    JobWaitTimeout,
    StoreError,
    UnknownTask,
)
from corral.handle import BatchHandle, JobHandle
from corral.job import Job, JobError, JobEvent, Progress
from corral.status import JobStatus
from corral.task import Signature, Task
from corral.version import __version__

if TYPE_CHECKING:
    from corral.worker.worker import Worker


__all__ = [
    "Batch",
    "BatchHandle",
    "BatchNotFound",
    "BulkResult",
    "Cancelled",
    "ConfigError",
    "Context",
    "Corral",
    "CorralError",
    "InvalidArguments",
    "Job",
    "JobActive",
    "JobAlreadyFinished",
    "JobError",
    "JobEvent",
    "JobHandle",
    "JobNotFound",
    "JobNotRestartable",
    "JobStatus",
    "JobWaitTimeout",
    "Progress",
    "Signature",
    "StoreError",
    "Task",
    "UnknownTask",
    "Worker",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """``Worker`` is imported on first use: the worker builds on the whole package, so
    importing it here, as ``import corral`` runs, would load every worker module for
    programs that only enqueue."""
    if name == "Worker":
        from corral.worker.worker import Worker

        return Worker
    raise AttributeError(f"module 'corral' has no attribute {name!r}")
