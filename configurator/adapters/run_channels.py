"""Run channels: how a worker process or Dask task streams a run's events back to the
server, and how the server asks it to stop (adapter: multiprocessing / Dask I/O).

Both channels have the same shape: ``put(kind, data)`` (worker side), ``get(timeout)``
-> ``(kind, data)`` or None (server side), ``stop()`` / ``stopped()`` (the cancel flag the
worker polls between generations), ``close()``.
"""

from __future__ import annotations

import queue as queue_mod
from typing import Any

from distributed import Event, Queue


class ProcessChannel:
    """Worker -> server messages over a ``multiprocessing.Manager`` queue; stop flag is a
    Manager ``Event``. Both are proxies, so the channel pickles into a pool worker."""

    def __init__(self, manager: Any):
        self.queue = manager.Queue()
        self.stop_event = manager.Event()

    def put(self, kind: str, data: dict[str, Any]) -> None:
        self.queue.put((kind, data))

    def get(self, timeout: float) -> tuple[str, dict[str, Any]] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue_mod.Empty:
            return None

    def stop(self) -> None:
        self.stop_event.set()

    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def close(self) -> None:
        pass


class DaskChannel:
    """The same channel over Dask's ``distributed.Queue`` and ``distributed.Event``
    (named, so they re-attach on the worker through its client)."""

    def __init__(self, client: Any, name: str):
        self.queue = Queue(f"configurator-run-{name}", client=client)
        self.stop_event = Event(f"configurator-stop-{name}", client=client)

    def put(self, kind: str, data: dict[str, Any]) -> None:
        self.queue.put((kind, data))

    def get(self, timeout: float) -> tuple[str, dict[str, Any]] | None:
        try:
            item = self.queue.get(timeout=timeout)
        except TimeoutError:
            return None
        return tuple(item)  # type: ignore[return-value]

    def stop(self) -> None:
        self.stop_event.set()

    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def close(self) -> None:
        try:
            self.stop_event.clear()
        except Exception:  # the cluster may be gone already
            pass
