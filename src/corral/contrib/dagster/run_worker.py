"""``python -m corral.contrib.dagster.run_worker <parent pid> <ExecuteRunArgs>``: Dagster's
run worker (``dagster api execute_run``), bound to the corral worker that started it.

It asks Linux to SIGKILL it when its parent dies (``PR_SET_PDEATHSIG``), so a worker
killed by ``kill -9`` leaves no run executing that nobody supervises; if the parent is
already gone it exits at once. Done here, after the start, rather than in ``preexec_fn``,
which is unsafe in the worker's many-threaded process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(parent: int, execute_args: str) -> int:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the worker died before the line above
        return 1
    from dagster._cli import main as dagster_main

    sys.argv = ["dagster", "api", "execute_run", execute_args]
    try:
        dagster_main()  # type: ignore[no-untyped-call]
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
