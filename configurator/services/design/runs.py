"""The run manager: customer optimization runs, kept in the store, queued instead of refused.

Any server process may create, read, stream and cancel any run: the run, its events and
its result live in the database (:mod:`configurator.adapters.db.runs`; SQLite for one
process, PostgreSQL for several). Each process executes queued runs on its own workers as
they free up (:class:`~configurator.services.design.run_executor.RunExecutor`), and wakes
its event streams when a run changes (:class:`~configurator.services.design.run_events.EventHub`).

A new run is queued at once: its first event says so, with its place in the queue
(``position`` 1 = next), the runs ahead of it and the expected start. The queue is fair
(a client's n-th waiting run goes after every other client's (n-1)-th). It is refused
(:class:`~configurator.errors.RateLimitError`, HTTP 429 with ``Retry-After``) only past
``max_queued_runs`` waiting runs in the store, or past a client's own limits:
``max_active_runs_per_client`` queued or running runs, ``max_runs_per_client_per_minute``
new runs. 100 to ``max_evals_per_run`` evaluations and at most 50 designs per run
(:class:`~configurator.errors.RequirementsError` on ``evals``/``top``, HTTP 422), a
wall-clock cap ``run_time_cap_s`` per run.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from configurator.adapters.db.runs import TERMINAL, Capacity, QueueCounts, RunStore
from configurator.adapters.db.store import Store
from configurator.adapters.db.tables import RunRow
from configurator.errors import NotFoundError, OptimizationError, RateLimitError, RequirementsError
from configurator.services.design.request import (
    DEFAULT_EVALS,
    DEFAULT_TOP,
    DesignRequest,
    RunContext,
)
from configurator.services.design.run_events import QUEUE_CACHE_S, EventHub
from configurator.services.design.run_executor import RunExecutor
from configurator.services.estimate.service import model_dir

__all__ = ["TERMINAL", "RunLimits", "RunManager", "queue_place"]

#: a server's smallest evaluation budget (one small population) and most designs per run
SERVER_MIN_EVALS = 100
SERVER_MAX_TOP = 50
#: the expected run time (s) before any run has finished
DEFAULT_RUN_S = 5.0


@dataclass(frozen=True)
class RunLimits:
    """What this server runs (from ``Settings``): evaluations per run ``min_evals`` ..
    ``max_evals`` (422 on ``evals`` past them), designs per run up to ``max_top`` (422 on
    ``top``), ``max_concurrent`` runs executing at once in this process, ``max_queued``
    waiting runs in the store, ``per_client`` queued or running runs and
    ``per_client_per_minute`` new runs of one client (429 past these), ``time_cap_s`` per
    run."""

    min_evals: int
    max_evals: int
    default_evals: int
    max_top: int
    default_top: int
    max_concurrent: int
    max_queued: int
    per_client: int
    per_client_per_minute: int
    time_cap_s: float

    @classmethod
    def of(cls, settings: Any) -> RunLimits:
        max_evals = int(settings.max_evals_per_run)
        return cls(
            min_evals=SERVER_MIN_EVALS,
            max_evals=max_evals,
            default_evals=min(DEFAULT_EVALS, max_evals),
            max_top=SERVER_MAX_TOP,
            default_top=DEFAULT_TOP,
            max_concurrent=int(settings.run_workers),
            max_queued=int(settings.max_queued_runs),
            per_client=int(settings.max_active_runs_per_client),
            per_client_per_minute=int(settings.max_runs_per_client_per_minute),
            time_cap_s=float(settings.run_time_cap_s),
        )

    def check(self, request: DesignRequest) -> None:
        """RequirementsError naming ``evals`` / ``top`` when the request is past a limit."""
        fields = {}
        if request.evals > self.max_evals:
            fields["evals"] = (
                f"at most {self.max_evals} evaluations per run (asked {request.evals})"
            )
        elif request.evals < self.min_evals:
            fields["evals"] = (
                f"at least {self.min_evals} evaluations per run (asked {request.evals})"
            )
        if request.top > self.max_top:
            fields["top"] = f"at most {self.max_top} designs per run (asked {request.top})"
        if fields:
            raise RequirementsError(fields)

    def admit(self, counts: QueueCounts) -> None:
        """RateLimitError when a client's new run is past a queue or client limit."""
        if counts.client_last_minute >= self.per_client_per_minute:
            raise RateLimitError(
                f"{self.per_client_per_minute} searches a minute is the most one client may start.",
                retry_after_s=10,
            )
        if counts.client_active >= self.per_client:
            raise RateLimitError(
                f"You already have {counts.client_active} searches waiting or running, the "
                "most one client may have.",
                retry_after_s=5,
            )
        if counts.queued >= self.max_queued:
            raise RateLimitError(
                f"{counts.queued} searches are waiting already, the most this service queues.",
                retry_after_s=15,
            )


def queue_place(ahead: int, cap: Capacity, *, now: float) -> dict[str, Any]:
    """The public place of a queued run with ``ahead`` runs before it: ``position`` (1 =
    next), ``ahead``, ``expected_wait_s`` and ``expected_start`` (POSIX s).

    Estimate: the first ``slots - running`` waiting runs start at once; after them a run
    waits for ``(ahead - free) // slots`` full waves of the mean recent run time, plus half
    a run (the running ones are half done on average)."""
    slots = max(cap.slots, 1)
    mean = cap.mean_run_s if cap.mean_run_s is not None else DEFAULT_RUN_S
    free = max(slots - cap.running, 0)
    wait = 0.0 if ahead < free else mean * ((ahead - free) // slots + 0.5)
    return {
        "position": ahead + 1,
        "ahead": ahead,
        "expected_wait_s": round(wait, 1),
        "expected_start": math.ceil((now + wait) * 10) / 10,  # never before now
    }


class RunManager:
    """Creates, reads, streams and cancels runs; executes queued ones on this process's
    workers once :meth:`start` ed (``create_app`` starts it with the server). Thread-safe.

    ``on_records(records)``: called with the design records of every run this process
    executed (the web app files them in its
    :class:`~configurator.services.design.book.DesignBook`)."""

    def __init__(
        self,
        settings: Any,
        store: Store,
        *,
        on_records: Callable[[list[Any]], None] | None = None,
    ):
        self.settings = settings
        self.limits = RunLimits.of(settings)
        self.runs = RunStore(store)
        self.lease_s = float(settings.run_lease_s)
        self.hub = EventHub(
            self.runs,
            transport=settings.run_events,
            poll_s=float(settings.run_poll_s),
            queue_info=self._stream_place,
        )
        self.executor = RunExecutor(self.runs, settings, hub=self.hub, on_records=on_records)
        self._capacity: tuple[float, Capacity | None] = (0.0, None)
        self._capacity_lock = threading.Lock()
        self.hub.on_queue_change(self._forget_capacity)
        self._closed = False
        self._started = False

    @property
    def backend(self) -> str:
        """``"process"`` or ``"dask"``."""
        return self.executor.backend

    def start(self, *, background: bool = False) -> None:
        """Start the event hub and the executor (idempotent); ``background``: without
        waiting for the worker processes (a server answers while they import)."""
        if self._started or self._closed:
            return
        self._started = True
        self.hub.start()
        if background:
            threading.Thread(target=self.executor.start, name="runs-start", daemon=True).start()
        else:
            self.executor.start()

    # ------------------------------------------------------------------ API
    def place_of(self, ahead: int) -> dict[str, Any]:
        """The public queue place of a run with ``ahead`` runs before it (expected start
        from the executing capacity now)."""
        now = time.time()
        return queue_place(ahead, self.runs.capacity(now, self.lease_s), now=now)

    def _stream_place(self, ahead: int) -> dict[str, Any]:
        """:meth:`place_of` for the streams of queued runs: when the queue moves they all
        ask at once, so the capacity is read at most every :data:`QUEUE_CACHE_S` per
        process (and again after a queue change this process hears of)."""
        now = time.time()
        with self._capacity_lock:
            at, capacity = self._capacity
            if capacity is None or time.monotonic() - at > QUEUE_CACHE_S:
                capacity = self.runs.capacity(now, self.lease_s)
                self._capacity = (time.monotonic(), capacity)
        return queue_place(ahead, capacity, now=now)

    def _forget_capacity(self) -> None:
        with self._capacity_lock:
            self._capacity = (0.0, None)

    def submit(
        self, request: DesignRequest, *, catalog: Any, client: str = "anonymous", farm: Any = None
    ) -> RunRow:
        """Queue a run of ``request`` on ``catalog`` (a loaded catalog: the worker loads the
        same file) for ``client``, limited to what ``farm`` (a FarmProfile) can make; returns
        it at once (status ``queued``)."""
        if self._closed:
            raise OptimizationError("the server is shutting down")
        self.limits.check(request)
        self.start()
        context = RunContext(
            catalog_path=str(catalog.path) if catalog.path else None,
            catalog_dir=str(self.settings.catalog_dir),
            model_dir=str(model_dir(self.settings)),
            time_cap_s=self.limits.time_cap_s,
            farm=farm,
        )
        n_obj = len(request.objectives or catalog.objectives)
        now = time.time()

        def first_event(ahead: int, cap: Capacity) -> tuple[str, dict[str, Any]]:
            return "status", {"status": "queued", **queue_place(ahead, cap, now=now)}

        row = self.runs.create(
            {
                "id": secrets.token_urlsafe(12),
                "catalog_id": catalog.id,
                "client": client[:64],
                "request": request.model_dump(mode="json"),
                "context": context.model_dump(mode="json"),
                "pareto": request.weights is None and n_obj > 1,
                "message": "",
            },
            check=self.limits.admit,
            first_event=first_event,
            now=now,
            lease_s=self.lease_s,
        )
        self.hub.local("queue")
        return row

    def get(self, run_id: str) -> RunRow:
        row = self.runs.get(run_id) if len(run_id) <= 32 else None
        if row is None:
            raise NotFoundError(f"no run {run_id!r}")
        return row

    def place(self, row: RunRow) -> dict[str, Any] | None:
        """The queue place of a queued run (None otherwise)."""
        if row.status != "queued":
            return None
        ahead = self.hub.ahead(row.id)
        return None if ahead is None else self.place_of(ahead)

    def cancel(self, run_id: str) -> RunRow:
        """Ask a run to stop: a queued one ends at once (``cancelled``), a running one stops
        at its next generation, keeping the designs found."""
        self.get(run_id)
        end = {"status": "cancelled", "message": "Cancelled before it started."}
        row = self.runs.request_cancel(run_id, time.time(), end=end)
        if row is None:
            raise NotFoundError(f"no run {run_id!r}")
        self.hub.local(run_id, f"cancel:{run_id}", "queue")
        return row

    def stream(
        self,
        run_id: str,
        *,
        after: int = 0,
        is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[str]:
        """Server-sent-event text of a run (see :meth:`EventHub.stream`)."""
        return self.hub.stream(run_id, after=after, is_disconnected=is_disconnected)

    def shutdown(self) -> None:
        """Stop this process's runs and workers (idempotent); queued runs stay queued for
        the other processes (or the next start)."""
        if self._closed:
            return
        self._closed = True
        self.executor.close()
        self.hub.close()
