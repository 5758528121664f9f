"""Job ids: UUIDv7 strings, so ids sort by creation time (RFC 9562 §5.7); and the short
ids people read and type (DESIGN §1).

A job's **short id** is the last 12 hex digits of its id: the random part. The first
digits are a timestamp, so jobs made together share a long prefix (about 18 digits before
two are told apart) but never their tail. A person may name a job by its full id, its
short id, or any unique prefix or suffix of 6+ hex digits; :func:`resolve` turns that text
into the full id, for the CLI and the HTTP API alike.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence

from corral import errors
from corral.job import Job

SHORT_DIGITS = 12
MIN_DIGITS = 6
"""The fewest hex digits that name a job: 16 million values, so a suffix this long still
picks one job among a million in most cases (and lists the candidates when it does not)."""
TAIL_DIGITS = 6
"""The stores index each id's last 6 digits (migration ``id_tail``): a suffix lookup is
one index probe and a check of the few rows found, at any table size."""
SHOWN_CANDIDATES = 5
HEX = frozenset("0123456789abcdef")

RANDOM_POOL = 4096
"""Bytes of ``os.urandom`` drawn at once for ids' random parts: one system call per 512
ids instead of one per id (the call was half of ``uuid7``'s samples in a bulk enqueue's
profile)."""

_lock = threading.Lock()
_last_ms = 0
_seq = 0
_pool = b""
_taken = 0


def _random_bits() -> int:
    """64 random bits from the pool (the caller holds ``_lock``)."""
    global _pool, _taken
    if _taken >= len(_pool):
        _pool, _taken = os.urandom(RANDOM_POOL), 0
    _taken += 8
    return int.from_bytes(_pool[_taken - 8:_taken], "big")


def _after_fork() -> None:
    """A forked child draws its own bytes: handing out what is left of its parent's pool
    would repeat the parent's next ids (and a lock held in the parent stays held)."""
    global _lock, _pool, _taken
    _lock, _pool, _taken = threading.Lock(), b"", 0


os.register_at_fork(after_in_child=_after_fork)


def uuid7() -> str:
    """A new UUIDv7; monotonic within this process (a 12-bit counter breaks ties per ms)."""
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _seq += 1
            if _seq > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _seq = _random_bits() & 0x3FF  # leave room to count up
        seq = _seq
        rand = _random_bits() & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return _spelled(f"{value:032x}")  # by hand: uuid.UUID costs more than the rest here


def _spelled(hex32: str) -> str:
    """32 hex digits in the 8-4-4-4-12 form of every id."""
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """The lowest and highest id starting with ``prefix`` (hyphens optional, any case), so
    a prefix lookup is an index range scan: ``id BETWEEN low AND high``. Raises
    ``ValueError`` for a prefix that no id can start with."""
    digits = prefix.replace("-", "").lower()
    if len(digits) > 32 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"{prefix!r} is not the start of a job id")
    return _spelled(digits.ljust(32, "0")), _spelled(digits.ljust(32, "f"))


def short(job_id: str) -> str:
    """The short id shown in tables, logs and the web UI: the id's last 12 hex digits."""
    return job_id.replace("-", "")[-SHORT_DIGITS:]


Matching = Callable[[str, int], Sequence[Job]]
"""``(digits, limit) -> jobs``: the jobs whose id starts or ends with ``digits`` (at most
``limit`` of each), as ``Store.jobs_matching_id`` finds them."""


def resolve(text: str, matching: Matching) -> str:
    """The full id of the one job ``text`` names. A full id (hyphens optional, any case)
    comes back spelled out without a lookup, so the hot path of a caller holding the id
    costs nothing; the job may still not exist (the caller's read or action says so).
    Anything shorter is a prefix or suffix of 6+ hex digits, looked up with ``matching``.

    Raises ``InvalidJobId`` (not hex, too short, too long), ``JobNotFound`` or
    ``AmbiguousId`` (with the candidates' full ids)."""
    given = text.strip()
    digits = given.replace("-", "").lower()
    if not set(digits) <= HEX:
        raise errors.InvalidJobId(given, "an id is hex digits (0-9, a-f) and hyphens")
    if len(digits) > 32:
        raise errors.InvalidJobId(given, "longer than an id (32 hex digits)")
    if len(digits) == 32:
        return _spelled(digits)
    if len(digits) < MIN_DIGITS:
        raise errors.InvalidJobId(
            given, f"give at least {MIN_DIGITS} hex digits (the short id is the last "
                   f"{SHORT_DIGITS}), or the full id")
    found = sorted({job.id: job for job in matching(digits, SHOWN_CANDIDATES + 1)}.values(),
                   key=lambda job: job.id, reverse=True)
    if not found:
        raise errors.JobNotFound(given)
    if len(found) > 1:
        shown = found[:SHOWN_CANDIDATES]
        raise errors.AmbiguousId(
            given, [job.id for job in shown],
            [f"{short(job.id)} ({job.task}, {job.status})" for job in shown],
            more=len(found) > SHOWN_CANDIDATES)
    return found[0].id


def suffix_probe(digits: str) -> tuple[str, str]:
    """``(tail, pattern)`` of a suffix lookup: the id's last 6 digits, which the stores
    index (an equality probe), and the ``LIKE`` pattern over the id's 32 digits that
    checks the rest of the suffix on the few rows the probe finds."""
    return digits[-TAIL_DIGITS:], f"%{digits}"
