"""Property test of the command line on both stores (issue 14, item 4): generated
arguments for every store command (surrogates, NULs, huge numbers, extreme durations)
never end in a traceback, and every exit code is one of the table's, 0-4. In-process
(typer's CliRunner, with ``main()``'s own error mapping) so examples stay cheap."""

from __future__ import annotations

import traceback

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corral import errors
from corral.cli.main import cli, exit_code
from corral.store import Store
from tests.factories import new_job

EXAMPLES = 60  # per store
NASTY = ["\ud800", "\udcff", "a\x00b", "", "3000000d", "99999999999999999999d", "1e400",
         "-1", "9" * 40, "NaN", "[" * 150 + "]" * 150, '["\\ud800"]', '{"value": NaN}',
         "queued", "running,failed", "default", "0", "1h", "noop"]
word = st.one_of(st.text(max_size=10), st.sampled_from(NASTY))
FILTERS = ["--status", "--queue", "--task", "--batch", "--older-than"]
COMMANDS: list[tuple[list[str], list[str], int]] = [  # fixed words, options, positionals
    (["jobs", "list"], FILTERS + ["--limit"], 0),
    (["jobs", "show"], [], 1),
    (["cancel", "--yes"], FILTERS + ["--reason"], 2),
    (["delete", "--yes"], FILTERS, 2),
    (["restart", "--yes"], FILTERS + ["--reason"], 2),
    (["reset-stuck"], ["--older-than", "--reason"], 0),
    (["enqueue", "--app", "tests.workerapp:app"], ["--kwargs", "--queue", "--priority",
                                                   "--delay"], 2),
    (["queues", "pause"], [], 1),
    (["queues", "limit"], [], 2),
    (["stats"], [], 0),
    (["workers"], [], 0),
]


@st.composite
def command_lines(draw: st.DrawFn, known: str) -> list[str]:
    words, options, positionals = draw(st.sampled_from(COMMANDS))
    line = list(words)
    for _ in range(draw(st.integers(0, positionals))):
        line.append(draw(st.one_of(st.just(known), st.just(known[-12:]), word)))
    chosen = draw(st.lists(st.sampled_from(options), max_size=3, unique=True)) if options else []
    for option in chosen:
        line += [option, draw(word)]
    if draw(st.booleans()):
        line.append("--json")
    return line


def test_no_command_line_ends_in_a_traceback(store: Store, db_url: str) -> None:
    (known,) = store.enqueue_jobs([new_job()])
    runner = CliRunner()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(line=command_lines(known.id))
    def clean(line: list[str]) -> None:
        result = runner.invoke(cli, line, env={"CORRAL_DATABASE_URL": db_url, "COLUMNS": "200"})
        exc = result.exception
        if isinstance(exc, errors.CorralError):  # main() prints its message, exits with:
            code = exit_code(exc)
        elif exc is None or isinstance(exc, SystemExit):
            code = result.exit_code
        else:
            trace = "".join(traceback.format_exception(exc))
            raise AssertionError(f"corral {line!r} ended in a traceback:\n{trace}")
        assert 0 <= code <= 4, (line, code, result.output)

    clean()
