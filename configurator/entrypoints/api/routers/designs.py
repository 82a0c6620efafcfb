"""``/api/v1/designs``: a design's record with its estimate, and its mesh files.

``GET /designs/{id}`` is the design record (docs/INTERFACES.md) plus ``estimate`` (print
time s, material g, price) and ``links``; ``GET /designs/{id}.stl`` / ``.3mf`` are the
files, built once by the geometry service and cached by design id under the data dir.
Designs are those produced by runs of this server (kept in memory and under
``data_dir/designs``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from configurator.errors import ConfiguratorError, NotFoundError
from configurator.services.design.book import DesignBook

router = APIRouter(prefix="/designs", tags=["designs"])

MEDIA_TYPES = {
    "stl": "model/stl",
    "3mf": "model/3mf",
}


def get_design_book(request: Request) -> DesignBook:
    return request.app.state.design_book


Book = Annotated[DesignBook, Depends(get_design_book)]


def _record(book: DesignBook, design_id: str) -> Any:
    try:
        return book.record(design_id)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def _file(book: DesignBook, design_id: str, fmt: str) -> Response:
    record = _record(book, design_id)
    try:
        data = book.file_bytes(record, fmt)
    except ConfiguratorError as exc:
        raise HTTPException(
            status_code=500, detail=f"could not build the {fmt.upper()}: {exc}"
        ) from exc
    name = f"{record.catalog_id}-{design_id[:12]}.{fmt}"
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "public, max-age=86400, immutable",
            "ETag": f'"{design_id[:32]}-{fmt}"',
        },
    )


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {404: {"description": "unknown design"}}


@router.get(
    "/{design_id}.stl",
    response_class=Response,
    responses={200: {"content": {"model/stl": {}}}, **_FILE_RESPONSES},
    summary="The design as binary STL (all parts, mm)",
)
def design_stl(design_id: str, book: Book) -> Response:
    return _file(book, design_id, "stl")


@router.get(
    "/{design_id}.3mf",
    response_class=Response,
    responses={200: {"content": {"model/3mf": {}}}, **_FILE_RESPONSES},
    summary="The design as 3MF (one object per part, mm)",
)
def design_3mf(design_id: str, book: Book) -> Response:
    return _file(book, design_id, "3mf")


@router.get("/{design_id}", summary="A design record with its estimate")
def design_detail(design_id: str, book: Book) -> dict[str, Any]:
    from configurator.entrypoints.api.routers.runs import design_json

    record = _record(book, design_id)
    data = design_json(record)
    data["estimate"] = book.estimate(record, record.material).model_dump(mode="json")
    return data
