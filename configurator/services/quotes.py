"""Quotes: what a design costs in a material and when the farm would have it ready.

:func:`piece_of` is what a quote and an order both need of one piece: the catalog
material's technology, the print estimate (seconds on a speed-1 node, grams, price) and the
print plate's extents (the job's bounding box). :class:`QuoteService` plans ``quantity``
such pieces on the farm's current state with the router's own earliest-finish policy
(:meth:`~configurator.services.farm.capabilities.CapabilitiesMixin.quote`), so an order
placed right after is routed where the quote said and shows the same ``ready_by``.

Units: seconds, grams, mm; currency units; instants ISO 8601 UTC in the public model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from configurator.core.farm.models import technology_of as material_technology
from configurator.errors import EstimateError, NotFoundError, RequirementsError

#: most pieces per order or quote
MAX_QUANTITY = 20


@dataclass(frozen=True)
class Piece:
    """One piece of a design in a material: ``technology``, ``est_seconds`` (speed-1
    node), ``grams``, ``bbox`` (x, y, z mm of the print plate), ``price`` per piece."""

    record: Any
    material: str
    technology: str | None
    est_seconds: float
    grams: float
    bbox: tuple[float, float, float]
    price: float | None
    currency: str


def catalog_technology(catalogs: Any, record: Any, material: str) -> str | None:
    """The technology of ``material`` in the record's catalog (None when the catalog is
    unknown here); :class:`RequirementsError` on ``material`` when it does not offer it."""
    catalog = catalogs.all().get(record.catalog_id) if catalogs is not None else None
    if catalog is None:
        return None
    if material not in catalog.materials:
        raise RequirementsError(
            {"material": f"not offered for this product (one of {', '.join(catalog.materials)})"}
        )
    return catalog.materials[material].technology


def design_record(book: Any, design_id: str) -> Any:
    """The design record; :class:`RequirementsError` on ``design_id`` when unknown."""
    try:
        return book.record(design_id)
    except NotFoundError:
        raise RequirementsError({"design_id": "unknown design; generate it first"}) from None


def piece_of(book: Any, catalogs: Any, record: Any, material: str | None) -> Piece:
    """One piece of ``record`` in ``material`` (default: the design's); raises
    :class:`RequirementsError` (``material``) or :class:`EstimateError` (no estimate)."""
    material = material or record.material
    technology = catalog_technology(catalogs, record, material)
    estimate = book.estimate(record, material)
    if estimate.error or estimate.print_time_s is None:
        raise EstimateError(f"cannot estimate this print: {estimate.error}")
    return Piece(
        record=record,
        material=material,
        technology=technology,
        est_seconds=max(float(estimate.print_time_s), 1.0),
        grams=float(estimate.material_g or 0.0),
        bbox=book.plate_extents(record),
        price=estimate.price,
        currency=estimate.currency or "EUR",
    )


def iso(t: float | None) -> datetime | None:
    """POSIX seconds -> aware UTC datetime (None stays None)."""
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


class Quote(BaseModel):
    """Price and delivery date of ``quantity`` pieces of a design, if ordered now."""

    design_id: str
    material: str
    technology: str | None
    quantity: int
    price_each: float | None = Field(examples=[12.4])
    price_total: float | None = Field(examples=[24.8])
    currency: str = "EUR"
    print_seconds: float = Field(description="one piece on the reference (speed-1) printer, s")
    grams: float = Field(description="material of one piece, g")
    ready_by: datetime | None = Field(
        description="when the last piece should be done (ISO 8601 UTC): the router's earliest "
        "finish over the capable printers, their queues and speeds included; null when every "
        "printer that could make it is out of service (waiting_reason)"
    )
    ready_in_s: float | None = Field(description="seconds from quoted_at to ready_by")
    printers: list[str | None] = Field(description="where each piece would be printed")
    waiting_reason: str | None = None
    time_scale: float = Field(
        default=1.0,
        description="demo printers play prints this many times faster than real time "
        "(ready_by already includes it); 1 for real printers",
    )
    quoted_at: datetime


class QuoteService:
    """Quotes for designs of the book on the farm (``farm``: a FarmService)."""

    def __init__(self, *, farm: Any, book: Any, catalogs: Any = None):
        self.farm = farm
        self.book = book
        self.catalogs = catalogs

    def quote(self, design_id: str, *, material: str | None, quantity: int = 1) -> Quote:
        """The quote; :class:`NotFoundError` for an unknown design, RequirementsError on
        ``material``/``quantity``, :class:`NoCapableNodeError` (409) when the farm cannot
        make it."""
        if not 1 <= quantity <= MAX_QUANTITY:
            raise RequirementsError({"quantity": f"1 to {MAX_QUANTITY} pieces"})
        record = self.book.record(design_id)
        piece = piece_of(self.book, self.catalogs, record, material)
        technology = piece.technology or job_technology(piece.material)
        plan = self.farm.quote(
            material=piece.material,
            technology=technology,
            bbox=piece.bbox,
            est_seconds=piece.est_seconds,
            grams=piece.grams,
            quantity=quantity,
            max_age_s=0.0,  # the farm as the order placed next will see it (routed alike)
        )
        now = time.time()
        # the plan is for the (cached, up to a few seconds old) farm state at ``plan.at``; an
        # order placed now starts that much later: shift it, never promise a past instant
        ready_by = None if plan.ready_by is None else plan.ready_by + max(now - plan.at, 0.0)
        ready_in = None if ready_by is None else max(ready_by - now, 0.0)
        return Quote(
            design_id=record.design_id,
            material=piece.material,
            technology=technology,
            quantity=quantity,
            price_each=piece.price,
            price_total=None if piece.price is None else round(piece.price * quantity, 2),
            currency=piece.currency,
            print_seconds=round(piece.est_seconds, 1),
            grams=round(piece.grams, 2),
            ready_by=iso(ready_by),
            ready_in_s=ready_in,
            printers=list(plan.nodes),
            waiting_reason=plan.waiting_reason,
            time_scale=plan.time_scale,
            quoted_at=iso(now),  # type: ignore[arg-type]
        )


def job_technology(material: str) -> str:
    """A material's technology when no catalog says (the farm's table)."""
    tech = material_technology(material)
    if tech is None:
        raise RequirementsError({"material": f"unknown material {material!r}"})
    return tech.value
