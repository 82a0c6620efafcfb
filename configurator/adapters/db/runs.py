"""Every SQL statement of optimization runs: create, claim in fair order, events, cancel,
the executing servers' heartbeats and the reaper (adapter over :class:`Store`).

One writer per run at a time: the process that claimed it (``owner``) appends its events;
any process may append the terminal event of a queued run it cancels, or of a running run
whose owner stopped heartbeating (the reaper). Appends lock the run row (``FOR UPDATE`` on
PostgreSQL; ``BEGIN IMMEDIATE`` serializes writers on SQLite), so seqs never collide.
Creates and claims take a transaction-scoped advisory lock on PostgreSQL, so the queue
bounds and the fair order hold across server processes.

Fair order of the queue: a client's n-th queued run waits behind every other client's
(n-1)-th, then oldest first (``ROW_NUMBER() OVER (PARTITION BY client ORDER BY
created_at)``, then ``created_at``). On PostgreSQL every committed change of a run's events
or of the queue is announced with ``pg_notify(NOTIFY_CHANNEL, payload)`` (payload: the run
id, or ``"queue"``), delivered at commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from configurator.adapters.db.store import Store
from configurator.adapters.db.tables import RunEventRow, RunRow, RunServerRow

RUNS_LOCK_KEY = 0x72756E73  # "runs"
NOTIFY_CHANNEL = "configurator_runs"
QUEUE_PAYLOAD = "queue"
ACTIVE = ("queued", "running")
TERMINAL = frozenset({"done", "infeasible", "cancelled", "failed"})

_FAIR_ORDER = (
    "SELECT id, client FROM (SELECT id, client, created_at, "
    "ROW_NUMBER() OVER (PARTITION BY client ORDER BY created_at, id) AS rk "
    "FROM runs WHERE status = 'queued') q ORDER BY rk, created_at, id"
)


@dataclass(frozen=True)
class QueueCounts:
    """What a new run is checked against: queued runs in the store, the client's queued or
    running runs, the client's runs created in the last minute."""

    queued: int
    client_active: int
    client_last_minute: int


@dataclass(frozen=True)
class Capacity:
    """Runs executing now, the slots of the live servers, the mean run time (s) of recent
    finished runs (None when none has finished yet)."""

    running: int
    slots: int
    mean_run_s: float | None


class RunStore:
    """Runs and their events in the database of ``store``."""

    def __init__(self, store: Store):
        self.store = store
        self.postgres = not store.is_sqlite

    # ------------------------------------------------------------------ helpers
    def _lock(self, s: Session) -> None:
        if self.postgres:
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RUNS_LOCK_KEY})

    def _notify(self, s: Session, payloads: Iterable[str]) -> None:
        if self.postgres:
            for p in dict.fromkeys(payloads):
                s.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": p})

    @staticmethod
    def _add_events(
        s: Session, run: RunRow, events: Sequence[tuple[str, dict[str, Any]]], now: float
    ) -> None:
        for kind, data in events:
            run.last_seq += 1
            s.add(RunEventRow(run_id=run.id, seq=run.last_seq, kind=kind, data=data, at=now))

    def _locked_run(self, s: Session, run_id: str) -> RunRow | None:
        stmt = select(RunRow).where(RunRow.id == run_id).with_for_update()
        return s.scalars(stmt.execution_options(populate_existing=True)).first()

    # ------------------------------------------------------------------ create / read
    def counts(self, s: Session, client: str, now: float) -> QueueCounts:
        queued = s.scalar(select(func.count()).where(RunRow.status == "queued"))
        active = s.scalar(
            select(func.count()).where(RunRow.client == client, RunRow.status.in_(ACTIVE))
        )
        recent = s.scalar(
            select(func.count()).where(RunRow.client == client, RunRow.created_at > now - 60.0)
        )
        return QueueCounts(int(queued or 0), int(active or 0), int(recent or 0))

    def create(
        self, run: dict[str, Any], *, check: Any, first_event: Any, now: float, lease_s: float
    ) -> RunRow:
        """Insert a queued run (``run``: its columns) in one transaction under the runs
        lock: ``check(counts)`` raises to refuse it; ``first_event(ahead, capacity)`` builds
        its first event ``(kind, data)`` from the runs ahead of it in fair order."""
        with self.store.transaction() as s:
            self._lock(s)
            check(self.counts(s, run["client"], now))
            row = RunRow(**run, status="queued", created_at=now, last_seq=0, cancel_requested=False)
            s.add(row)
            s.flush()
            order = [r[0] for r in s.execute(text(_FAIR_ORDER))]
            ahead = order.index(row.id) if row.id in order else 0
            event = first_event(ahead, self._capacity(s, now, lease_s))
            self._add_events(s, row, [event], now)
            self._notify(s, [QUEUE_PAYLOAD])
        return row

    def get(self, run_id: str) -> RunRow | None:
        with self.store.transaction() as s:
            return s.get(RunRow, run_id)

    def events_after(self, run_id: str, seq: int, limit: int = 500) -> list[RunEventRow]:
        """Events of ``run_id`` with seq > ``seq``, in order (at most ``limit``)."""
        with self.store.transaction() as s:
            stmt = (
                select(RunEventRow)
                .where(RunEventRow.run_id == run_id, RunEventRow.seq > seq)
                .order_by(RunEventRow.seq)
                .limit(limit)
            )
            return list(s.scalars(stmt))

    def last_seqs(self, run_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """``{run_id: (last_seq, status)}`` of the given runs (the polling transport)."""
        if not run_ids:
            return {}
        with self.store.transaction() as s:
            rows = s.execute(
                select(RunRow.id, RunRow.last_seq, RunRow.status).where(RunRow.id.in_(run_ids))
            )
            return {r[0]: (int(r[1]), str(r[2])) for r in rows}

    def queue_order(self, limit: int = 100_000) -> list[str]:
        """Ids of the queued runs in fair order (next first)."""
        with self.store.transaction() as s:
            return [r[0] for r in s.execute(text(_FAIR_ORDER + " LIMIT :n"), {"n": limit})]

    def capacity(self, now: float, lease_s: float) -> Capacity:
        """Runs executing, live slots (servers seen within ``lease_s``), mean run time."""
        with self.store.transaction() as s:
            return self._capacity(s, now, lease_s)

    @staticmethod
    def _capacity(s: Session, now: float, lease_s: float, recent: int = 50) -> Capacity:
        running = s.scalar(select(func.count()).where(RunRow.status == "running"))
        slots = s.scalar(
            select(func.coalesce(func.sum(RunServerRow.slots), 0)).where(
                RunServerRow.seen_at >= now - lease_s
            )
        )
        durations = s.execute(
            select(RunRow.finished_at - RunRow.started_at)
            .where(RunRow.status == "done", RunRow.started_at.is_not(None))
            .order_by(RunRow.finished_at.desc())
            .limit(recent)
        ).all()
        values = [float(d[0]) for d in durations if d[0] is not None]
        return Capacity(
            running=int(running or 0),
            slots=int(slots or 0),
            mean_run_s=sum(values) / len(values) if values else None,
        )

    # ------------------------------------------------------------------ execution
    def claim(self, owner: str, n: int, now: float) -> list[RunRow]:
        """Take up to ``n`` queued runs in fair order for ``owner`` (status ``running``,
        with a ``running`` status event each)."""
        if n <= 0:
            return []
        with self.store.transaction() as s:
            self._lock(s)
            ids = [r[0] for r in s.execute(text(_FAIR_ORDER + " LIMIT :n"), {"n": n})]
            if not ids:
                return []
            rows = list(
                s.scalars(
                    select(RunRow)
                    .where(RunRow.id.in_(ids), RunRow.status == "queued")
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
            for row in rows:
                row.status, row.owner, row.started_at, row.touched_at = "running", owner, now, now
                self._add_events(s, row, [("status", {"status": "running"})], now)
            self._notify(s, [QUEUE_PAYLOAD, *(r.id for r in rows)])
        rows.sort(key=lambda r: ids.index(r.id))
        return rows

    def append(
        self,
        run_id: str,
        events: Sequence[tuple[str, dict[str, Any]]],
        now: float,
        *,
        owner: str | None = None,
        **columns: Any,
    ) -> RunRow | None:
        """Append ``events`` and set ``columns`` (progress, status, message, result,
        finished_at ...). With ``owner``: only while that process still owns the run and it
        is not finished (None otherwise: the run was reaped or cancelled meanwhile)."""
        with self.store.transaction() as s:
            run = self._locked_run(s, run_id)
            if run is None or run.status in TERMINAL:
                return None
            if owner is not None and run.owner != owner:
                return None
            for key, value in columns.items():
                setattr(run, key, value)
            run.touched_at = now
            self._add_events(s, run, events, now)
            self._notify(s, [run_id] + ([QUEUE_PAYLOAD] if run.status in TERMINAL else []))
            return run

    def request_cancel(self, run_id: str, now: float, *, end: dict[str, Any]) -> RunRow | None:
        """Flag a run for cancelling; a queued run ends at once with the ``end`` event data."""
        with self.store.transaction() as s:
            run = self._locked_run(s, run_id)
            if run is None or run.status in TERMINAL:
                return run
            run.cancel_requested = True
            if run.status == "queued":
                run.status, run.message, run.finished_at = end["status"], end["message"], now
                self._add_events(s, run, [("end", end)], now)
                self._notify(s, [run_id, QUEUE_PAYLOAD])
            else:
                self._notify(s, [f"cancel:{run_id}"])
            return run

    def cancel_flags(self, owner: str) -> set[str]:
        """Ids of ``owner``'s running runs that someone asked to cancel."""
        with self.store.transaction() as s:
            stmt = select(RunRow.id).where(
                RunRow.owner == owner, RunRow.status == "running", RunRow.cancel_requested
            )
            return set(s.scalars(stmt))

    # ------------------------------------------------------------------ servers
    def heartbeat(self, server: dict[str, Any], now: float) -> None:
        """Insert or refresh the row of an executing server process (``seen_at = now``)."""
        with self.store.transaction() as s:
            row = s.get(RunServerRow, server["id"])
            if row is None:
                s.add(RunServerRow(**server, started_at=now, seen_at=now))
            else:
                row.seen_at, row.slots = now, server["slots"]

    def remove_server(self, server_id: str) -> None:
        with self.store.transaction() as s:
            s.execute(delete(RunServerRow).where(RunServerRow.id == server_id))

    def orphans(self, now: float, lease_s: float) -> list[tuple[str, str | None, float | None]]:
        """Running runs whose owner has not heartbeated within ``lease_s``:
        ``(run id, owner, owner's last heartbeat or None)``."""
        with self.store.transaction() as s:
            live = {r[0]: r[1] for r in s.execute(select(RunServerRow.id, RunServerRow.seen_at))}
            rows = s.execute(select(RunRow.id, RunRow.owner).where(RunRow.status == "running"))
            return [
                (rid, owner, live.get(owner))
                for rid, owner in rows
                if owner is None or live.get(owner, -1.0) < now - lease_s
            ]

    def forget_servers(self, before: float) -> None:
        """Drop server rows not seen since ``before`` (their runs were reaped)."""
        with self.store.transaction() as s:
            s.execute(delete(RunServerRow).where(RunServerRow.seen_at < before))

    def purge(self, before: float) -> int:
        """Delete finished runs (and their events) that finished before ``before``."""
        with self.store.transaction() as s:
            ids = list(
                s.scalars(
                    select(RunRow.id).where(
                        RunRow.finished_at.is_not(None), RunRow.finished_at < before
                    )
                )
            )
            if ids:
                s.execute(delete(RunEventRow).where(RunEventRow.run_id.in_(ids)))
                s.execute(delete(RunRow).where(RunRow.id.in_(ids)))
            return len(ids)

    def mark_owner_runs(self, owner: str, status: str, message: str, now: float) -> list[str]:
        """End every running run of ``owner`` (its server is shutting down)."""
        with self.store.transaction() as s:
            ids = list(
                s.scalars(
                    select(RunRow.id).where(RunRow.owner == owner, RunRow.status == "running")
                )
            )
        out = []
        end = {"status": status, "message": message}
        for rid in ids:
            if self.append(rid, [("end", end)], now, owner=owner, status=status,
                           message=message, finished_at=now) is not None:  # fmt: skip
                out.append(rid)
        return out


__all__ = [
    "ACTIVE",
    "NOTIFY_CHANNEL",
    "QUEUE_PAYLOAD",
    "TERMINAL",
    "Capacity",
    "QueueCounts",
    "RunStore",
]
