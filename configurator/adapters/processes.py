"""Child processes started in their own process group (``start_new_session=True``) and
stopped as a group (adapter: process I/O).

A server that starts processes of its own (``serve --workers N``'s supervisor, run
workers, OctoPrint) must be stopped with all of them: a supervisor that exits or is killed
alone leaves its children serving.
"""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import suppress


def stop_group(proc: subprocess.Popen, *, sig: int = signal.SIGTERM, wait_s: float = 30.0) -> None:
    """Send ``sig`` to the group leader ``proc`` and wait up to ``wait_s`` for it to exit
    (a supervisor stops its children), then SIGKILL whatever is left of its process group
    and reap the leader. ``proc`` must have been started with ``start_new_session=True``.
    Idempotent."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)  # a stopped (SIGSTOP) group cannot exit
        proc.send_signal(sig)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(wait_s)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(10)
