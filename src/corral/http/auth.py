"""Tokens and who is calling (DESIGN §8).

Tokens have names and roles: ``admin`` (everything) or ``read`` (GET, HEAD, OPTIONS).
They come from ``CORRAL_TOKENS_FILE`` (lines ``name role secret``; the secret may be given
as ``sha256:<hex>`` so the file holds none), and ``CORRAL_ADMIN_TOKEN`` /
``CORRAL_READ_TOKEN``, which are the tokens named ``admin`` and ``read``. A token is sent as
``Authorization: Bearer <t>`` or ``X-Admin-Token: <t>``; the server compares the sha256 of
what was sent with every configured token's in constant time, and never logs a secret.
With no token at all the API is open (``corral serve`` binds loopback only then).

Who did it: a write's actor is ``http:<token name>``; an admin token's request may name
the person it acts for in ``X-Corral-Actor`` (a proxy, an app acting for its user),
recorded as ``<person> via http:<token name>``; with no tokens, ``http:anonymous@<client
address>`` (the header is taken there too: the suffix still says who really called). A
read token cannot write, so its header names nobody. The client address also goes in the
data of every trail row the request writes (``client``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from corral import errors
from corral.http import serverlog
from corral.http.problems import Problem
from corral.store import trail

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLES = ("admin", "read")
ACTOR_HEADER = "x-corral-actor"
MAX_ACTOR = 200  # characters of an X-Corral-Actor value
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
_SHA256 = re.compile(r"^sha256:([0-9a-fA-F]{64})$")

ActorFunction = Callable[[Request], str]
"""Who a request acts as, for the audit trail: ``http_actor`` by default; an embedded app
passes its own (issue 17: ``mount(..., actor=lambda request: request.state.user.email)``)."""


@dataclass(frozen=True)
class Token:
    """One configured token. ``digest`` is the sha256 of its secret; ``secret`` is the
    secret itself when it was configured in clear (the server's log cuts it out)."""

    name: str
    role: str
    digest: bytes = field(repr=False)
    secret: str | None = field(default=None, repr=False)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def token(name: str, role: str, secret: str) -> Token:
    """A token from its configured secret: ``sha256:<64 hex digits>`` or the secret in
    clear. Raises ``ConfigError`` (the caller adds where it was written)."""
    if not _NAME.match(name):
        raise errors.ConfigError(
            f"token name {name!r}: letters, digits and _.@+- only, at most 64 characters")
    if role not in ROLES:
        raise errors.ConfigError(f"token {name!r}: role {role!r} is not admin or read")
    if not secret:
        raise errors.ConfigError(f"token {name!r}: the secret is missing")
    hashed = _SHA256.match(secret)
    if hashed:
        return Token(name, role, bytes.fromhex(hashed.group(1)))
    if secret.lower().startswith("sha256:"):
        raise errors.ConfigError(f"token {name!r}: sha256: needs 64 hex digits after it")
    return Token(name, role, _digest(secret), secret)


def read_tokens_file(path: str) -> list[Token]:
    """The tokens of a ``CORRAL_TOKENS_FILE``: one ``name role secret`` per line, blank
    lines and ``#`` comments allowed. Any line that is not one is a ``ConfigError`` naming
    the file and line (never the secret); so is a name given twice."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.ConfigError(f"tokens file {path}: cannot read it ({exc})",
                                 setting="tokens_file") from None
    found: list[Token] = []
    lines: dict[str, int] = {}  # name -> the line that gave it
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        where = f"tokens file {path}, line {number}"
        if len(words) < 3:
            missing = "the role and the secret are" if len(words) == 1 else "the secret is"
            raise errors.ConfigError(f"{where}: token {words[0]!r}: {missing} missing "
                                     "(expected 'name role secret')", setting="tokens_file")
        if len(words) > 3:
            raise errors.ConfigError(f"{where}: token {words[0]!r}: expected 'name role "
                                     f"secret', got {len(words)} fields (a secret has no "
                                     "spaces)", setting="tokens_file")
        if words[0] in lines:
            raise errors.ConfigError(f"{where}: token {words[0]!r} is already given on line "
                                     f"{lines[words[0]]}", setting="tokens_file")
        try:
            found.append(token(*words))
        except errors.ConfigError as exc:
            raise errors.ConfigError(f"{where}: {exc.message}", setting="tokens_file") from None
        lines[words[0]] = number
    return found


@dataclass(frozen=True)
class Tokens:
    """Every token the server takes. Names are unique, and so are secrets (a secret names
    one caller)."""

    named: tuple[Token, ...] = ()

    def __post_init__(self) -> None:
        names: set[str] = set()
        digests: dict[bytes, str] = {}
        for one in self.named:
            if one.name in names:
                raise errors.ConfigError(f"token {one.name!r} is configured twice",
                                         setting="tokens_file")
            if one.digest in digests:
                raise errors.ConfigError(
                    f"tokens {digests[one.digest]!r} and {one.name!r} have the same secret",
                    setting="tokens_file")
            names.add(one.name)
            digests[one.digest] = one.name

    @classmethod
    def of(cls, *, admin: str | None = None, read: str | None = None,
           file: str | None = None) -> Tokens:
        """The tokens of the settings: ``admin_token`` and ``read_token`` (named ``admin``
        and ``read``) and those of ``tokens_file``. Raises ``ConfigError``."""
        named = [token("admin", "admin", admin)] if admin else []
        named += [token("read", "read", read)] if read else []
        named += read_tokens_file(file) if file else []
        return cls(tuple(named))

    @property
    def required(self) -> bool:
        return bool(self.named)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values the server's log must never show (serverlog.Redact); hashed tokens'
        secrets are unknown to the server, and query strings are never logged."""
        return tuple(one.secret for one in self.named if one.secret)

    def match(self, given: str) -> Token | None:
        """The token whose secret is ``given``. Every token is compared (fixed-length
        digests, ``hmac.compare_digest``), whichever matches: the time taken says nothing
        about which, or how much of one, was right."""
        digest = _digest(given)
        found = None
        for one in self.named:
            if hmac.compare_digest(digest, one.digest) and found is None:
                found = one
        return found


def presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-admin-token")


def guard(tokens: Tokens) -> Callable[[Request], Awaitable[None]]:
    """The router's token check; the token found is left on ``request.state.corral_token``
    for ``http_actor``. A hashed token's secret is unknown to the server until a client
    presents it: from then on the log cuts it out too (a client that also put it in a
    path would otherwise see it in the access log)."""
    learned: set[str] = set()  # names of hashed tokens whose secret the log knows; loop only

    async def check(request: Request) -> None:  # async: no thread hop for a compare
        request.state.corral_token = None
        if not tokens.required:
            return
        given = presented(request)
        if not given:
            raise Problem(401, "Unauthorized", "a token is required (Authorization: Bearer)")
        found = tokens.match(given)
        if found is None:
            raise Problem(403, "Forbidden", "wrong token")
        if found.secret is None and found.name not in learned:
            serverlog.REDACT.add_secrets((given,))
            learned.add(found.name)
        if found.role != "admin" and request.method not in READ_METHODS:
            raise Problem(403, "Forbidden", "the read-only token cannot change anything")
        request.state.corral_token = found

    return check


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def acting_for(request: Request) -> str | None:
    """The person ``X-Corral-Actor`` names, or None. HTTP carries header values as
    latin-1; one sent as UTF-8 (``José``) is read back as such. A value over
    ``MAX_ACTOR`` characters or holding control or format characters is refused (422),
    never trimmed: the trail must not name someone else than was sent."""
    raw = request.headers.get(ACTOR_HEADER)
    if raw is None:
        return None
    try:
        person = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        person = raw
    person = person.strip()
    if not person:
        return None
    if len(person) > MAX_ACTOR:
        raise Problem(422, "InvalidActor",
                      f"X-Corral-Actor: at most {MAX_ACTOR} characters")
    if any(unicodedata.category(char).startswith("C") for char in person):
        raise Problem(422, "InvalidActor", "X-Corral-Actor: no control characters")
    return person


def http_actor(request: Request) -> str:
    """DESIGN §8's actor: ``http:<token name>``, ``<person> via http:<token name>`` for
    an admin token with ``X-Corral-Actor``, ``http:anonymous@<client>`` without tokens."""
    found: Token | None = getattr(request.state, "corral_token", None)
    if found is not None:
        caller = f"http:{found.name}"
        person = acting_for(request) if found.role == "admin" else None
    else:
        client = client_address(request)
        caller = f"http:anonymous@{client}" if client else "http:anonymous"
        person = acting_for(request)
    return f"{person} via {caller}" if person else caller


def actor_dependency(named: ActorFunction = http_actor) -> Callable[[Request],
                                                                   Awaitable[str]]:
    """The dependency every writing route takes (``by: str = Depends(...)``): the actor
    to record, from ``named``; and the client address for the data of every trail row
    the request writes (``trail.REQUEST_DATA``). Async, so what it sets is seen by the
    route, which runs in a copy of this context."""

    async def actor(request: Request) -> str:
        who = named(request)
        client = client_address(request)
        trail.REQUEST_DATA.set({"client": client} if client else None)
        return who

    return actor
