"""``django.tasks.run``: the corral task under every Django task (``CorralBackend``).

Registered on the project's app whether or not Django's Tasks framework is installed (it
is imported only when a job needs it), so any worker of the project runs Django tasks.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

import corral
from corral.job import JSON

RUN_TASK = "django.tasks.run"
TASK_META = "django_task"  # the Django task's import path
BACKEND_META = "django_backend"  # the TASKS alias it was enqueued through


def run_django_task(ctx: corral.Context, *args: JSON, **kwargs: JSON) -> Any:
    """Import the Django task by the path in the job's meta and call it with the job's
    arguments (through Django's ``Task.call``: async functions too)."""
    task = import_string(str(ctx.job.meta[TASK_META]))
    if task.takes_context:
        from corral.contrib.django.backend import CorralBackend, TaskContext

        backend = CorralBackend(str(ctx.job.meta.get(BACKEND_META, "default")), {})
        return task.call(TaskContext(task_result=backend.result_of(ctx.job, task)),
                         *args, **kwargs)
    return task.call(*args, **kwargs)
