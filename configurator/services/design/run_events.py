"""How a server process learns that a run's events or the run queue changed, and the
server-sent-event stream of a run read from the store.

Every process streams from the store (``run_events``), whichever process executes the run.
An :class:`EventHub` wakes the streams (and the executor, for new queued runs):

* ``notify`` (PostgreSQL, the default there): one ``LISTEN`` connection per process hears
  the ``pg_notify`` the store sends with every committed change (payload: the run id, or
  ``queue``); a stream waiting on that run wakes at once and reads its new events. A slow
  safety poll (:data:`SAFETY_POLL_S`) covers a lost connection.
* ``poll``: every ``poll_s`` one query reads the ``last_seq`` of every run this process is
  streaming and wakes those that moved (one query per process per interval, whatever the
  number of streams).
* Changes made by this process wake its own streams directly (no round trip), so SQLite —
  one process — needs neither (it keeps the safety poll).

The choice and its measurement: docs/web.md ("Runs across processes").

Positions in the queue are not stored: a stream of a queued run sends a ``status`` event
*without an id* (``{"status": "queued", "position": ...}``) whenever its place changes, from
one fair-order query per process at most every :data:`QUEUE_CACHE_S`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from configurator.adapters.db.notify import Listener
from configurator.adapters.db.runs import NOTIFY_CHANNEL, QUEUE_PAYLOAD, TERMINAL, RunStore
from configurator.errors import NotFoundError

log = logging.getLogger(__name__)

SAFETY_POLL_S = 2.0
QUEUE_CACHE_S = 0.25
QUEUED_REFRESH_S = 1.0


def sse(kind: str, data: dict[str, Any], seq: int | None = None) -> str:
    """One server-sent event (an ``id:`` line only for stored events)."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data)}\n\n"


class Subscription:
    """A stream's wake-up flag for one run (set from any thread)."""

    def __init__(self, hub: EventHub, run_id: str):
        self.hub, self.run_id = hub, run_id
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.queued = True  # its run waits in the queue (woken when the queue moves)

    def set(self) -> None:
        self.loop.call_soon_threadsafe(self.event.set)

    def clear(self) -> None:
        self.event.clear()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            pass


class EventHub:
    """Wakes this process's streams and executor (see the module docstring).

    ``transport``: ``notify`` (PostgreSQL only) or ``poll``; ``poll_s``: the polling
    interval (s). ``queue_info(ahead) -> dict``: the public queue place of a run with
    ``ahead`` queued runs before it (from the run manager)."""

    def __init__(
        self,
        runs: RunStore,
        *,
        transport: str,
        poll_s: float,
        queue_info: Callable[[int], dict[str, Any]],
    ):
        self.runs = runs
        self.transport = transport if runs.postgres else "poll"
        self.poll_s = poll_s if self.transport == "poll" else SAFETY_POLL_S
        if runs.store.is_sqlite:
            self.poll_s = SAFETY_POLL_S  # one process: its own changes wake it
        self.queue_info = queue_info
        self._lock = threading.Lock()
        self._subs: dict[str, set[Subscription]] = {}
        self._seen: dict[str, int] = {}
        self._queue_listeners: list[Callable[[], None]] = []
        self._cancel_listeners: list[Callable[[str], None]] = []
        self._order: tuple[float, dict[str, int]] = (0.0, {})
        self._order_lock = threading.Lock()
        self._closed = threading.Event()
        self._listener: Listener | None = None
        self._poller: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._poller is not None:
            return
        if self.transport == "notify":
            self._listener = Listener(
                self.runs.store.url,
                NOTIFY_CHANNEL,
                self.on_payload,
                on_reconnect=self._wake_all,
            )
            self._listener.start()
        self._poller = threading.Thread(target=self._poll_loop, name="runs-poll", daemon=True)
        self._poller.start()

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.stop()
        self._wake_all()

    # ------------------------------------------------------------------ wake-ups
    def on_queue_change(self, fn: Callable[[], None]) -> None:
        self._queue_listeners.append(fn)

    def on_cancel(self, fn: Callable[[str], None]) -> None:
        self._cancel_listeners.append(fn)

    def on_payload(self, payload: str) -> None:
        """A change announced by the store (``run id``, ``queue`` or ``cancel:<id>``)."""
        if payload == QUEUE_PAYLOAD:
            with self._order_lock:
                self._order = (0.0, {})
            for fn in self._queue_listeners:
                fn()
            self._wake_all(queued_only=True)
        elif payload.startswith("cancel:"):
            for fn in self._cancel_listeners:
                fn(payload[7:])
        else:
            self._wake(payload)

    def local(self, *payloads: str) -> None:
        """Changes this process just committed."""
        for p in payloads:
            self.on_payload(p)

    def _wake(self, run_id: str) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for sub in subs:
            sub.set()

    def _wake_all(self, *, queued_only: bool = False) -> None:
        with self._lock:
            subs = [
                s for group in self._subs.values() for s in group if s.queued or not queued_only
            ]
        for sub in subs:
            sub.set()

    def subscribe(self, run_id: str) -> Subscription:
        sub = Subscription(self, run_id)
        with self._lock:
            self._subs.setdefault(run_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            group = self._subs.get(sub.run_id)
            if group is not None:
                group.discard(sub)
                if not group:
                    del self._subs[sub.run_id]
                    self._seen.pop(sub.run_id, None)

    def _poll_loop(self) -> None:
        while not self._closed.wait(self.poll_s):
            with self._lock:
                watched = list(self._subs)
            if not watched:
                continue
            try:
                seqs = self.runs.last_seqs(watched)
            except Exception:  # the database is away: try again next round
                log.warning("runs poll failed", exc_info=True)
                continue
            for run_id, (seq, _status) in seqs.items():
                with self._lock:
                    moved = self._seen.get(run_id) != seq
                    self._seen[run_id] = seq
                if moved:
                    self._wake(run_id)

    # ------------------------------------------------------------------ queue places
    def ahead(self, run_id: str) -> int | None:
        """Queued runs ahead of ``run_id`` in fair order (None: not queued), from one
        fair-order query per process at most every :data:`QUEUE_CACHE_S`."""
        with self._order_lock:
            at, order = self._order
            if time.monotonic() - at > QUEUE_CACHE_S:
                order = {rid: i for i, rid in enumerate(self.runs.queue_order())}
                self._order = (time.monotonic(), order)
        return order.get(run_id)

    # ------------------------------------------------------------------ the stream
    async def stream(
        self,
        run_id: str,
        *,
        after: int = 0,
        is_disconnected: Callable[[], Awaitable[bool]] | None = None,
        keepalive_s: float = 15.0,
    ) -> AsyncIterator[str]:
        """Server-sent-event text of a run: every stored event after ``after``, then live
        until its ``end`` event (or the client leaves, or the server shuts down). ``after``
        past the events issued resumes from the newest; a client that already saw ``end``
        gets it again, so the stream of a finished run always ends. While the run waits in
        the queue, its place is sent whenever it changes."""
        row = await asyncio.to_thread(self.runs.get, run_id)
        if row is None:
            raise NotFoundError(f"no run {run_id!r}")
        yield "retry: 2000\n\n"
        issued = row.last_seq - (1 if row.status in TERMINAL else 0)
        seq = min(after, issued)
        queued, sent_place = True, None
        sub = self.subscribe(run_id)
        try:
            quiet = 0.0
            while True:
                sub.clear()
                events = await asyncio.to_thread(self.runs.events_after, run_id, seq)
                for ev in events:
                    yield sse(ev.kind, ev.data, ev.seq)
                    seq = ev.seq
                    if ev.kind == "end":
                        return
                    if ev.kind == "status" and ev.data.get("status") != "queued":
                        queued = sub.queued = False
                    elif ev.kind == "status":
                        sent_place = ev.data.get("ahead")
                if queued:
                    ahead = await asyncio.to_thread(self.ahead, run_id)
                    if ahead is not None and ahead != sent_place:
                        info = await asyncio.to_thread(self.queue_info, ahead)
                        yield sse("status", {"status": "queued", **info})
                        sent_place = ahead
                if self._closed.is_set():
                    return
                if is_disconnected is not None and await is_disconnected():
                    return
                wait = QUEUED_REFRESH_S if queued else self.poll_s + 0.5
                if events:
                    quiet = 0.0
                elif quiet >= keepalive_s:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                started = time.monotonic()
                await sub.wait(min(wait, keepalive_s))
                quiet += time.monotonic() - started
        finally:
            self.unsubscribe(sub)
