"""The production record (device history record) of a job or an order, one call away.

A job's record: the order (token, created, quantity, priority, what it reprints) → the
design record (catalog id, version, content hash, whether that catalog version is stored,
generator identity, requirements, parameters, material, objectives, margins, estimator) →
the sha256 of each part's mesh file and of the job file → what a connector node reported
(slicer, profile hash, G-code hash) → the node (id, name, technology, printer details) →
the material and its lot → every event with time and actor (system, node, operator) and
its chain hash → the outcome (actual seconds and grams). Anything the farm does not know
reads :data:`NOT_RECORDED`; no value is ever null.

Two audiences: ``operator`` (everything) and ``customer`` (no event data, no actor
names beyond node names, no node ids, no chain hashes, nothing about other keys).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from configurator.adapters.db.store import Store
from configurator.adapters.db.tables import JobRow, NodeRow
from configurator.core.farm.chain import actor_kind
from configurator.errors import NotFoundError
from configurator.services.trace.provenance import Provenance

NOT_RECORDED = "not recorded"
#: the connector record's keys shown as the slicing section (others follow as ``other``)
SLICING_KEYS = ("slicer", "slicer_profile", "profile_sha256", "gcode_sha256", "slicer_est_s")
PRIORITY_NAMES = {-1: "low", 0: "normal", 10: "rush"}
Audience = Literal["operator", "customer"]


def iso(t: float | None) -> str:
    """POSIX seconds as ISO 8601 UTC (``not recorded`` for None)."""
    if t is None:
        return NOT_RECORDED
    return datetime.fromtimestamp(float(t), tz=UTC).isoformat()


def filled(value: Any) -> Any:
    """``value`` with every None (and empty string) replaced by :data:`NOT_RECORDED`."""
    if isinstance(value, dict):
        return {str(k): filled(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [filled(v) for v in value]
    if value is None or value == "":
        return NOT_RECORDED
    return value


class TraceService:
    """Builds production records from the farm store and the design provenance."""

    def __init__(
        self,
        store: Store,
        provenance: Provenance,
        *,
        book: Any = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.provenance = provenance
        self.book = book
        self.clock = clock

    # ------------------------------------------------------------------ entry points
    def job_record(self, job_id: int, *, audience: Audience = "operator") -> dict[str, Any]:
        with self.store.transaction() as s:
            job = s.get(JobRow, job_id) if 0 < job_id < 2**63 else None
            if job is None:
                raise NotFoundError(f"job {job_id} not found")
            siblings = self.store.jobs_for_order(s, job.order_token) if job.order_token else [job]
            rows = self._rows(s, job)
        piece = self._piece(*rows, audience)  # outside: provenance opens its own transactions
        return filled(
            {
                "record": "production record",
                "generated_at": iso(self.clock()),
                "order": self._order(siblings),
                **piece,
            }
        )

    def order_record(self, token: str, *, audience: Audience = "customer") -> dict[str, Any]:
        if not token or len(token) > 128:
            raise NotFoundError("no such order")
        with self.store.transaction() as s:
            jobs = self.store.jobs_for_order(s, token)
            if not jobs:
                raise NotFoundError("no such order")
            rows = [self._rows(s, j) for j in jobs]
        pieces = [self._piece(*r, audience) for r in rows]
        return filled(
            {
                "record": "production record",
                "generated_at": iso(self.clock()),
                "order": self._order(jobs),
                "pieces": pieces,
            }
        )

    def record(self, ref: str, *, audience: Audience = "operator") -> dict[str, Any]:
        """The record of an order (its token) or of a job (its number)."""
        ref = ref.strip()
        if ref.isdigit() and len(ref) <= 18:
            return self.job_record(int(ref), audience=audience)
        return self.order_record(ref, audience=audience)

    # ------------------------------------------------------------------ sections
    def _order(self, jobs: list[JobRow]) -> dict[str, Any]:
        first = jobs[0]
        if not first.order_token:
            return {"token": "not an order (submitted by an operator)", "quantity": 1}
        return {
            "token": first.order_token,
            "created_at": iso(first.created_at),
            "quantity": len(jobs),
            "priority": PRIORITY_NAMES.get(first.priority, str(first.priority)),
            "reprint_of": first.reprint_of or "not a reprint (original order)",
            "page": f"/orders/{first.order_token}",
        }

    def _rows(self, s: Any, job: JobRow) -> tuple[JobRow, NodeRow | None, list[Any]]:
        node = s.get(NodeRow, job.node_id) if job.node_id else None
        return job, node, self.store.job_events(s, job.id)

    def _piece(
        self, job: JobRow, node: NodeRow | None, events: list[Any], audience: Audience
    ) -> dict[str, Any]:
        customer = audience == "customer"
        reported = dict(job.record or {})
        slicing = {k: reported.pop(k, None) for k in SLICING_KEYS}
        slicing["other"] = reported or NOT_RECORDED
        return {
            "job": {
                "id": job.id,
                "label": job.label,
                "state": job.state,
                "created_at": iso(job.created_at),
                "attempts": job.attempts,
                "est_seconds": job.est_seconds,
                "grams_estimated": job.grams,
            },
            "design": self._design(job.design_id),
            "files": {
                "parts_sha256": self._parts(job.design_id),
                "job_file": {
                    "name": job.file_name,
                    "sha256": job.file_sha256,
                    "bytes": job.file_size,
                },
            },
            "slicing": slicing,
            "node": self._node(node, customer),
            "material": {
                "name": job.material,
                "technology": job.technology,
                "lot": job.material_lot,
            },  # fmt: skip
            "history": [self._event(e, customer) for e in events],
            "outcome": {
                "state": job.state,
                "started_at": iso(job.started_at),
                "finished_at": iso(job.finished_at),
                "actual_seconds": job.actual_seconds,
                "grams_used": job.grams_used,
                "last_reason": job.last_reason,
            },
        }

    def _design(self, design_id: str) -> dict[str, Any]:
        kept = self.provenance.design(design_id)
        record = kept.record if kept is not None else self._book_record(design_id)
        if record is None:
            return {"design_id": design_id, "provenance": NOT_RECORDED}
        ident = kept.generator_identity if kept is not None else None
        stored = (
            kept.catalog_stored if kept else self.provenance.catalog_stored(record.catalog_hash)
        )
        return {
            "design_id": record.design_id,
            "catalog_id": record.catalog_id,
            "catalog_version": record.catalog_version,
            "catalog_hash": record.catalog_hash,
            "catalog_source": "stored (rebuildable)" if stored else NOT_RECORDED,
            "generator": record.generator,
            "generator_identity": ident or NOT_RECORDED,
            "requirements": dict(record.requirements),
            "parameters": {
                k: {"value": p.value, "unit": p.unit or "-"} for k, p in record.parameters.items()
            },
            "material": record.material,
            "objectives": {
                k: {"value": o.value, "unit": o.unit or "-", "sense": o.sense}
                for k, o in record.objectives.items()
            },
            "margins": {
                k: {"margin": c.margin, "satisfied": c.satisfied}
                for k, c in record.constraints.items()
            },
            "feasible": record.feasible,
            "estimator": record.estimator or "none used (no print-time model in the objectives)",
            "revalidated_from": (kept.revalidated_from if kept else None) or "not a revalidation",
            "generator_code": record.generator_code or "as first made",
        }

    def _book_record(self, design_id: str) -> Any | None:
        if self.book is None:
            return None
        try:
            return self.book.record(design_id)
        except NotFoundError:
            return None

    def _parts(self, design_id: str) -> Any:
        kept = self.provenance.design(design_id)
        return dict(kept.parts_sha256) if kept is not None and kept.parts_sha256 else None

    @staticmethod
    def _node(node: NodeRow | None, customer: bool) -> dict[str, Any]:
        if node is None:
            return {"name": NOT_RECORDED}
        out = {
            "id": node.id,
            "name": node.name,
            "technology": node.technology,
            "printer": dict(node.printer) if node.printer else None,
        }
        if customer:
            out.pop("id")
        return out

    @staticmethod
    def _event(e: Any, customer: bool) -> dict[str, Any]:
        kind = actor_kind(e.actor)
        out = {
            "at": iso(e.at),
            "kind": e.kind,
            "actor": kind,
            "by": e.actor.split(":", 1)[1] if kind == "node" else kind,
            "reason": e.reason,
        }
        if not customer:
            out.update(
                id=e.id, actor_detail=e.actor, data=e.data or {}, hash=e.hash, prev_hash=e.prev_hash
            )
        return out
