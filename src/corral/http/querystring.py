"""Query strings are strict (DESIGN §8): a parameter a route does not declare is a 422,
never ignored, so a misspelt ``dry_run`` cannot run the real action.

One dependency on every API route compares the request's query keys with the query
parameters the route declares (read from FastAPI's dependant, sub-dependencies included).
Routes that filter jobs also take meta labels, ``meta.<key>=<value>``: they declare it
by depending on ``meta_labels``. Bodies are strict already (``extra="forbid"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from corral import bulk
from corral.http.problems import Problem
from corral.job import JSON

NAME_SHOWN = 80  # characters of an unknown name echoed back (never its value)


async def meta_labels(request: Request) -> dict[str, JSON] | None:
    """The ``meta.<key>=<value>`` labels of the query (a value that parses as JSON is that
    value: ``5`` the number, ``"5"`` the string); a key given twice is a 422."""
    return bulk.meta_labels(
        ((key.removeprefix(bulk.META_PREFIX), bulk.meta_value(value))
         for key, value in request.query_params.multi_items()
         if key.startswith(bulk.META_PREFIX)), source="query parameter meta.<key>")


@dataclass(frozen=True)
class _Declared:
    names: frozenset[str]
    meta: bool  # the route takes meta.<key> labels


def _query_of(dependant: Dependant) -> _Declared:
    names: set[str] = set()
    meta = False
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update(param.alias for param in current.query_params)
        meta = meta or current.call is meta_labels
        pending.extend(current.dependencies)
    return _Declared(frozenset(names), meta)


async def refuse_unknown(request: Request) -> None:
    """422 for any query parameter the matched route does not declare; the action is
    not taken. Runs after the token check, so a stranger learns nothing from it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    declared = _query_of(route.dependant)  # a few nodes: cheaper than any cache keyed safely
    unknown = [key for key in dict.fromkeys(request.query_params.keys())
               if key not in declared.names
               and not (declared.meta and key.startswith(bulk.META_PREFIX))]
    if not unknown:
        return
    name = unknown[0] if len(unknown[0]) <= NAME_SHOWN else unknown[0][:NAME_SHOWN] + "…"
    takes = sorted(declared.names) + (["meta.<key>"] if declared.meta else [])
    message = (f"query.{name}: unknown query parameter; nothing was done "
               f"(this route takes: {', '.join(takes) or 'no query parameters'})")
    raise Problem(422, "ValidationError", message, parameter=name,
                  details=[{"loc": ["query", key[:NAME_SHOWN]], "msg": "unknown query parameter"}
                           for key in unknown[:10]])
