"""Orders: a design, a material, a quantity and a priority -> print jobs on the farm.

An order is its unguessable token (``secrets.token_urlsafe(24)``, 192 random bits) and
the farm jobs that carry it (one job per piece, submitted through
:meth:`~configurator.services.farm.service.FarmService.submit_jobs` with ``order_token``), so
the farm store is the only record of it and the order page always shows the jobs' live
state: node, position in that node's queue and estimated finish — or why a piece waits —
and, once printed, the printer that made it with its actual start and finish.

An order the farm cannot make (no registered node prints the material, or none has room
for the plate) is refused with 409 (:class:`~configurator.errors.NoCapableNodeError`),
checked in the transaction that creates the jobs.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from configurator.errors import NotFoundError
from configurator.services import geometry
from configurator.services.quotes import (
    MAX_QUANTITY,
    design_record,
    iso,
    job_technology,
    piece_of,
)

__all__ = ["MAX_QUANTITY", "OrderCreate", "OrderJob", "OrderPublic", "OrderService", "iso"]
#: customer priority -> farm job priority (higher first in a node's queue)
PRIORITIES: dict[str, int] = {"low": -1, "normal": 0, "rush": 10}
Priority = Literal["low", "normal", "rush"]


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"design_id": "3f2a…", "material": "PETG", "quantity": 2, "priority": "normal"}
            ]
        },
    )

    design_id: str = Field(min_length=8, max_length=128)
    material: str | None = Field(default=None, description="default: the design's material")
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, strict=True)
    priority: Priority = "normal"


class OrderJob(BaseModel):
    """One piece of an order: its farm job and where it stands."""

    job_id: int
    piece: int = Field(description="1-based piece number")
    state: str = Field(examples=["assigned"])
    node_id: str | None = None
    node_name: str | None = None
    queue_position: int | None = Field(default=None, description="0 = printing now or next")
    est_start: float | None = Field(default=None, description="POSIX seconds")
    est_finish: float | None = Field(default=None, description="POSIX seconds")
    started_at: float | None = Field(default=None, description="actual start, POSIX seconds")
    finished_at: float | None = Field(
        default=None, description="actual finish (done, failed, cancelled), POSIX seconds"
    )
    waiting_reason: str | None = Field(
        default=None, description="why a waiting (queued) piece has no printer yet"
    )
    late: bool = False
    est_seconds: float = Field(description="print time on a speed-1 node, s")
    grams: float


class OrderPublic(BaseModel):
    token: str
    url: str = Field(examples=["/orders/Qm9…"])
    design_id: str
    catalog_id: str | None = None
    material: str
    quantity: int
    priority: Priority
    created_at: float
    state: Literal["in progress", "done", "needs attention"]
    jobs: list[OrderJob]
    price_each: float | None = None
    price_total: float | None = None
    currency: str = "EUR"
    est_finish: float | None = Field(default=None, description="when the last piece should be done")
    ready_by: str | None = Field(
        default=None, description="est_finish as ISO 8601 UTC (what a quote's ready_by promised)"
    )
    finished_at: float | None = Field(default=None, description="when the last piece was done")
    waiting_reason: str | None = Field(default=None, description="why a piece waits, if one does")
    reprint_of: str | None = Field(
        default=None, description="the token of the order this one reprints exactly"
    )
    links: dict[str, str]


_PRIORITY_NAMES = {v: k for k, v in PRIORITIES.items()}


class OrderService:
    """Places and reads orders. ``farm``: a FarmService; ``book``: the DesignBook."""

    def __init__(self, *, farm: Any, book: Any, catalogs: Any = None):
        self.farm = farm
        self.book = book
        self.catalogs = catalogs

    def place(self, order: OrderCreate) -> OrderPublic:
        """Create one print job per piece; returns the order (jobs already routed).

        RequirementsError on ``design_id``/``material``, EstimateError (503) without an
        estimate, NoCapableNodeError (409) when the farm cannot make it."""
        record = design_record(self.book, order.design_id)
        piece = piece_of(self.book, self.catalogs, record, order.material)
        data = self.book.file_bytes(record, "3mf")
        self.remember(record, data)
        token = secrets.token_urlsafe(24)
        # all pieces in one transaction: a failure leaves no orphan job without a token
        self.farm.submit_jobs(
            design_id=record.design_id,
            material=piece.material,
            technology=piece.technology or job_technology(piece.material),
            bbox=piece.bbox,
            est_seconds=piece.est_seconds,
            grams=piece.grams,
            file_bytes=data,
            file_name=f"{record.catalog_id}-{record.design_id[:12]}.3mf",
            priority=PRIORITIES[order.priority],
            labels=[
                f"{record.catalog_id} piece {piece_no}/{order.quantity}"
                for piece_no in range(1, order.quantity + 1)
            ],
            order_token=token,
            actor="order",
            require_makeable=True,
        )
        return self.get(token)

    def remember(self, record: Any, plate: bytes) -> None:
        """Keep the design's provenance for its production record: the catalog version,
        the generator identity, the sha256 of each part's STL and of the plate file."""
        versions = getattr(self.book, "versions", None)
        if versions is None:
            return
        catalog = self.book.catalog(record)
        hashes = None
        if catalog is not None:
            hashes = geometry.parts_sha256(geometry.build_design(catalog, record))
        versions.remember(
            record, catalog, parts_sha256=hashes, file_sha256=hashlib.sha256(plate).hexdigest()
        )

    def get(self, token: str) -> OrderPublic:
        """The order and its jobs' live state; :class:`NotFoundError` for unknown tokens."""
        if not token or len(token) > 128:
            raise NotFoundError("no such order")
        jobs = self.farm.jobs_for_order(token)
        if not jobs:
            raise NotFoundError("no such order")
        out_jobs = []
        for piece, job in enumerate(jobs, start=1):
            place = self.farm.job_status(job.id)
            out_jobs.append(
                OrderJob(
                    job_id=job.id,
                    piece=piece,
                    state=str(place.state),
                    node_id=place.node_id,
                    node_name=place.node_name,
                    queue_position=place.position,
                    est_start=place.est_start,
                    est_finish=place.est_finish,
                    started_at=place.started_at,
                    finished_at=place.finished_at,
                    waiting_reason=place.waiting_reason,
                    late=bool(place.late),
                    est_seconds=job.est_seconds,
                    grams=job.grams,
                )
            )
        first = jobs[0]
        states = {j.state for j in out_jobs}
        if states == {"done"}:
            state = "done"
        elif states & {"failed", "cancelled"}:
            state = "needs attention"
        else:
            state = "in progress"
        price_each = currency = None
        catalog_id = None
        try:
            record = self.book.record(first.design_id)
            catalog_id = record.catalog_id
            est = self.book.estimate(record, first.material)
            price_each, currency = est.price, est.currency
        except NotFoundError:
            pass
        finishes = [j.est_finish for j in out_jobs if j.est_finish is not None]
        est_finish = (
            max(finishes)
            if finishes and state == "in progress" and len(finishes) == len(out_jobs)
            else None
        )
        done_at = [j.finished_at for j in out_jobs if j.state == "done" and j.finished_at]
        waiting = next((j.waiting_reason for j in out_jobs if j.waiting_reason), None)
        return OrderPublic(
            token=token,
            url=f"/orders/{token}",
            design_id=first.design_id,
            catalog_id=catalog_id,
            material=first.material,
            quantity=len(jobs),
            priority=_PRIORITY_NAMES.get(first.priority, "normal"),  # type: ignore[arg-type]
            created_at=first.created_at,
            state=state,
            jobs=out_jobs,
            price_each=price_each,
            price_total=None if price_each is None else round(price_each * len(jobs), 2),
            currency=currency or "EUR",
            est_finish=est_finish,
            ready_by=None if est_finish is None else iso(est_finish).isoformat(),  # type: ignore[union-attr]
            finished_at=max(done_at) if done_at and state == "done" else None,
            waiting_reason=waiting,
            reprint_of=first.reprint_of,
            links={
                "self": f"/api/v1/orders/{token}",
                "page": f"/orders/{token}",
                "record": f"/api/v1/orders/{token}/record",
                "record_page": f"/orders/{token}/record",
                "stl": f"/api/v1/designs/{first.design_id}.stl",
                "3mf": f"/api/v1/designs/{first.design_id}.3mf",
            },
        )
