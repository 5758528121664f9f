"""Security headers on every response: ``nosniff``, no framing, no referrer, and a
Content-Security-Policy.

The web UI is plain ES modules and one stylesheet from its own origin, with no inline
script or style (``index.html`` has none; the progress bars set their width through the
CSSOM, which CSP allows), so its policy is ``'self'`` for scripts, styles and API calls,
``data:`` for the one inline icon, and nothing else. API answers are data, never a page
to run: ``default-src 'none'``. A response that sets its own policy (``/docs``) keeps it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UI_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; form-action 'none'; base-uri 'none'; "
             "frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    (b"referrer-policy", b"no-referrer"),
)
CSP = b"content-security-policy"
UI_HEADERS = (*COMMON, (CSP, UI_POLICY.encode()))
API_HEADERS = (*COMMON, (CSP, API_POLICY.encode()))


def is_ui(scope: Scope) -> bool:
    """The dashboard's shell and its files (``corral.web``), also when the app is mounted
    under a prefix (Starlette keeps the full path and puts the prefix in root_path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path == "/" or path.startswith("/static/")


class SecurityHeaders:
    """Adds the headers above to each response start, unless the app set them already."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = UI_HEADERS if is_ui(scope) else API_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}  # the app's message untouched
            await send(message)

        await self.app(scope, receive, send_with_headers)
