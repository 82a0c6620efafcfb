"""The run manager: customer optimization runs off the request thread.

Each run is one :func:`~configurator.services.design.service.run_request` in a worker process
(a ``ProcessPoolExecutor`` with a ``forkserver``/``spawn`` context by default, a Dask
cluster when ``Settings.dask_address`` is set). The worker streams its
:class:`~configurator.engines.optimize.ProgressEvent` s back through a *channel* (a
``multiprocessing.Manager`` queue, or a ``distributed.Queue`` on Dask) and polls the
channel's stop flag between generations, which is how ``DELETE /runs/{id}`` cancels.

In the server, one pump thread per run moves channel messages into the run's event log;
server-sent-event streams read that log (:meth:`RunManager.stream`), so any number of
browsers can watch one run and a late subscriber replays everything from the start.

Limits (:class:`RunLimits`, from ``Settings``): at most ``max_concurrent_runs`` queued or
running runs (:class:`~configurator.errors.RateLimitError`, HTTP 429), 100 to
``max_evals_per_run`` evaluations and at most 50 designs per run
(:class:`~configurator.errors.RequirementsError` on ``evals``/``top``, HTTP 422), a wall-clock
cap ``run_time_cap_s`` per run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from distributed import Client

from configurator.adapters.run_channels import DaskChannel, ProcessChannel
from configurator.errors import (
    ConfiguratorError,
    NotFoundError,
    OptimizationError,
    RateLimitError,
    RequirementsError,
)
from configurator.services.design.request import (
    DEFAULT_EVALS,
    DEFAULT_TOP,
    DesignRequest,
    RunContext,
)
from configurator.services.design.service import run_request
from configurator.services.estimate.service import model_dir

log = logging.getLogger(__name__)

RunStatus = Literal["queued", "running", "done", "infeasible", "cancelled", "failed"]
TERMINAL: frozenset[str] = frozenset({"done", "infeasible", "cancelled", "failed"})
#: finished runs kept in memory (oldest dropped first)
KEEP_FINISHED = 500
#: a server's smallest evaluation budget (one small population) and most designs per run
SERVER_MIN_EVALS = 100
SERVER_MAX_TOP = 50


@dataclass(frozen=True)
class RunLimits:
    """What this server runs (from ``Settings``): evaluations per run ``min_evals`` ..
    ``max_evals`` (422 on ``evals`` past them), designs per run up to ``max_top`` (422 on
    ``top``), ``max_concurrent`` queued or running runs (429), ``time_cap_s`` per run."""

    min_evals: int
    max_evals: int
    default_evals: int
    max_top: int
    default_top: int
    max_concurrent: int
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
            max_concurrent=int(settings.max_concurrent_runs),
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


def execute_run(request: DesignRequest, context: RunContext, channel: Any) -> Any:
    """Worker entry point: run ``request`` through the design service, streaming progress.

    Returns the ``OptimizationResult`` (picklable). Runs in a pool process or Dask worker.
    """
    channel.put("status", {"status": "running"})
    last = [0.0]

    def on_progress(event: Any) -> None:
        now = time.monotonic()
        # at most ~20 messages a second (plus the final one, see below)
        if now - last[0] >= 0.05 or event.fraction >= 1.0:
            last[0] = now
            channel.put("progress", event.model_dump(mode="json"))

    return run_request(request, context, on_progress=on_progress, should_stop=channel.stopped)


# --------------------------------------------------------------------------- runs
@dataclass
class RunEvent:
    """One server-sent event: ``seq`` (SSE id, from 1), ``kind`` (SSE event), ``data``."""

    seq: int
    kind: str
    data: dict[str, Any]

    def sse(self) -> str:
        return f"id: {self.seq}\nevent: {self.kind}\ndata: {json.dumps(self.data)}\n\n"


@dataclass
class Run:
    """A run's state in the server (mutated by its pump thread under ``lock``)."""

    id: str
    catalog_id: str
    request: DesignRequest
    context: RunContext
    pareto: bool
    status: RunStatus = "queued"
    message: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    progress: dict[str, Any] | None = None
    result: Any = None
    events: list[RunEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    channel: Any = field(default=None, repr=False)
    future: Any = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def add_event(self, kind: str, data: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(RunEvent(len(self.events) + 1, kind, data))

    def events_after(self, seq: int) -> list[RunEvent]:
        with self.lock:
            return self.events[seq:]


class RunManager:
    """Starts, tracks, streams and cancels runs. Thread-safe; one per server.

    ``executor``: an object with ``submit(fn, *args) -> Future`` (default: a process pool
    of ``settings.run_workers`` workers, or a Dask client when ``settings.dask_address``).
    ``on_records(records)``: called with the design records of every finished run (the
    web app files them in its :class:`~configurator.services.design.book.DesignBook`).
    """

    def __init__(
        self,
        settings: Any,
        *,
        executor: Any = None,
        on_records: Callable[[list[Any]], None] | None = None,
    ):
        self.settings = settings
        self.limits = RunLimits.of(settings)
        self.on_records = on_records
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._executor = executor
        self._owns_executor = executor is None
        self._manager: Any = None
        self._dask: Any = None
        self._closed = False

    # ------------------------------------------------------------------ plumbing
    def _ensure_backend(self) -> None:
        if self._executor is not None:
            if self._manager is None and self._dask is None:
                self._manager = multiprocessing.get_context("spawn").Manager()
            return
        if self.settings.dask_address:
            self._dask = Client(self.settings.dask_address, set_as_default=False)
            self._executor = self._dask
            return
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._executor = ProcessPoolExecutor(max_workers=self.settings.run_workers, mp_context=ctx)
        self._manager = multiprocessing.get_context("spawn").Manager()

    def _new_channel(self, run_id: str) -> Any:
        if self._dask is not None:
            return DaskChannel(self._dask, run_id)
        return ProcessChannel(self._manager)

    @property
    def backend(self) -> str:
        """``"process"`` or ``"dask"`` (after the first run), or ``"idle"``."""
        if self._dask is not None:
            return "dask"
        return "process" if self._executor is not None else "idle"

    # ------------------------------------------------------------------ API
    def active_count(self) -> int:
        """Runs queued or running now."""
        with self._lock:
            return self._active_locked()

    def _active_locked(self) -> int:
        return sum(1 for r in self._runs.values() if not r.finished)

    def check_limits(self, request: DesignRequest, *, active: int | None = None) -> None:
        """Raise before starting: evaluation budget and designs (422), concurrent runs (429)."""
        self.limits.check(request)
        active = self.active_count() if active is None else active
        if active >= self.limits.max_concurrent:
            raise RateLimitError(
                f"{self.limits.max_concurrent} searches are already running, the most this "
                "server runs at once."
            )

    def submit(self, request: DesignRequest, *, catalog: Any, farm: Any = None) -> Run:
        """Start a run of ``request`` on ``catalog`` (loaded; the worker loads the same file),
        limited to what ``farm`` (a FarmProfile) can make; returns at once, ``queued``."""
        context = RunContext(
            catalog_path=str(catalog.path) if catalog.path else None,
            catalog_dir=str(self.settings.catalog_dir),
            model_dir=str(model_dir(self.settings)),
            time_cap_s=self.limits.time_cap_s,
            farm=farm,
        )
        n_obj = len(request.objectives or catalog.objectives)
        pareto = request.weights is None and n_obj > 1
        with self._lock:
            if self._closed:
                raise OptimizationError("the server is shutting down")
            # checked under the lock: no race past the limit
            self.check_limits(request, active=self._active_locked())
            self._ensure_backend()
            run = Run(
                id=secrets.token_urlsafe(12),
                catalog_id=catalog.id,
                request=request,
                context=context,
                pareto=pareto,
            )
            run.channel = self._new_channel(run.id)
            run.add_event("status", {"status": "queued"})
            self._runs[run.id] = run
            self._trim_runs()
        try:
            run.future = self._executor.submit(execute_run, request, context, run.channel)
        except Exception as exc:  # pool broken / cluster gone
            self._finish(run, "failed", f"could not start the run: {exc}")
            return run
        threading.Thread(target=self._pump, args=(run,), name=f"run-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: str) -> Run:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise NotFoundError(f"no run {run_id!r}")
        return run

    def cancel(self, run_id: str) -> Run:
        """Ask a run to stop; it ends with status ``cancelled`` (keeping designs found)."""
        run = self.get(run_id)
        if not run.finished:
            run.channel.stop()
            if run.future is not None and run.future.cancel():  # never started
                self._finish(run, "cancelled", "Cancelled before it started.")
        return run

    async def stream(
        self,
        run_id: str,
        *,
        after: int = 0,
        is_disconnected: Callable[[], Any] | None = None,
        poll_s: float = 0.1,
        keepalive_s: float = 15.0,
    ) -> AsyncIterator[str]:
        """Server-sent-event text for a run: every event after ``after``, live, until the
        terminal ``end`` event (or the client leaves, or the server shuts down).

        ``after`` (a client's ``Last-Event-ID``) past the events issued so far resumes from
        the latest one; a client that already saw ``end`` is sent it again, so a stream of
        a finished run always ends."""
        run = self.get(run_id)
        yield "retry: 2000\n\n"
        with run.lock:
            issued = len(run.events)
            if issued and run.events[-1].kind == "end":
                issued -= 1
        seq, quiet = min(after, issued), 0.0
        while True:
            events = run.events_after(seq)
            for ev in events:
                yield ev.sse()
                seq = ev.seq
                if ev.kind == "end":
                    return
            if self._closed:
                return
            if is_disconnected is not None and await is_disconnected():
                return
            if events:
                quiet = 0.0
            else:
                quiet += poll_s
                if quiet >= keepalive_s:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
            await asyncio.sleep(poll_s)

    def shutdown(self) -> None:
        """Stop every run, then the pool / Dask client and the Manager (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            runs = [r for r in self._runs.values() if not r.finished]
        for run in runs:
            try:
                run.channel.stop()
            except Exception:
                pass
        if self._owns_executor and self._executor is not None:
            if self._dask is not None:
                self._dask.close()
            else:
                self._executor.shutdown(wait=True, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()

    # ------------------------------------------------------------------ internals
    def _trim_runs(self) -> None:
        finished = [k for k, r in self._runs.items() if r.finished]
        for key in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._runs[key]

    def _pump(self, run: Run) -> None:
        """Move channel messages into the run's events until the worker is done."""
        future: Future = run.future
        try:
            while True:
                done = future.done()
                item = self._get(run, timeout=0.02 if done else 0.2)
                if item is not None:
                    self._apply(run, *item)
                    continue
                if done:
                    break
        except Exception:  # channel gone (shutdown): fall through to the result
            log.debug("run %s: channel closed", run.id, exc_info=True)
        self._conclude(run, future)

    def _get(self, run: Run, *, timeout: float) -> tuple[str, dict[str, Any]] | None:
        if self._closed and self._manager is not None:
            return None
        return run.channel.get(timeout)

    def _apply(self, run: Run, kind: str, data: dict[str, Any]) -> None:
        if kind == "status" and data.get("status") == "running":
            with run.lock:
                if run.status == "queued":
                    run.status = "running"
                    run.started_at = time.time()
        elif kind == "progress":
            with run.lock:
                run.progress = data
        run.add_event(kind, data)

    def _conclude(self, run: Run, future: Any) -> None:
        if run.finished:
            return
        try:
            result = future.result()
        except ConfiguratorError as exc:
            self._finish(run, "failed", str(exc), error=exc)
            return
        except BaseException as exc:  # noqa: BLE001 - a crashed worker must not kill the pump
            if type(exc).__name__ == "CancelledError" or self._closed:
                self._finish(run, "cancelled", "Cancelled.")
            else:
                log.exception("run %s crashed", run.id)
                self._finish(run, "failed", f"internal error: {type(exc).__name__}: {exc}")
            return
        if self.on_records is not None and result.records:
            try:
                self.on_records(list(result.records))
            except Exception:  # filing must not lose the run's result
                log.exception("run %s: could not file its designs", run.id)
        n = len(result.records)
        if result.status == "ok":
            status, message = "done", f"Found {n} design{'s' if n != 1 else ''}."
        elif result.status == "infeasible":
            status = "infeasible"
            message = (
                result.infeasibility.summary if result.infeasibility else "No feasible design."
            )
        else:
            status = "cancelled"
            message = f"Cancelled; kept {n} feasible design{'s' if n != 1 else ''} found so far."
        with run.lock:
            run.result = result
        self._finish(run, status, message)

    def _finish(self, run: Run, status: RunStatus, message: str, *, error: Any = None) -> None:
        with run.lock:
            if run.status in TERMINAL:
                return
            run.status = status
            run.message = message
            run.finished_at = time.time()
        data: dict[str, Any] = {"status": status, "message": message}
        if isinstance(error, RequirementsError):
            data["fields"] = error.fields
        run.add_event("end", data)
        try:
            run.channel.close()
        except Exception:
            pass
