"""``Job``: corral's jobs in the Django admin. No table: the admin's pages read corral's
store through its Python API (it may be another database than Django's); the model
gives them a place in the admin and Django's permissions to check:
``corral.view_job`` (see), ``corral.change_job`` (cancel, force cancel, restart),
``corral.delete_job`` (delete)."""

from __future__ import annotations

from django.db import models


class Job(models.Model):
    id = models.CharField(primary_key=True, max_length=36)

    class Meta:
        managed = False
        default_permissions = ("view", "change", "delete")
        verbose_name = "job"
        verbose_name_plural = "jobs"

    def __str__(self) -> str:
        return f"job {self.id}"
