"""corral's jobs in the Django admin, driven through Django's test client on both corral
stores: the list (filters, search by id, short id and meta, pages), a job's page with its
trail, each action with the Django user in the trail, force cancel's and delete's
confirmation pages, permissions, bad input."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from corral.contrib.django.admin import PAGE
from corral.contrib.django.conf import DjangoCorral
from corral.job import JobError
from corral.outcome import Outcome
from corral.store.engine import Engine

LIST = "/admin/corral/job/"
ACT = "/admin/corral/job/act/"


def user(*permissions: str, superuser: bool = False) -> User:
    made = User.objects.create_user(f"u{uuid.uuid4().hex[:10]}", password="x", is_staff=True,
                                    is_superuser=superuser)
    for codename in permissions:
        made.user_permissions.add(Permission.objects.get(codename=codename,
                                                         content_type__app_label="corral"))
    return made


@pytest.fixture
def admin_client() -> tuple[Client, User]:
    client = Client()
    boss = user(superuser=True)
    client.force_login(boss)
    return client, boss


def shown_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-job-id="([0-9a-f-]+)"', page)


def older_link(page: str) -> str | None:
    found = re.search(r'<a href="(\?[^"]*)" class="older">', page)
    return LIST + found.group(1).replace("&amp;", "&") if found else None


def held(app: DjangoCorral, n: int, **meta: object) -> list[str]:
    """``n`` jobs on a queue no worker serves, oldest first."""
    task = app.get_task("crawl.count_pages")
    handles = app.enqueue_many([task.s(i).set(queue="held", meta=dict(meta))
                                for i in range(n)])
    return [handle.id for handle in handles]


def test_the_list_filters_and_searches_by_id_short_id_and_meta(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, _ = admin_client
    first, second = held(app, 2, crawl_job_id=5)
    other = held(app, 1, crawl_job_id=6)[0]
    app.cancel(other)
    page = client.get(LIST).content.decode()
    assert shown_ids(page) == [other, second, first]  # newest first
    assert shown_ids(client.get(LIST, {"status": "cancelled"}).content.decode()) == [other]
    assert shown_ids(client.get(LIST, {"queue": "nowhere"}).content.decode()) == []
    by_meta = client.get(LIST, {"q": "crawl_job_id=5"}).content.decode()
    assert shown_ids(by_meta) == [second, first]
    for text in (first, first[-12:], first.replace("-", "").upper()):
        found = client.get(LIST, {"q": text})
        assert found.status_code == 302 and found["Location"] == f"{LIST}{first}/"
    both = client.get(LIST, {"q": first[:6]}, follow=True).content.decode()  # one time prefix
    assert shown_ids(both) == [other, second, first] and "matches 3 jobs" in both


def test_pages_go_back_by_cursor_to_the_oldest_job(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, _ = admin_client
    made = held(app, PAGE * 2 + 5)
    seen: list[str] = []
    pages = 0
    url: str | None = LIST
    while url is not None and pages < 10:
        page = client.get(url).content.decode()
        pages += 1
        seen += shown_ids(page)
        url = older_link(page)
    assert seen == list(reversed(made))  # every job once, newest first
    assert pages == 3  # the last page (5 jobs) offers no older one


def test_a_page_of_the_list_is_one_keyset_read_of_the_store_never_a_count(
        app: DjangoCorral, admin_client: tuple[Client, User],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every statement a page load sends to corral's store, recorded at the driver (the
    one door to the database): one named read of ``PAGE + 1`` rows from a cursor,
    nothing else (no count, no write), whatever the table holds."""
    client, _ = admin_client
    made = held(app, 2000, crawl_job_id=9)
    store = app.store
    assert isinstance(store, Engine)
    reads: list[tuple[str, int | None, str | None]] = []
    real_read = store.driver.read

    def read(query: str, **params: Any) -> list[Any]:
        reads.append((query, params.get("limit"), params.get("before_id")))
        return real_read(query, **params)

    def write(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page of the list wrote to the store")

    monkeypatch.setattr(store.driver, "read", read)
    monkeypatch.setattr(store.driver, "write", write)
    first = client.get(LIST).content.decode()
    assert shown_ids(first) == made[::-1][:PAGE]
    older = older_link(first)
    assert older is not None
    second = client.get(older).content.decode()
    assert shown_ids(second) == made[::-1][PAGE:PAGE * 2]
    by_meta = client.get(LIST, {"q": "crawl_job_id=9", "status": "queued"}).content.decode()
    assert shown_ids(by_meta) == made[::-1][:PAGE]
    assert reads == [("list_jobs", PAGE + 1, None), ("list_jobs", PAGE + 1, made[-PAGE]),
                     ("list_jobs_labelled", PAGE + 1, None)]


def test_the_job_page_shows_its_fields_and_trail(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, _ = admin_client
    [job_id] = held(app, 1, crawl_job_id=7)
    app.cancel(job_id, reason="wrong site", actor="ops@example")
    page = client.get(f"{LIST}{job_id[-12:]}/").content.decode()
    assert f'data-field="id">{job_id}<' in page
    assert 'data-field="status">cancelled<' in page
    assert 'data-field="cancel reason">wrong site<' in page
    assert 'data-field="meta">{&quot;crawl_job_id&quot;: 7}<' in page
    trail = page[page.index('class="corral-trail"'):]
    rows = re.findall(r"<tr><td>[^<]*</td><td>([a-z_]+)</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>",
                      trail)
    assert rows == [(event.kind, event.actor or "") for event in app.job_events(job_id)]
    assert ("cancelled", "ops@example") in rows


def test_a_failed_jobs_page_shows_its_error_and_restarts_from_its_button(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, boss = admin_client
    [job_id] = held(app, 1)
    [running] = app.store.claim_jobs("w-admin", ["held"], 1)
    app.store.finish_jobs([Outcome.failed(job_id, "w-admin", running.attempt, JobError(
        "ConnectionError", "site down", 'Traceback (most recent call last):\n  File "x"'))])
    url = f"{LIST}{job_id}/"
    page = client.get(url).content.decode()
    assert 'data-field="error">ConnectionError: site down<' in page
    assert 'data-field="worker">w-admin<' in page
    assert "Traceback (most recent call last):" in page
    assert 'name="action" value="restart"' in page  # the page's own buttons
    client.post(ACT, {"action": "restart", "ids": [job_id], "reason": "site back",
                      "next": url})
    last = app.job_events(job_id)[-1]
    assert (last.to_status, last.actor, last.reason) == ("queued", f"django:{boss.username}",
                                                         "site back")
    assert "site back" in client.get(url).content.decode()  # the trail on its page


def test_cancel_and_restart_name_the_django_user_in_the_trail(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, boss = admin_client
    first, second = held(app, 2)
    done = client.post(ACT, {"action": "cancel", "ids": [first, second], "reason": "dup"},
                       follow=True)
    assert "2 job(s) cancelled" in done.content.decode().lower()
    actor = f"django:{boss.username}"
    for job_id in (first, second):
        job = app.get_job(job_id)
        assert (job.status, job.cancelled_by, job.cancel_reason) == ("cancelled", actor, "dup")
    client.post(ACT, {"action": "restart", "ids": [first]})
    assert app.get_job(first).status == "queued"
    assert app.job_events(first)[-1].actor == actor
    again = client.post(ACT, {"action": "restart", "ids": [first]}, follow=True)
    assert "not restarted" in again.content.decode().lower()  # queued: refused, and said so


def test_force_cancel_and_delete_ask_for_confirmation_first(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, boss = admin_client
    [job_id] = held(app, 1)
    asked = client.post(ACT, {"action": "force_cancel", "ids": [job_id]})
    assert asked.status_code == 200 and "Yes, force cancel" in asked.content.decode()
    assert app.get_job(job_id).status == "queued"  # nothing done yet
    client.post(ACT, {"action": "force_cancel", "ids": [job_id], "confirmed": "yes"})
    assert app.get_job(job_id).cancelled_by == f"django:{boss.username}"

    asked = client.post(ACT, {"action": "delete", "ids": [job_id]})
    assert "Yes, delete" in asked.content.decode()
    deleted = client.post(ACT, {"action": "delete", "ids": [job_id], "confirmed": "yes",
                                "next": f"{LIST}{job_id}/"})
    assert deleted["Location"] == LIST  # its own page is gone
    assert app.list_jobs() == []


def test_a_user_without_the_permission_sees_but_cannot_act(
        app: DjangoCorral) -> None:
    [job_id] = held(app, 1)
    viewer = Client()
    viewer.force_login(user("view_job"))
    page = viewer.get(LIST)
    assert page.status_code == 200 and shown_ids(page.content.decode()) == [job_id]
    assert 'name="action"' not in page.content.decode()
    assert viewer.post(ACT, {"action": "cancel", "ids": [job_id]}).status_code == 403
    assert app.get_job(job_id).status == "queued"
    nobody = Client()
    nobody.force_login(user())
    assert nobody.get(LIST).status_code == 403
    assert f'href="{LIST}"' in viewer.get("/admin/").content.decode()  # on the admin's index


def test_actions_need_the_csrf_token(app: DjangoCorral) -> None:
    [job_id] = held(app, 1)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user(superuser=True))
    page = browser.get(LIST).content.decode()
    assert browser.post(ACT, {"action": "cancel", "ids": [job_id]}).status_code == 403
    assert app.get_job(job_id).status == "queued"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    browser.post(ACT, {"action": "cancel", "ids": [job_id],
                       "csrfmiddlewaretoken": token.group(1)})
    assert app.get_job(job_id).status == "cancelled"


def test_bad_input_is_a_message_or_a_404_never_an_error(
        app: DjangoCorral, admin_client: tuple[Client, User]) -> None:
    client, _ = admin_client
    assert client.get(f"{LIST}0123456789ab/").status_code == 404
    assert client.get(f"{LIST}not-an-id/").status_code == 404
    for query in ({"status": "sleeping"}, {"q": "=5"}, {"q": "zz"}, {"before": "nope"}):
        answer = client.get(LIST, query)
        assert answer.status_code == 200, query
    unknown = client.post(ACT, {"action": "explode", "ids": ["x"]}, follow=True)
    assert "unknown action" in unknown.content.decode().lower()
    bad = client.post(ACT, {"action": "cancel", "ids": ["not-an-id"]}, follow=True)
    assert bad.status_code == 200
    assert client.get(ACT).status_code == 405  # actions are POSTs
