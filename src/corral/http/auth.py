"""Tokens (DESIGN §8): an admin token for everything, a read token for GETs; sent as
``Authorization: Bearer <t>`` or ``X-Admin-Token: <t>``, compared in constant time, never
logged. With neither token set the API is open (``corral serve`` binds loopback then)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from corral.http.problems import Problem

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Tokens:
    admin: str | None = None
    read: str | None = None

    @property
    def required(self) -> bool:
        return bool(self.admin or self.read)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values the server's log must never show (serverlog.Redact)."""
        return tuple(token for token in (self.admin, self.read) if token)


def _matches(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


def presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-admin-token")


def guard(tokens: Tokens) -> Callable[[Request], Awaitable[None]]:
    async def check(request: Request) -> None:  # async: no thread hop for a compare
        if not tokens.required:
            return
        given = presented(request)
        if not given:
            raise Problem(401, "Unauthorized", "a token is required (Authorization: Bearer)")
        if _matches(given, tokens.admin):
            return
        if _matches(given, tokens.read):
            if request.method in READ_METHODS:
                return
            raise Problem(403, "Forbidden", "the read-only token cannot change anything")
        raise Problem(403, "Forbidden", "wrong token")

    return check
