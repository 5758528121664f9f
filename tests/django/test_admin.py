"""corral's jobs in the Django admin, driven through Django's test client on both corral
stores: the list (filters, search by id, short id and meta, pages), a job's page with its
trail, each action with the Django user in the trail, force cancel's and delete's
confirmation pages, permissions, bad input."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from corral.contrib.django.admin import PAGE
from corral.contrib.django.conf import DjangoCorral

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


def test_pages_go_back_by_cursor_without_counting_the_table(
        app: DjangoCorral, admin_client: tuple[Client, User],
        monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = admin_client
    made = held(app, PAGE * 2 + 5)

    def no_count(*args: object, **kwargs: object) -> None:
        raise AssertionError("the list counted the jobs")

    monkeypatch.setattr(type(app.store), "job_counts", no_count)
    seen: list[str] = []
    url = LIST
    for _ in range(3):
        page = client.get(url).content.decode()
        seen += shown_ids(page)
        older = re.search(r'<a href="(\?[^"]*)" class="older">', page)
        if older is None:
            break
        url = LIST + older.group(1).replace("&amp;", "&")
    assert seen == list(reversed(made))  # every job once, newest first


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
