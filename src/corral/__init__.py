"""corral: background jobs you can see, stop and recover.

    import corral
    app = corral.Corral()

    @app.task(phases=["fetch", "store"])
    def crawl(ctx: corral.Context, url: str) -> int: ...

    job = crawl.enqueue("https://example.org")
    job.cancel(reason="not needed")
"""

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

__version__ = "0.1.0"

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
    "__version__",
]
