"""What the store takes and what it gives back: one set of rules for writing values and
for reading rows, the same for every backend.

Writing: every JSON value (args, kwargs, meta, results, trail data) passes ``check_json``
and every text that names something (queue, keys, ids, reasons) passes ``check_text``
before anything is written, so a refused write stores nothing. The rules, in one place:

- JSON only: ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int``, finite
  ``float``, ``bool``, ``None``. NaN and Infinity are not JSON and are refused.
- At most ``MAX_JSON_DEPTH`` (100) nested arrays/objects: deeper values cannot be served
  back (the HTTP encoder stops at about 250 levels) and are refused.
- No lone surrogates (``"\\ud800"``) anywhere, keys included: they are not Unicode, no
  UTF-8 encoder takes them.
- No NUL (``"\\u0000"``) in strings: PostgreSQL cannot store it in text or jsonb, and a
  job must be storable on both backends alike.
- ``run_at`` must be timezone-aware and fall within years 1-9999 once in UTC.

Reading: ``job_from_row`` turns a row into a ``Job`` and refuses, with ``CorruptRow``,
anything the rules above would not have written (and anything else a manual edit or an
older version could leave: a time out of range, a status that is not a ``JobStatus``,
JSON text that does not parse). The store quarantines such rows (``corral.store.
quarantine``) instead of failing every read that meets them.

Backends differ only in how a row holds times (epoch seconds vs timestamptz) and JSON (text
vs decoded jsonb); each passes its two decoders.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from corral import errors
from corral.job import JSON, NO_PROGRESS, Job, JobError, NewJob, Progress, assemble_job
from corral.status import ACTIVE, JobStatus

TimeDecoder = Callable[[Any], datetime | None]
JsonDecoder = Callable[[Any], JSON]
"""A JSON column as stored to its value, checked as a write would have been (raises
``CorruptRow``): SQLite's ``loads``; PostgreSQL's loaders check as they decode."""

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_JSON_DEPTH = 100
"""Most nested arrays/objects a stored JSON value may have (``[[1]]`` has 2)."""


class CorruptRow(Exception):  # noqa: N818 - a row, not an error the caller made
    """A stored row that does not decode to a ``Job``; ``problem`` says which column."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class Unreadable:
    """A column value the driver could not load (e.g. a PostgreSQL timestamp past year
    9999); the decoders turn it into ``CorruptRow``."""

    __slots__ = ("raw", "reason")

    def __init__(self, raw: str, reason: str) -> None:
        self.raw, self.reason = raw, reason

    def __repr__(self) -> str:
        return f"<unreadable {self.raw[:60]!r}: {self.reason}>"


# -- writing ---------------------------------------------------------------------------


def _text_problem(value: str, *, nul: bool) -> str | None:
    if nul and "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not Unicode text)"
    return None


def check_text(value: str | None, what: str) -> str | None:
    """``value`` unchanged if a store can hold it as text; else ``InvalidArguments``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.InvalidArguments(f"{what} must be a string, got {type(value).__name__}")
    problem = _text_problem(value, nul=True)
    if problem:
        raise errors.InvalidArguments(f"{what} {problem}")
    return value


def clean_text(value: str | None) -> str | None:
    """``value`` with what no store can hold (NUL, lone surrogates) replaced by U+FFFD: for
    texts a job reports rather than gives (error messages, tracebacks, progress messages),
    where losing a character beats losing the report."""
    if value is None:
        return None
    value = str(value)
    if _text_problem(value, nul=True) is None:
        return value
    return _SURROGATE.sub("\ufffd", value.replace("\x00", "\ufffd"))


def _json_problem(value: Any, *, writing: bool) -> str | None:
    """Why ``value`` is not storable JSON (None if it is). Iterative, so no depth of input
    can exhaust the stack."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        if item is None or isinstance(item, bool | int):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{where or 'value'}: {item} is not a JSON number"
            continue
        if isinstance(item, str):
            problem = _text_problem(item, nul=writing)
            if problem:
                return f"{where or 'value'}: a string {problem}"
            continue
        if isinstance(item, list | tuple | dict):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"{where or 'value'}: object keys must be strings, got {key!r}"
                    problem = _text_problem(key, nul=writing)
                    if problem:
                        return f"{where or 'value'}: a key {problem}"
                    stack.append((child, depth + 1, f"{where}.{key}" if where else key))
            else:
                stack.extend((child, depth + 1, f"{where}[{i}]")
                             for i, child in enumerate(item))
            continue
        return f"{where or 'value'}: {type(item).__name__} is not JSON"
    return None


def check_json(value: Any, what: str) -> None:
    """Refuse (``InvalidArguments``) a value the store must not write; see the module."""
    problem = _json_problem(value, writing=True)
    if problem:
        raise errors.InvalidArguments(f"{what} must be JSON (no pickle, ever): {problem}")


_EMPTY: dict[type, str] = {list: "[]", dict: "{}"}


def _compact_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, allow_nan=False, separators=(",", ":"))`` without its set-up:
    ``JSONEncoder.encode`` builds the C encoder on every call (0.7 us of 1 us for a job's
    short argument list); this one is built once. It keeps no circular-reference check:
    a cycle ends in RecursionError, which ``encode_json`` handles as any refused value.
    Where the C encoder is missing or takes other arguments, the plain encoder."""
    plain = json.JSONEncoder(allow_nan=False, separators=(",", ":"))
    make: Callable[..., Any] | None = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C module
        return plain.encode
    try:
        chunks = make(None, plain.default, json.encoder.encode_basestring_ascii, None,
                      ":", ",", False, False, False)
    except TypeError:  # a C encoder that takes other arguments
        return plain.encode
    return lambda value: "".join(chunks(value, 0))


_COMPACT = _compact_encoder()
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _flat(value: Any) -> bool:
    """A list of plain scalars: no key the encoder could have turned into a string, so
    its text needs no decoding again to prove it round-trips (most job arguments)."""
    return type(value) is list and all(type(item) in _SCALARS for item in value)


def encode_json(value: Any, what: str) -> str:
    """``value`` checked and encoded, compactly: the text every store writes. The checks
    run at C speed for nearly every value (enqueue is a hot path): the encoder refuses
    NaN and what is not JSON, the text shows any surrogate, NUL or deep nesting, and
    decoding it again shows keys the encoder turned into strings. Only a value that fails
    one of those is walked, to name its problem (or to find none: a tuple, an emoji)."""
    if not value and type(value) in _EMPTY:  # most kwargs and metas: nothing to check
        return _EMPTY[type(value)]
    try:
        text: str | None = _COMPACT(value)
    except (TypeError, ValueError, RecursionError):
        text = None
    if text is not None and _plainly_fine(text) and "\\u0000" not in text \
            and (_flat(value) or json.loads(text) == value):
        return text
    check_json(value, what)
    try:
        return text or _COMPACT(value)
    except (TypeError, ValueError) as exc:  # e.g. an int past Python's digit limit
        raise errors.InvalidArguments(f"{what} must be JSON (no pickle, ever): {exc}") from exc


def check_run_at(run_at: datetime | None) -> datetime | None:
    """``run_at`` in UTC, or ``InvalidArguments`` if it is naive or falls outside years
    1-9999 in UTC (``0001-01-01T00:00+14:00`` is year 0 there): no store could give it
    back."""
    if run_at is None:
        return None
    if not isinstance(run_at, datetime) or run_at.tzinfo is None:
        raise errors.InvalidArguments("run_at must be a timezone-aware datetime")
    try:
        utc = run_at.astimezone(UTC)
        datetime.fromtimestamp(utc.timestamp(), UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise errors.InvalidArguments(
            f"run_at {run_at.isoformat()} is outside years 1-9999 in UTC") from exc
    return utc


# -- reading ---------------------------------------------------------------------------


def read_problem(text: str | bytes, value: Any) -> str | None:
    """Why ``value``, decoded from the JSON ``text``, is not what a write would have
    stored (NUL aside: older rows may hold it, and it harms no reader), or None. A C-speed
    look at the text spares the walk for nearly every row (the walk was 60% of a SQLite
    ``get_job``)."""
    if _plainly_fine(text):
        return None
    return _json_problem(value, writing=False)


def loads(text: Any) -> JSON:
    """JSON text (SQLite's columns) decoded and checked; ``CorruptRow`` if it is not."""
    if not isinstance(text, str | bytes):
        raise CorruptRow(f"{type(text).__name__} where JSON text belongs")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CorruptRow(f"not JSON ({_short(exc)})") from None
    problem = read_problem(text, value)
    if problem:
        raise CorruptRow(problem)
    return value


_SUSPECT = re.compile(r"\\u[dD][89a-fA-F]|NaN|Infinity|[eE][+-]?\d{3}")
_SUSPECT_BYTES = re.compile(_SUSPECT.pattern.encode())
"""In JSON text: a surrogate escape, a non-finite number or a huge exponent (which loads
as infinity). Text without any, and with fewer brackets than MAX_JSON_DEPTH, cannot hold
what ``read_problem`` refuses."""


def _plainly_fine(text: str | bytes) -> bool:
    if isinstance(text, str):
        return (text.count("[") + text.count("{") < MAX_JSON_DEPTH
                and _SUSPECT.search(text) is None)
    return (text.count(b"[") + text.count(b"{") < MAX_JSON_DEPTH
            and _SUSPECT_BYTES.search(text) is None)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _str(row: Any, column: str, *, required: bool = False) -> str | None:
    value = row[column]
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise CorruptRow(f"{column}: {type(value).__name__} where text belongs")
    problem = _text_problem(value, nul=False)
    if problem:
        raise CorruptRow(f"{column}: {problem}")
    return value


def _int(row: Any, column: str, *, required: bool = True) -> int | None:
    value = row[column]
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CorruptRow(f"{column}: {value!r} is not an integer")
    return value


def _number(row: Any, column: str, *, required: bool = True) -> float | None:
    value = row[column]
    if value is None and not required:
        return None
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value)):
        raise CorruptRow(f"{column}: {value!r} is not a finite number")
    return float(value)


def _time(row: Any, column: str, time: TimeDecoder, *, required: bool = False
          ) -> datetime | None:
    value = row[column]
    if value is None:
        if required:
            raise CorruptRow(f"{column}: missing")
        return None
    if isinstance(value, Unreadable):
        raise CorruptRow(f"{column}: {value.reason}")
    try:
        decoded = time(value)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise CorruptRow(f"{column}: {value!r} is not a time within years 1-9999 "
                         f"({_short(exc)})") from None
    if decoded is None or decoded.tzinfo is None:
        raise CorruptRow(f"{column}: {value!r} is not a time")
    return decoded


def _json_column(row: Any, column: str, json_value: JsonDecoder, kind: type | None
                 ) -> JSON:
    raw = row[column]
    if raw is None:
        if kind is None:
            return None
        raise CorruptRow(f"{column}: missing")
    if isinstance(raw, Unreadable):
        raise CorruptRow(f"{column}: {raw.reason}")
    try:
        value = json_value(raw)
    except CorruptRow as exc:
        raise CorruptRow(f"{column}: {exc.problem}") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise CorruptRow(f"{column}: not JSON ({_short(exc)})") from None
    if kind is not None and not isinstance(value, kind):
        raise CorruptRow(f"{column}: a JSON {type(value).__name__} where a "
                         f"{'list' if kind is list else 'object'} belongs")
    return value


def job_error(row: Any, json_value: JsonDecoder) -> JobError | None:
    if row["error"] is None:
        return None
    value = _json_column(row, "error", json_value, dict)
    extra = set(value) - {"type", "message", "traceback"}
    if (extra or not isinstance(value.get("type"), str)
            or not isinstance(value.get("message"), str)
            or not isinstance(value.get("traceback"), str | None)):
        raise CorruptRow("error: not {type, message, traceback} with text values")
    return JobError(value["type"], value["message"], value.get("traceback"))


_STATUSES = {str(status): status for status in JobStatus}
"""Statuses by name: a lookup, where ``JobStatus(name)`` costs 0.3 us (every row read and
every enqueued job)."""


def _status(row: Any) -> JobStatus:
    try:
        return _STATUSES[row["status"]]
    except (KeyError, TypeError):
        raise CorruptRow(f"status: {row['status']!r} is not a job status") from None


def job_from_row(row: Any, time: TimeDecoder, json_value: JsonDecoder) -> Job:
    """``row`` is anything indexable by column name (``sqlite3.Row``, a dict). Raises
    ``CorruptRow`` naming the first column that cannot be read back."""
    priority, attempt = _int(row, "priority"), _int(row, "attempt")
    max_attempts, attempt_offset = _int(row, "max_attempts"), _int(row, "attempt_offset")
    assert priority is not None and attempt is not None  # required: never None
    assert max_attempts is not None and attempt_offset is not None
    current = _number(row, "progress_current")
    total, message = _number(row, "progress_total", required=False), _str(row, "progress_message")
    return assemble_job({
        "id": _str(row, "id", required=True) or "",
        "task": _str(row, "task", required=True) or "",
        "status": _status(row),
        "args": _json_column(row, "args", json_value, list),
        "kwargs": _json_column(row, "kwargs", json_value, dict),
        "queue": _str(row, "queue", required=True) or "", "priority": priority,
        "phase": _str(row, "phase"),
        "progress": Progress(current or 0.0, total, message) if current or total is not None
        or message is not None else NO_PROGRESS,
        "attempt": attempt, "max_attempts": max_attempts, "attempt_offset": attempt_offset,
        "run_at": _time(row, "run_at", time, required=True),
        "created_at": _time(row, "created_at", time, required=True),
        "started_at": _time(row, "started_at", time),
        "finished_at": _time(row, "finished_at", time),
        "heartbeat_at": _time(row, "heartbeat_at", time), "worker_id": _str(row, "worker_id"),
        "timeout": _number(row, "timeout", required=False),
        "cancel_requested_at": _time(row, "cancel_requested_at", time),
        "cancel_reason": _str(row, "cancel_reason"),
        "cancelled_by": _str(row, "cancelled_by"),
        "error": job_error(row, json_value),
        "result": _json_column(row, "result", json_value, None),
        "batch_id": _str(row, "batch_id"), "limit_key": _str(row, "limit_key"),
        "key_limit": _int(row, "key_limit", required=False),
        "unique_key": _str(row, "unique_key"),
        "meta": _json_column(row, "meta", json_value, dict),
        "stalled_at": _time(row, "stalled_at", time),
        "unresponsive_at": _time(row, "unresponsive_at", time),
    })


def stand_in(row: Any, time: TimeDecoder, json_value: JsonDecoder, status: JobStatus,
             error: JobError) -> Job:
    """What a reader is shown for a row that does not decode: every column that can be
    read, defaults for the rest, and the status and error the quarantine gave it."""

    def best(read: Callable[[], Any], default: Any) -> Any:
        try:
            return read()
        except (CorruptRow, KeyError, IndexError):
            return default

    return Job(
        id=str(row["id"]), task=best(lambda: _str(row, "task", required=True), "?"),
        status=status, args=best(lambda: _json_column(row, "args", json_value, list), []),
        kwargs=best(lambda: _json_column(row, "kwargs", json_value, dict), {}),
        queue=best(lambda: _str(row, "queue", required=True), "?"),
        priority=best(lambda: _int(row, "priority"), 0),
        attempt=best(lambda: _int(row, "attempt"), 0),
        max_attempts=best(lambda: _int(row, "max_attempts"), 1),
        attempt_offset=best(lambda: _int(row, "attempt_offset"), 0),
        run_at=best(lambda: _time(row, "run_at", time), None),
        created_at=best(lambda: _time(row, "created_at", time), None),
        started_at=best(lambda: _time(row, "started_at", time), None),
        finished_at=best(lambda: _time(row, "finished_at", time), None),
        error=error,
        batch_id=best(lambda: _str(row, "batch_id"), None),
        limit_key=best(lambda: _str(row, "limit_key"), None),
        unique_key=best(lambda: _str(row, "unique_key"), None),
        meta=best(lambda: _json_column(row, "meta", json_value, dict), {}),
    )


def job_from_new(job: NewJob, status: str, run_at: datetime | None,
                 created_at: datetime | None) -> Job:
    """The Job an enqueue returns, from what was sent and what the insert decided (its
    own copies of the containers: the caller's ``NewJob`` stays the caller's)."""
    return assemble_job({
        "id": job.id, "task": job.task, "status": _STATUSES[status], "args": list(job.args),
        "kwargs": dict(job.kwargs), "queue": job.queue, "priority": job.priority,
        "max_attempts": job.max_attempts, "run_at": run_at, "created_at": created_at,
        "timeout": job.timeout, "batch_id": job.batch_id, "limit_key": job.limit_key,
        "key_limit": job.key_limit, "unique_key": job.unique_key, "meta": dict(job.meta),
    })


def check_distinct_ids(jobs: Sequence[NewJob], seen: set[str]) -> None:
    """One id twice in one enqueue is the caller's mistake, not a retry (a retry is a
    second call): refused before the statement that would write it, so the call stays all
    or none. ``seen``: the ids of the enqueue's earlier statements (this one's are added)."""
    for job in jobs:
        if job.id in seen:
            raise errors.InvalidArguments(
                f"job id {job.id} appears twice in one enqueue", job_id=job.id)
        seen.add(job.id)


def skipped_jobs(jobs: Sequence[NewJob], found: Sequence[Job]) -> dict[str, Job]:
    """What an enqueue returns, by new id, for ``jobs`` its insert skipped, out of
    ``found`` (the ``existing_jobs`` query). A job whose id is stored comes back as stored:
    the retry of an insert that committed but whose acknowledgement was lost gets what its
    first attempt made, never a duplicate. Else the active job holding its ``unique_key``.
    Ids are UUIDv7s made by the client, so an id held by another task's job is no retry:
    refused, loudly, rather than answered with somebody else's job."""
    by_id = {job.id: job for job in found}
    by_key = {job.unique_key: job for job in found
              if job.unique_key is not None and job.status in ACTIVE}
    made: dict[str, Job] = {}
    for job in jobs:
        held = by_id.get(job.id) or (by_key.get(job.unique_key) if job.unique_key else None)
        if held is None:
            raise errors.StoreError(
                f"job {job.id} was neither inserted nor found (a unique job finished "
                "while enqueueing?); try again", job_id=job.id)
        if held.id == job.id and held.task != job.task:
            raise errors.StoreError(
                f"job id {job.id} is taken by a {held.task!r} job, not {job.task!r}",
                job_id=job.id)
        made[job.id] = held
    return made
