"""``/api/v1/designs``: a design's record with its estimate, and its mesh files.

``GET /designs/{id}`` is the design record (docs/INTERFACES.md) plus ``estimate`` (print
time s, material g, price) and ``links``; ``GET /designs/{id}/quote?material=M&quantity=N``
is a quote (price, print seconds, grams and ``ready_by``, planned on the farm's current
state); ``GET /designs/{id}.stl`` / ``.3mf`` are the files, built once by the geometry service and cached by design id under the data dir.
Designs are those produced by runs of this server (kept in memory and under
``data_dir/designs``). File formats come from the exporter registry
(:data:`configurator.core.export.EXPORTERS`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from configurator.core.export import EXPORTERS
from configurator.entrypoints.api.deps import BookDep, QuotesDep
from configurator.entrypoints.api.schemas.runs import design_json
from configurator.services.quotes import MAX_QUANTITY, Quote

router = APIRouter(prefix="/designs", tags=["designs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown design"}}


def _file(book: Any, design_id: str, fmt: str) -> Response:
    record = book.record(design_id)
    data = book.file_bytes(record, fmt)
    name = f"{record.catalog_id}-{design_id[:12]}.{fmt}"
    return Response(
        data,
        media_type=EXPORTERS[fmt].media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "public, max-age=86400, immutable",
            "ETag": f'"{design_id[:32]}-{fmt}"',
        },
    )


def _file_route(fmt: str) -> None:
    spec = EXPORTERS[fmt]

    def handler(design_id: str, book: BookDep) -> Response:
        return _file(book, design_id, fmt)

    handler.__name__ = f"design_{fmt}"
    router.add_api_route(
        f"/{{design_id}}.{fmt}",
        handler,
        methods=["GET"],
        response_class=Response,
        responses={200: {"content": {spec.media_type: {}}}, **NOT_FOUND},
        summary=f"The design as {spec.label}",
    )


for _fmt in EXPORTERS:  # one file route per registered format
    _file_route(_fmt)


@router.get(
    "/{design_id}/quote",
    response_model=Quote,
    summary="Price and delivery date of pieces of a design, if ordered now",
    responses={
        **NOT_FOUND,
        409: {"description": "the farm cannot make it (the detail names what is missing)"},
        422: {"description": "material not offered for this product, bad quantity"},
        503: {"description": "print estimates are unavailable"},
    },
)
def design_quote(
    design_id: str,
    quotes: QuotesDep,
    material: Annotated[
        str | None, Query(max_length=64, description="default: the design's")
    ] = None,
    quantity: Annotated[int, Query(ge=1, le=MAX_QUANTITY, description=f"1 to {MAX_QUANTITY}")] = 1,
) -> Quote:
    return quotes.quote(design_id, material=material, quantity=quantity)


@router.get("/{design_id}", summary="A design record with its estimate", responses=NOT_FOUND)
def design_detail(design_id: str, book: BookDep) -> dict[str, Any]:
    record = book.record(design_id)
    data = design_json(record)
    data["estimate"] = book.estimate(record, record.material).model_dump(mode="json")
    return data
