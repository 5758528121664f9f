"""How the dashboard stays live: the SSE feed read with fetch (the token is a header), and
polling every 2 s while the feed is unavailable."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import log_in
from tests.web.server import Server


def test_the_sse_parser_handles_any_chunking_comments_and_multiline_data(page: Page) -> None:
    stream = (": ping\r\n\r\nevent: job_update\r\ndata: {\"id\": \"a\",\r\ndata:  \"n\": 1}\r\n\r\n"
              "event: resync\ndata: {}\n\nid: 7\ndata:plain\n\n: tail without event\n")
    events = page.evaluate("""async (stream) => {
        const {SseParser} = await import("/static/js/sse.js");
        const results = [];
        for (const size of [1, 2, 3, 5, 8, 1000]) {
            const seen = [];
            const parser = new SseParser((event) => seen.push(event));
            for (let i = 0; i < stream.length; i += size) parser.push(stream.slice(i, i + size));
            results.push(seen);
        }
        return results;
    }""", stream)
    expected = [{"type": "job_update", "data": '{"id": "a",\n "n": 1}', "id": ""},
                {"type": "resync", "data": "{}", "id": ""},
                {"type": "message", "data": "plain", "id": "7"}]
    assert all(seen == expected for seen in events), events
    assert json.loads(events[0][0]["data"]) == {"id": "a", "n": 1}


def test_without_the_feed_the_page_polls_and_still_shows_changes(
        page: Page, server: Server) -> None:
    page.route("**/api/v1/events/stream", lambda route: route.fulfill(
        status=404, json={"error": "NotFound", "message": "Not Found"}))
    page.reload()
    log_in(page)
    expect(page.locator("#live")).to_have_attribute("data-state", "polling")
    job_id = server.enqueue("noop", "polled")
    status = page.locator(f"tr[data-job-id='{job_id}'] .status")
    expect(status).to_have_text("completed")


def test_with_the_feed_changes_arrive_over_it(page: Page, server: Server) -> None:
    with server.api.stream("GET", "/events/stream") as answer:
        if answer.status_code == 404:
            pytest.skip("this server has no GET /events/stream yet")
    log_in(page)
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    job_id = server.enqueue("ticker", "LIVE", kwargs={"steps": 5, "step": 0.05})
    expect(page.locator(f"tr[data-job-id='{job_id}'] .status")).to_have_text("completed")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
