"""The Dask run channel: how a run's task on a Dask worker streams its events back to the
server that submitted it, and how that server asks it to stop (adapter: Dask I/O).

``put(kind, data)`` (worker side), ``get(timeout)`` -> ``(kind, data)`` or None (server
side), ``stop()`` / ``stopped()`` (the cancel flag the worker polls between generations),
``close()``. Local worker processes use their pipes instead
(:mod:`configurator.adapters.run_workers`).
"""

from __future__ import annotations

from typing import Any

from distributed import Event, Queue


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
