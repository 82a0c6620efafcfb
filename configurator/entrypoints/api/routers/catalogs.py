"""``/api/v1/catalogs``: the product families and everything the product form needs.

``GET /catalogs`` lists summaries; ``GET /catalogs/{id}`` gives the form (requirements,
lockable parameters, objectives, materials, algorithms, run limits) with the same bounds
the server enforces, each material with ``available`` / ``unavailable_reason`` from the
farm's capability view (cached a few seconds); ``GET /catalogs/{id}/thumbnail.png`` is the gallery picture of the
family's default design (rendered once, cached under ``data_dir/thumbnails``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from configurator.entrypoints.api.deps import CatalogsDep, FarmDep, RunsDep, SettingsDep
from configurator.entrypoints.api.schemas.catalogs import (
    CatalogDetail,
    CatalogSummary,
    catalog_detail,
    catalog_summary,
    farm_availability,
)
from configurator.services.thumbnails import catalog_thumbnail

router = APIRouter(prefix="/catalogs", tags=["catalogs"])
NOT_FOUND = {404: {"description": "no such product family"}}


@router.get("", response_model=list[CatalogSummary], summary="Product families")
def list_catalogs(catalogs: CatalogsDep) -> list[CatalogSummary]:
    return [catalog_summary(c) for c in catalogs.all().values()]


@router.get(
    "/{catalog_id}",
    response_model=CatalogDetail,
    summary="Everything the form needs",
    responses=NOT_FOUND,
)
def get_catalog(
    catalog_id: str, catalogs: CatalogsDep, runs: RunsDep, farm: FarmDep
) -> CatalogDetail:
    catalog = catalogs.get(catalog_id)
    view = farm.capabilities()
    return catalog_detail(
        catalog, runs.limits, farm_availability(view, catalog), time_scale=view.time_scale
    )


@router.get(
    "/{catalog_id}/thumbnail.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **NOT_FOUND},
    summary="Gallery picture of the family's default design",
)
def get_thumbnail(catalog_id: str, catalogs: CatalogsDep, settings: SettingsDep) -> Response:
    catalog = catalogs.get(catalog_id)
    png = catalog_thumbnail(catalog, data_dir=Path(settings.data_dir))
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=3600", "ETag": f'"{catalog.content_hash[:32]}"'},
    )
