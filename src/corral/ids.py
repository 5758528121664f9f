"""Job ids: UUIDv7 strings, so ids sort by creation time (RFC 9562 §5.7)."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = 0


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
            _seq = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
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
