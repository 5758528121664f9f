"""``python -m corral.contrib.dagster.run_worker <parent pid> <dagster api arguments>``:
Dagster's run or step worker (``dagster api execute_run`` / ``execute_step``), bound to
the corral worker that started it.

It leads a process group of its own (started with ``start_new_session``), which Dagster's
step processes join. Linux tells it when its parent dies (``PR_SET_PDEATHSIG``, as SIGHUP)
and it then kills the whole group, steps included: a worker killed by ``kill -9`` leaves
no run executing that nobody supervises. If the parent is already gone it does so at once.
Done here, after the start, rather than in ``preexec_fn``, which is unsafe in the worker's
many-threaded process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1
PARENT_DIED = signal.SIGHUP


def kill_group(signum: int = 0, frame: FrameType | None = None) -> None:
    """SIGKILL to this process's group: the run worker and every step process."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(parent: int, api_args: list[str]) -> int:
    signal.signal(PARENT_DIED, kill_group)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, PARENT_DIED)
    if os.getppid() != parent:  # the worker died before the line above
        kill_group()
    from dagster._cli import main as dagster_main

    sys.argv = ["dagster", "api", *api_args]
    try:
        dagster_main()  # type: ignore[no-untyped-call]
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2:]))
