"""corral's jobs in the Django admin (DESIGN §12): a list with filters and search, a job's
page with its audit trail, and the actions cancel, force cancel, restart and delete, with
the Django user named in the trail (``django:<username>``). Read-only otherwise.

The pages read corral's store through its Python API, not the ORM: the store may be
another database than Django's. A page of the list is one keyset query (``limit`` 51,
``before_id`` for the next page), never a count, so it stays as fast at millions of jobs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from corral import bulk, errors, ids
from corral.contrib.django.conf import django_app
from corral.contrib.django.models import Job
from corral.job import Job as CorralJob
from corral.status import JobStatus

logger = logging.getLogger("corral.contrib.django")
PAGE = 50
FILTERS = ("status", "queue", "task", "batch_id")


@dataclass(frozen=True)
class Action:
    label: str
    permission: str  # "change" or "delete"
    confirm: bool  # a confirmation page first, as Django's delete has
    done: str  # the message's verb


ACTIONS = {
    "cancel": Action("Cancel", "change", False, "cancelled"),
    "force_cancel": Action("Force cancel", "change", True, "force-cancelled"),
    "restart": Action("Restart", "change", False, "restarted"),
    "delete": Action("Delete", "delete", True, "deleted"),
}


def actor_of(request: HttpRequest) -> str:
    return f"django:{request.user.get_username()}"


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [path("", wrap(self.list_view), name=f"{name}_changelist"),
                path("act/", wrap(require_POST(self.act_view)), name=f"{name}_act"),
                path("<str:job_id>/", wrap(self.job_view), name=f"{name}_change")]

    # -- pages ----------------------------------------------------------------------------

    def list_view(self, request: HttpRequest) -> HttpResponse:
        self._require(request, "view")
        app = django_app()
        query = {key: request.GET.get(key, "").strip() for key in (*FILTERS, "q", "before")}
        search = query["q"]
        jobs: list[CorralJob] = []
        if search and "=" not in search:  # an id, a short id, a prefix or suffix
            try:
                return HttpResponseRedirect(self._job_url(app.resolve_id(search)))
            except errors.AmbiguousId as exc:
                messages.warning(request, exc.message)
                jobs = app.list_jobs(ids=exc.context.get("candidates", []), limit=PAGE)
            except errors.CorralError as exc:
                messages.warning(request, exc.message)
        else:
            try:
                jobs = app.list_jobs(
                    status=query["status"] or None, queue=query["queue"] or None,
                    task=query["task"] or None, batch_id=query["batch_id"] or None,
                    meta=_meta(search), before_id=query["before"] or None, limit=PAGE + 1)
            except (errors.CorralError, ValueError) as exc:
                messages.error(request, getattr(exc, "message", str(exc)))
        older = jobs[PAGE - 1].id if len(jobs) > PAGE else None
        return TemplateResponse(request, "corral/admin/job_list.html", {
            **self._context(request, "Jobs"), "jobs": [self._row(job) for job in jobs[:PAGE]],
            "query": query, "statuses": [str(status) for status in JobStatus],
            "older": _with(request, before=older) if older else None,
            "newest": _with(request, before=None) if query["before"] else None,
            "actions": self._allowed_actions(request)})

    def job_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        self._require(request, "view")
        app = django_app()
        try:
            job = app.get_job(app.resolve_id(job_id))
        except errors.CorralError:
            raise Http404(f"no job {job_id}") from None
        return TemplateResponse(request, "corral/admin/job_detail.html", {
            **self._context(request, f"Job {ids.short(job.id)}"), "job": job,
            "row": self._row(job), "fields": fields_of(job),
            "events": app.job_events(job.id), "actions": self._allowed_actions(request)})

    def act_view(self, request: HttpRequest) -> HttpResponse:
        """An action on the selected jobs (POST): the dangerous ones (force cancel, delete)
        show a confirmation page first."""
        name = request.POST.get("action", "")
        action = ACTIONS.get(name)
        back = self._back(request)
        if action is None:
            messages.error(request, f"unknown action {name!r}")
            return HttpResponseRedirect(back)
        self._require(request, action.permission)
        chosen = [one.strip() for one in request.POST.getlist("ids") if one.strip()]
        if not chosen:
            messages.warning(request, "Select jobs first.")
            return HttpResponseRedirect(back)
        app = django_app()
        reason = request.POST.get("reason", "").strip() or None
        if action.confirm and request.POST.get("confirmed") != "yes":
            return TemplateResponse(request, "corral/admin/confirm.html", {
                **self._context(request, f"{action.label}: are you sure?"),
                "action": name, "label": action.label, "jobs": _found(app, chosen),
                "ids": chosen, "reason": reason or "", "next": back})
        try:
            result = self._perform(name, chosen, reason, actor_of(request))
        except errors.CorralError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        if result.done:
            messages.success(request, f"{len(result.done)} job(s) {action.done}.")
        if result.refused:
            messages.warning(request, f"{len(result.refused)} job(s) not {action.done}: "
                             + ", ".join(f"{ids.short(job_id)} ({status})"
                                         for job_id, status in result.refused.items()))
        if name == "delete" and result.done:  # the trail goes with the job: the log says who
            logger.info("%d job(s) deleted by %s: %s", len(result.done), actor_of(request),
                        " ".join(result.done))
            if back.startswith(self._job_url(result.done[0])):  # its page is gone
                back = self._url("changelist")
        return HttpResponseRedirect(back)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _perform(name: str, chosen: list[str], reason: str | None,
                 actor: str) -> bulk.BulkResult:
        app = django_app()
        resolved = [app.resolve_id(one) for one in chosen]
        if name == "restart":
            return app.restart_many(resolved, reason=reason, actor=actor)
        if name == "delete":
            return app.delete_many(resolved)
        return app.cancel_many(resolved, reason=reason, force=name == "force_cancel",
                               actor=actor)

    def _require(self, request: HttpRequest, permission: str) -> None:
        allowed = {"view": self.has_view_permission, "change": self.has_change_permission,
                   "delete": self.has_delete_permission}[permission](request)
        if not allowed:
            raise PermissionDenied

    def _allowed_actions(self, request: HttpRequest) -> list[tuple[str, str]]:
        return [(name, action.label) for name, action in ACTIONS.items()
                if (self.has_change_permission(request) if action.permission == "change"
                    else self.has_delete_permission(request))]

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title,
                "list_url": self._url("changelist"), "act_url": self._url("act")}

    def _url(self, view: str, *args: str) -> str:
        """The URL of this admin's ``view`` (changelist, change, act)."""
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return str(reverse(name, args=list(args) or None))

    def _job_url(self, job_id: str) -> str:
        return self._url("change", job_id)

    def _row(self, job: CorralJob) -> dict[str, Any]:
        progress = job.progress
        return {"id": job.id, "short": ids.short(job.id), "url": self._job_url(job.id),
                "task": job.task, "status": job.display_status, "phase": job.phase or "",
                "progress": f"{progress.ratio:.0%}" if progress.ratio is not None else "",
                "queue": job.queue, "created_at": job.created_at,
                "worker": job.worker_id or ""}

    def _back(self, request: HttpRequest) -> str:
        wanted = request.POST.get("next", "")
        if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()},
                                                      request.is_secure()):
            return str(wanted)
        return self._url("changelist")


def fields_of(job: CorralJob) -> list[tuple[str, Any]]:
    """Every field a person needs, in the order they read them."""
    progress = job.progress
    shown = f"{progress.current:g}" + (f" of {progress.total:g}" if progress.total else "")
    return [
        ("id", job.id), ("task", job.task), ("status", job.display_status),
        ("queue", job.queue), ("priority", job.priority), ("phase", job.phase),
        ("progress", shown + (f" ({progress.message})" if progress.message else "")),
        ("attempt", f"{job.attempt - job.attempt_offset} of {job.max_attempts}"),
        ("worker", job.worker_id), ("created", job.created_at), ("run at", job.run_at),
        ("started", job.started_at), ("finished", job.finished_at),
        ("cancel requested", job.cancel_requested_at), ("cancelled by", job.cancelled_by),
        ("cancel reason", job.cancel_reason),
        ("error", f"{job.error.type}: {job.error.message}" if job.error else None),
        ("args", _json(job.args)), ("kwargs", _json(job.kwargs)),
        ("result", _json(job.result)), ("meta", _json(job.meta)),
        ("batch", job.batch_id), ("limit key", job.limit_key), ("unique key", job.unique_key),
    ]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _meta(search: str) -> dict[str, Any] | None:
    """``key=value`` searches the jobs' meta (the value as JSON when it parses)."""
    if not search:
        return None
    key, _, value = search.partition("=")
    if not key.strip():
        raise ValueError("search meta as key=value, e.g. crawl_job_id=5")
    return {key.strip(): bulk.meta_value(value.strip())}


def _found(app: Any, chosen: list[str]) -> list[CorralJob]:
    found = []
    for one in chosen:
        try:
            found.append(app.get_job(app.resolve_id(one)))
        except errors.CorralError:
            continue
    return found


def _with(request: HttpRequest, **changes: str | None) -> str:
    """This page's query string with ``changes`` (None removes a key)."""
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    return f"?{query.urlencode()}" if query else "?"
