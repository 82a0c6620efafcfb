"""Real OctoPrint instances (Virtual Printer) for the connector, node and farm tests.

One pool per test process: instances start on first use (OctoPrint is installed in its
own cached virtualenv if needed, see ``configurator.adapters.connectors.octoprint_lab``),
are reset to a clean Operational printer before each test that takes them, and are
stopped at the end of the session. Each takes ~90 MB and ~5 s to start.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest

from configurator.adapters.connectors.octoprint_lab import VirtualOctoPrint


class OctoPrintPool:
    def __init__(self) -> None:
        self.instances: list[VirtualOctoPrint] = []
        self.root = Path(tempfile.mkdtemp(prefix="octoprint-pool-"))
        self.lock = threading.Lock()

    def take(self, n: int) -> list[VirtualOctoPrint]:
        """``n`` running, reset instances."""
        with self.lock:
            missing = n - len(self.instances)
            new = [
                VirtualOctoPrint(self.root / f"op{len(self.instances) + i}") for i in range(missing)
            ]
            threads = [threading.Thread(target=op.start) for op in new]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for op in new:
                if not op.alive:
                    raise RuntimeError(f"OctoPrint did not start; see {op.basedir}/serve.log")
            self.instances.extend(new)
            ops = self.instances[:n]
        for op in ops:
            if not op.alive:  # a test stopped it: bring it back
                op.start()
            op.reset()
        return ops

    def stop_all(self) -> None:
        for op in self.instances:
            op.stop()
        self.instances.clear()


_POOL: OctoPrintPool | None = None


@pytest.fixture(scope="session")
def octoprint_pool():
    global _POOL
    if _POOL is None:
        _POOL = OctoPrintPool()
    yield _POOL
    _POOL.stop_all()


@pytest.fixture
def octoprint(octoprint_pool) -> VirtualOctoPrint:
    """One running, reset OctoPrint."""
    return octoprint_pool.take(1)[0]


@pytest.fixture
def two_octoprints(octoprint_pool) -> list[VirtualOctoPrint]:
    """Two running, reset OctoPrints."""
    return octoprint_pool.take(2)
