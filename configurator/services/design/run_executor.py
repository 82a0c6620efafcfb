"""The executor of one server process: takes queued runs from the store when a worker is
free, executes them (local worker processes, or Dask), writes their events into the store,
and fails the runs of server processes that stopped.

* **Dispatch.** A thread claims up to the free slots' worth of queued runs in fair order
  (:meth:`RunStore.claim`), woken by new runs (this process's, or any process's through
  the :class:`~configurator.services.design.run_events.EventHub`) and by freed slots, and
  at least every ``run_poll_s``.
* **Execution.** One thread per run drives a worker slot (:mod:`configurator.adapters.run_workers`)
  or a Dask future with a :class:`~configurator.adapters.run_channels.DaskChannel`; progress
  events are written to the store in batches at most every :data:`FLUSH_S`.
* **Leases.** The process heartbeats its ``run_servers`` row every :data:`BEAT_S`; any
  process fails the running runs of an owner not seen for ``run_lease_s`` (the server
  died), with the reason. A worker process that dies fails its own run at once; a run past
  its time cap plus :data:`GRACE_S` has its worker killed.
* **Cancel.** ``DELETE`` on any process sets the run's flag; the owner sees it (at once
  through the hub, else within :data:`CANCEL_POLL_S`) and asks the worker to stop.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from distributed import Client

from configurator.adapters.db.runs import RunStore
from configurator.adapters.run_channels import DaskChannel
from configurator.adapters.run_workers import Outcome, WorkerPool
from configurator.errors import ConfiguratorError, RequirementsError
from configurator.services.design.run_events import EventHub
from configurator.services.design.run_task import execute_on_dask, execute_run

log = logging.getLogger(__name__)

FLUSH_S = 0.1
BEAT_S = 1.0
CANCEL_POLL_S = 0.5
GRACE_S = 30.0
REAP_EVERY_S = 2.0
PURGE_EVERY_S = 3600.0
#: worker processes import this once, before their first run
PRELOAD = ("configurator.services.design.run_task",)


def end_of(outcome: Outcome) -> tuple[str, str, Any, dict[str, Any]]:
    """``(status, message, result, extra end-event data)`` of a worker's outcome."""
    if outcome.kind == "result":
        result = outcome.value
        n = len(result.records)
        if result.status == "ok":
            return "done", f"Found {n} design{'s' if n != 1 else ''}.", result, {}
        if result.status == "infeasible":
            info = result.infeasibility
            return "infeasible", info.summary if info else "No feasible design.", result, {}
        message = f"Cancelled; kept {n} feasible design{'s' if n != 1 else ''} found so far."
        return "cancelled", message, result, {}
    if outcome.kind == "error":
        exc = outcome.value
        extra = {"fields": exc.fields} if isinstance(exc, RequirementsError) else {}
        return "failed", str(exc), None, extra
    if outcome.kind == "died":
        return "failed", f"The search stopped: {outcome.value}.", None, {}
    if outcome.kind == "timeout":
        return "failed", f"The search stopped: {outcome.value}.", None, {}
    return "failed", f"internal error: {outcome.value}", None, {}


class RunExecutor:
    """Executes the store's queued runs on this process's workers (module docstring)."""

    def __init__(
        self,
        runs: RunStore,
        settings: Any,
        *,
        hub: EventHub,
        on_records: Callable[[list[Any]], None] | None = None,
    ):
        self.runs, self.settings, self.hub, self.on_records = runs, settings, hub, on_records
        self.slots = int(settings.run_workers)
        self.lease_s = float(settings.run_lease_s)
        self.poll_s = float(settings.run_poll_s)
        #: the dispatcher's longest sleep (s): the poll transport's interval (at least
        #: 0.25 s) on PostgreSQL, else 1 s — notifications and this process's own new runs
        #: wake it at once
        polling = hub.transport == "poll" and runs.postgres
        self.idle_s = max(self.poll_s, 0.25) if polling else 1.0
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.pool: WorkerPool | None = None
        self.dask: Any = None
        self._active: dict[str, threading.Thread] = {}
        self._stopping: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        hub.on_queue_change(self.wake)
        hub.on_cancel(self._cancel_heard)

    @property
    def backend(self) -> str:
        return "dask" if self.settings.dask_address else "process"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Heartbeat, start the workers and the dispatcher (idempotent)."""
        with self._lock:
            if self._thread is not None or self._closed.is_set():
                return
            self._beat(time.time())
            if self.settings.dask_address:
                self.dask = Client(self.settings.dask_address, set_as_default=False)
            else:
                self.pool = WorkerPool(
                    self.slots, preload=PRELOAD, nice=int(self.settings.run_worker_nice)
                )
                self.pool.start()
            self._thread = threading.Thread(target=self._loop, name="runs-dispatch", daemon=True)
            self._thread.start()
            # its own thread: a slow claim or a busy database must not stop the heartbeat
            threading.Thread(target=self._beat_loop, name="runs-heartbeat", daemon=True).start()

    def wake(self) -> None:
        self._wake.set()

    def close(self, *, wait_s: float = 5.0) -> None:
        """Stop: ask running runs to stop, wait up to ``wait_s``, fail what is left."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._wake.set()
        with self._lock:
            self._stopping.update(self._active)
            threads = list(self._active.values())
        deadline = time.monotonic() + wait_s
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.1))
        now = time.time()
        try:
            self.runs.mark_owner_runs(
                self.id, "failed", "The server stopped during the search.", now
            )
            self.runs.remove_server(self.id)
        except Exception:  # the database may be gone already
            log.warning("could not release this server's runs", exc_info=True)
        if self._thread is not None:
            self._thread.join(2)
        if self.pool is not None:
            self.pool.close()
        if self.dask is not None:
            self.dask.close()

    # ------------------------------------------------------------------ dispatch
    def _beat(self, now: float) -> None:
        server = {"id": self.id, "pid": os.getpid(), "host": socket.gethostname()[:255],
                  "slots": self.slots}  # fmt: skip
        self.runs.heartbeat(server, now)

    def _beat_loop(self) -> None:
        while not self._closed.wait(BEAT_S):
            try:
                self._beat(time.time())
            except Exception:  # the database hiccuped: the next beat retries
                log.warning("run server heartbeat failed", exc_info=True)

    def _loop(self) -> None:
        last_reap = last_cancel = last_purge = 0.0
        while not self._closed.is_set():
            now = time.time()
            try:
                if now - last_reap >= REAP_EVERY_S:
                    self._reap(now)
                    last_reap = now
                if now - last_purge >= PURGE_EVERY_S:
                    self.runs.purge(now - float(self.settings.run_retention_s))
                    last_purge = now
                with self._lock:
                    active = set(self._active)
                if active and now - last_cancel >= CANCEL_POLL_S:
                    flagged = self.runs.cancel_flags(self.id) & active
                    with self._lock:
                        self._stopping.update(flagged)
                    last_cancel = now
                self._claim(now)
            except Exception:  # the database hiccuped: try again next round
                log.exception("run dispatcher round failed")
            # woken at once by new runs (this process's, or any's through the hub) and
            # freed slots; the poll only matters for the poll transport
            self._wake.wait(self.idle_s)
            self._wake.clear()

    def _free(self) -> int:
        with self._lock:
            busy = len(self._active)
        if self.pool is not None:
            return min(self.slots - busy, self.pool.free_count())
        return self.slots - busy

    def _claim(self, now: float) -> None:
        free = self._free()
        if free <= 0 or self._closed.is_set():
            return
        for row in self.runs.claim(self.id, free, now):
            self.hub.local(row.id)
            thread = threading.Thread(
                target=self._execute, args=(row,), name=f"run-{row.id}", daemon=True
            )
            with self._lock:
                self._active[row.id] = thread
            thread.start()

    def _cancel_heard(self, run_id: str) -> None:
        with self._lock:
            if run_id in self._active:
                self._stopping.add(run_id)

    def _reap(self, now: float) -> None:
        """Fail the running runs of server processes that stopped heartbeating."""
        for run_id, owner, seen in self.runs.orphans(now, self.lease_s):
            if owner == self.id:
                continue
            since = "never seen" if seen is None else f"last seen {now - seen:.0f} s ago"
            message = f"The server process executing the search stopped ({since})."
            end = {"status": "failed", "message": message}
            if self.runs.append(run_id, [("end", end)], now, status="failed",
                                message=message, finished_at=now) is not None:  # fmt: skip
                log.warning("run %s failed: owner %s stopped", run_id, owner)
                self.hub.local(run_id)
        self.runs.forget_servers(now - max(10 * self.lease_s, 300.0))

    # ------------------------------------------------------------------ execution
    def _execute(self, row: Any) -> None:
        run_id = row.id
        pending: list[tuple[str, dict[str, Any]]] = []
        state: dict[str, Any] = {"flushed": time.monotonic(), "progress": None, "worker": None}

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "status" and data.get("status") == "started":
                state["worker"] = f"{socket.gethostname()[:40]}:{data.get('pid')}"
                self.runs.append(run_id, [], time.time(), owner=self.id, worker=state["worker"])
                return
            if kind == "progress":
                state["progress"] = data
            pending.append((kind, data))

        def flush(force: bool = False) -> None:
            if not pending or (not force and time.monotonic() - state["flushed"] < FLUSH_S):
                return
            batch = list(pending)
            pending.clear()
            state["flushed"] = time.monotonic()
            extra = {"progress": state["progress"]} if state["progress"] is not None else {}
            self.runs.append(run_id, batch, time.time(), owner=self.id, **extra)
            self.hub.local(run_id)

        def stop_requested() -> bool:
            with self._lock:
                return run_id in self._stopping

        started = time.monotonic()
        cap = row.context.get("time_cap_s")
        deadline = started + float(cap) + GRACE_S if cap else None
        try:
            if self.dask is not None:
                outcome = self._on_dask(row, on_event, stop_requested, flush)
            else:
                outcome = self._on_pool(row, on_event, stop_requested, flush, deadline)
        except Exception as exc:  # noqa: BLE001 - the run fails, the server goes on
            log.exception("run %s: executing it failed", run_id)
            outcome = Outcome("crash", f"{type(exc).__name__}: {exc}")
        try:
            flush(force=True)
            self._conclude(row, outcome)
        except Exception:
            log.exception("run %s: could not record its end", run_id)
        finally:
            with self._lock:
                self._active.pop(run_id, None)
                self._stopping.discard(run_id)
            self._wake.set()

    def _on_pool(self, row, on_event, stop_requested, flush, deadline) -> Outcome:
        assert self.pool is not None
        slot = self.pool.acquire()
        if slot is None:
            return Outcome("crash", "no free worker process")
        try:
            return slot.execute(
                execute_run,
                (row.request, row.context),
                on_event=on_event,
                stop_requested=stop_requested,
                deadline=deadline,
                on_tick=flush,
            )
        finally:
            self.pool.release(slot)

    def _on_dask(self, row, on_event, stop_requested, flush) -> Outcome:
        channel = DaskChannel(self.dask, row.id)
        future = self.dask.submit(
            execute_on_dask, row.request, row.context, channel, pure=False,
            key=f"configurator-run-{row.id}",
        )  # fmt: skip
        asked = False
        try:
            while True:
                if not asked and stop_requested():
                    channel.stop()
                    asked = True
                done = future.done()
                item = channel.get(0.02 if done else 0.1)
                if item is not None:
                    on_event(*item)
                elif done:
                    break
                flush()
            try:
                return Outcome("result", future.result())
            except ConfiguratorError as exc:
                return Outcome("error", exc)
            except Exception as exc:  # noqa: BLE001 - a lost worker, a crash
                return Outcome("died", f"its Dask task failed ({type(exc).__name__}: {exc})")
        finally:
            channel.close()

    def _conclude(self, row: Any, outcome: Outcome) -> None:
        status, message, result, extra = end_of(outcome)
        if outcome.kind not in ("result", "error"):
            log.warning("run %s failed: %s", row.id, message)
        if result is not None and result.records and self.on_records is not None:
            try:
                self.on_records(list(result.records))
            except Exception:  # filing must not lose the run's result
                log.exception("run %s: could not file its designs", row.id)
        columns: dict[str, Any] = {"status": status, "message": message, "finished_at": time.time()}
        if result is not None:
            columns["result"] = result.model_dump(mode="json")
        end = {"status": status, "message": message, **extra}
        self.runs.append(row.id, [("end", end)], time.time(), owner=self.id, **columns)
        self.hub.local(row.id)
