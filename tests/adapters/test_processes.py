"""Stopping a process group: the leader and every process it started, whether the leader
exits on the signal, ignores it, or was frozen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from configurator.adapters.processes import stop_group

# a leader that starts a long-lived child, prints its pid, and (optionally) ignores SIGTERM
LEADER = """
import signal, subprocess, sys, time
if sys.argv[1] == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes (its parent was killed; init reaps it)
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(") ")[1][0] != "Z"


def _start(mode: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", LEADER, mode], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    return proc, int(proc.stdout.readline())


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("mode", ["exit", "ignore", "frozen"])
def test_the_leader_and_its_children_are_stopped(mode):
    proc, child = _start("ignore" if mode == "ignore" else "exit")
    if mode == "frozen":
        os.killpg(proc.pid, signal.SIGSTOP)
    stop_group(proc, wait_s=1.0)
    assert proc.returncode is not None
    assert _gone(child), f"child {child} outlived its group ({mode})"
    proc.stdout.close()
    stop_group(proc)  # idempotent
