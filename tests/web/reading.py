"""Reading the dashboard as a person does: the text on the page, not the markup under it."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator, Page, expect

# What a page shows when a script put an object, a missing field or a bad number where text
# belongs: a person must never read any of it.
GARBAGE = ("[object", "undefined", "NaN", "Invalid Date")


def page_text(page: Page) -> str:
    """``document.body.innerText`` (what is rendered, as a person reads it), checked for
    the tell-tales of an object or a missing value turned into text."""
    text = str(page.evaluate("document.body.innerText"))
    for garbage in GARBAGE:
        assert garbage not in text, f"{garbage!r} on {page.url}:\n{text}"
    return text


def text_of(locator: Locator) -> str:
    """A part of the page as a person reads it (rendered text, whitespace squeezed)."""
    return " ".join(locator.inner_text().split())


def job_fields(page: Page) -> dict[str, str]:
    """The job page's field list: each label with the text shown beside it."""
    expect(page.locator("dl.fields dt").first).to_be_visible()
    fields = page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll("dl.fields dt")].map((dt) =>
            [dt.innerText.trim(),
             dt.nextElementSibling.innerText.replace(/\\s+/g, " ").trim()]))""")
    page_text(page)
    return dict(fields)


def shown_time(page: Page, iso: str) -> str:
    """An API time as this browser writes it on the page (its own locale and zone)."""
    return str(page.evaluate("(iso) => new Date(iso).toLocaleString()", iso))


def trail_rows(page: Page) -> list[dict[str, Any]]:
    """The audit trail as shown: one dict per row, its data column read back as JSON."""
    rows = page.evaluate("""() => [...document.querySelectorAll("table.trail tbody tr")]
        .map((tr) => Object.fromEntries([...tr.children].map((td) => [td.className.split(" ")[0],
                                                                      td.innerText.trim()])))""")
    for row in rows:
        row["data"] = json.loads(row["data"]) if row["data"] else {}
    return list(rows)


def expected_trail(page: Page, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the trail must show for the events ``GET /jobs/{id}/events`` returned."""
    rows = []
    for event in events:
        move = ""
        if event["from_status"] or event["to_status"]:
            move = f"{event['from_status'] or '∅'} → {event['to_status'] or ''}".strip()
        rows.append({"at": shown_time(page, event["at"]), "kind": event["kind"], "move": move,
                     "actor": event["actor"] or "", "reason": event["reason"] or "",
                     "data": event["data"] or {}})
    return rows


def short(job_id: str) -> str:
    """The short id of DESIGN §1: the last 12 hex digits."""
    return job_id.replace("-", "")[-12:]
