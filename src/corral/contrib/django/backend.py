"""``CorralBackend``: Django's Tasks framework on corral workers (DESIGN §12).

::

    TASKS = {"default": {"BACKEND": "corral.contrib.django.CorralBackend",
                         "QUEUES": ["default", "emails"]}}

    @task(priority=10, queue_name="emails")
    def send_welcome(user_id: int) -> None: ...

    result = send_welcome.enqueue(5)          # a corral job: result.id is its id
    send_welcome.get_result(result.id).status

A Django task becomes one job of the generic corral task ``django.tasks.run`` on the
Django task's queue, with the Django task's own arguments, its path in the job's meta
(``django_task``), its priority as the job's (the same scale: higher first) and
``run_after`` as the job's ``run_at``. The result's id is the job's id, so ``corral
cancel <id>``, ``corral watch <id>``, the dashboard and the admin work on it. Status:
queued/scheduled -> READY, running/cancelling -> RUNNING, completed -> SUCCESSFUL,
failed/cancelled -> FAILED. Workers: ``manage.py corral worker --queues default,emails``.

Written for the ``django-tasks`` backport (Django 5.2) and Django >= 6.0's
``django.tasks``, whichever is installed.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from corral import errors
from corral.contrib.django.runner import BACKEND_META, RUN_TASK, TASK_META
from corral.job import Job
from corral.status import JobStatus

try:  # Django >= 6.0
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import Task, TaskContext, TaskError, TaskResult, TaskResultStatus
    from django.tasks.exceptions import TaskResultDoesNotExist
except ImportError:  # Django 5.2 with the django-tasks backport
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskContext, TaskError, TaskResult, TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist

__all__ = ["CorralBackend", "TaskContext"]  # TaskContext: for runner, from whichever Django
STATUS = {
    JobStatus.SCHEDULED: TaskResultStatus.READY,
    JobStatus.QUEUED: TaskResultStatus.READY,
    JobStatus.RUNNING: TaskResultStatus.RUNNING,
    JobStatus.CANCELLING: TaskResultStatus.RUNNING,
    JobStatus.COMPLETED: TaskResultStatus.SUCCESSFUL,
    JobStatus.FAILED: TaskResultStatus.FAILED,
    JobStatus.CANCELLED: TaskResultStatus.FAILED,
}


class CorralBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """One ``django.tasks.run`` job (written when the caller's transaction commits,
        with ``ENQUEUE_ON_COMMIT``)."""
        self.validate_task(task)
        app = _app()
        signature = app.get_task(RUN_TASK).s(*args, **kwargs).set(
            queue=task.queue_name, priority=task.priority, run_at=task.run_after,
            meta={TASK_META: task.module_path, BACKEND_META: self.alias})
        return self.result_of(app.enqueue(signature).job, task)

    def get_result(self, result_id: str) -> TaskResult:
        app = _app()
        try:
            job = app.get_job(result_id)
        except (errors.JobNotFound, errors.InvalidJobId):
            raise TaskResultDoesNotExist(result_id) from None
        if job.task != RUN_TASK:
            raise TaskResultDoesNotExist(f"{result_id} is a corral job of {job.task}, "
                                         "not a Django task")
        return self.result_of(job, import_string(str(job.meta[TASK_META])))

    def result_of(self, job: Job, task: Task) -> TaskResult:
        """The Django view of ``job``."""
        result = TaskResult(
            task=task, id=job.id, status=STATUS[job.status], enqueued_at=job.created_at,
            started_at=job.started_at, finished_at=job.finished_at,
            last_attempted_at=job.started_at, args=list(job.args), kwargs=dict(job.kwargs),
            backend=self.alias, errors=_errors(job),
            worker_ids=[job.worker_id] if job.worker_id else [])
        if job.status == JobStatus.COMPLETED:
            object.__setattr__(result, "_return_value", job.result)  # frozen, as Django's own
        return result


def _errors(job: Job) -> list[TaskError]:
    if job.status == JobStatus.CANCELLED:
        return [TaskError(exception_class_path="corral.errors.Cancelled",
                          traceback=f"cancelled by {job.cancelled_by or 'someone'}"
                                    + (f": {job.cancel_reason}" if job.cancel_reason else ""))]
    if job.error is None:
        return []
    return [TaskError(exception_class_path=_exception_path(job.error.type),
                      traceback=job.error.traceback or f"{job.error.type}: {job.error.message}")]


def _exception_path(name: str) -> str:
    """The class path Django's ``TaskError`` wants: builtins by name, corral's own errors
    in ``corral.errors``, anything else as its name under ``builtins`` is not importable,
    so it keeps the bare name (``exception_class`` then raises, as Django's own would for
    a class it cannot import)."""
    import builtins

    if isinstance(getattr(builtins, name, None), type):
        return f"builtins.{name}"
    if isinstance(getattr(errors, name, None), type):
        return f"corral.errors.{name}"
    return name


def _app() -> Any:
    from corral.contrib.django.conf import django_app

    return django_app()
