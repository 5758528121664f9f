"""HEAD on every GET route (RFC 9110 §9.3.2): the GET's status and headers, no body.

FastAPI routes answer only the methods they declare, so HEAD got a 405 everywhere. Here a
HEAD runs as a GET (same routing, same token check: a read token suffices) and its answer
ends as soon as the headers are out: the body is never sent, and an event stream, which
would never end, sees its client leave (servers report ``http.disconnect`` once a
response is complete) instead of running on unseen.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False  # only this request's task reads or writes it

        async def headers_only(message: Message) -> None:
            nonlocal done
            if done:
                return
            if message["type"] == "http.response.start":
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                done = True

        await self.app({**scope, "method": "GET"}, receive, headers_only)
