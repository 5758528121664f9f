"""Property tests of the HTTP API on both stores (issue 14, item 4), beside schemathesis
(test_schema.py), with what it rarely tries: lone surrogates and NULs (as JSON escapes),
huge and non-finite numbers, nesting past the limit, extreme durations and dates. Every
route the OpenAPI schema lists gets generated path and query parameters and JSON bodies
(the body models' own fields, nasty values). Whatever comes in: never a 5xx, a refused
enqueue stores nothing, and the job listing still answers afterwards."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corral
from corral.http import create_app
from tests import corrupt

EXAMPLES = 120  # per store: the whole file stays within a few seconds per store
LIVE = re.compile(r"/(stream|poll)$")  # they wait on purpose; test_live covers them

NASTY_TEXTS = ["\ud800", "\udcff", "a\x00b", "\x00", "", " ", "3000000d", "1e400", "-1",
               "9" * 40, "99999999999999999999d", "0001-01-01T00:00+14:00",
               "9999-12-31T23:00-05:00", "10000-01-01T00:00Z", "NaN", "Infinity", "noop",
               "queued", "running,failed", "default", "0.0000001ms", "1e308s"]
NASTY_NUMBERS = [10 ** 400, 2 ** 63, -(2 ** 63) - 1, 2 ** 31, 1e308, -0.0, 10 ** 30]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


text = st.one_of(st.text(max_size=12), st.sampled_from(NASTY_TEXTS))
number = st.one_of(st.integers(-(10 ** 6), 10 ** 6), st.sampled_from(NASTY_NUMBERS),
                   st.floats(allow_nan=True, allow_infinity=True))
scalar = st.one_of(st.none(), st.booleans(), number, text)
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(text, inner, max_size=3), max_leaves=6)
value = st.one_of(json_value, st.integers(95, 320).map(nested),
                  st.lists(text, max_size=3), st.dictionaries(text, json_value, max_size=2))
# query strings travel UTF-8 percent-encoded: a lone surrogate cannot be sent there
query_text = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                       st.sampled_from([t for t in NASTY_TEXTS
                                        if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]),
                       number.map(str))


def body_for(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A JSON body for a request model: its own fields with nasty values (``task`` often
    a real one, so the request gets past the registry to the store)."""
    ref = schema.get("$ref") or next((s.get("$ref") for s in schema.get("anyOf", [])
                                      if "$ref" in s), None)
    if ref is None:
        return value
    model = components[ref.rsplit("/", 1)[-1]]
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, spec in model.get("properties", {}).items():
        if name == "task":
            fields[name] = st.one_of(st.just("noop"), text)
        elif name == "jobs":
            fields[name] = st.lists(st.fixed_dictionaries(
                {"task": st.just("noop")}, optional={"args": value, "kwargs": value,
                                                     "run_at": text, "meta": value}),
                min_size=1, max_size=3)
        elif spec.get("type") == "boolean":
            fields[name] = st.booleans()
        else:
            fields[name] = value
    return st.fixed_dictionaries({}, optional=fields)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in schema["paths"].items():
        if LIVE.search(path) or not path.startswith("/api/v1"):
            continue
        for method, spec in methods.items():
            found.append((method.upper(), path, spec))
    return found


def test_no_route_answers_5xx_and_no_refused_enqueue_stores_anything(
        app: corral.Corral, tasks: SimpleNamespace, db_url: str) -> None:
    api = create_app(app)
    client = TestClient(api, raise_server_exceptions=False)
    schema = api.openapi()
    components = schema.get("components", {}).get("schemas", {})
    known = tasks.noop.enqueue("seed").id
    ops = operations(schema)
    assert len(ops) >= 20

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], str | None]:
        method, path, spec = draw(st.sampled_from(ops))
        query: dict[str, str] = {}
        for parameter in spec.get("parameters", []):
            if parameter["in"] == "path":
                raw = draw(st.one_of(st.just(known), query_text))
                path = path.replace("{" + parameter["name"] + "}", quote(raw, safe="") or "x")
            elif parameter["in"] == "query" and draw(st.booleans()):
                query[parameter["name"]] = draw(query_text)
        body = None
        content = spec.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = json.dumps(draw(body_for(content["application/json"]["schema"],
                                            components)), allow_nan=True)
        return method, path, query, body

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests())
    def never_5xx(request: tuple[str, str, dict[str, str], str | None]) -> None:
        method, path, query, body = request
        before = corrupt.count_rows(db_url)
        response = client.request(method, path, params=query, content=body,
                                  headers={"content-type": "application/json"})
        assert response.status_code < 500, (method, path, query, body, response.text)
        if method == "POST" and path in ("/api/v1/jobs", "/api/v1/batches") \
                and response.status_code >= 400:
            assert corrupt.count_rows(db_url) == before, "a refused enqueue stored a row"
        if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
                "application/json"):
            problem = response.json()
            assert isinstance(problem.get("error"), str) and "message" in problem, problem
        listing = client.get("/api/v1/jobs", params={"limit": 1000})
        assert listing.status_code == 200, listing.text

    never_5xx()
