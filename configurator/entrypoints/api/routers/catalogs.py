"""``/api/v1/catalogs``: the product families and everything the product form needs.

``GET /catalogs`` lists summaries; ``GET /catalogs/{id}`` gives the form (requirements,
lockable parameters, objectives, materials, algorithms, run limits) with the same bounds
the server enforces; ``GET /catalogs/{id}/thumbnail.png`` is the gallery picture of the
family's default design (rendered once, cached under ``data_dir/thumbnails``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from configurator.errors import CatalogError, ConfiguratorError

router = APIRouter(prefix="/catalogs", tags=["catalogs"])

#: evaluation budget the form proposes, and its floor (one small population)
DEFAULT_EVALS = 2000
MIN_EVALS = 100
MAX_TOP = 50
DEFAULT_TOP = 8
ALGORITHMS = ("ga", "pso", "nsga2")


class FieldOut(BaseModel):
    """One input of the form (a requirement, or a lockable parameter)."""

    name: str = Field(examples=["board_length"])
    type: Literal["real", "int", "choice", "bool"]
    min: float | None = Field(default=None, examples=[20.0])
    max: float | None = Field(default=None, examples=[250.0])
    step: float | None = None
    options: list[str] | None = None
    default: Any = Field(default=None, examples=[80.0])
    unit: str | None = Field(default=None, examples=["mm"])
    label: str = Field(examples=["Board length"])
    group: str | None = None
    help: str | None = None


class ObjectiveOut(BaseModel):
    name: str = Field(examples=["mass"])
    label: str = Field(examples=["Mass"])
    unit: str = Field(examples=["g"])
    sense: Literal["min", "max"]
    help: str | None = None


class MaterialOut(BaseModel):
    name: str = Field(examples=["PLA"])
    label: str
    technology: str = Field(examples=["FDM"])
    density: float = Field(description="g/cm^3", examples=[1.24])
    cost_per_kg: float = Field(examples=[25.0])
    help: str | None = None


class Limits(BaseModel):
    """Run limits the server enforces (POST /runs answers 422 past them)."""

    min_evals: int
    max_evals: int
    default_evals: int
    max_top: int
    default_top: int
    max_concurrent_runs: int
    max_quantity: int


class CatalogSummary(BaseModel):
    id: str = Field(examples=["enclosure"])
    name: str = Field(examples=["Electronics enclosure"])
    summary: str
    version: str
    links: dict[str, str] = Field(
        examples=[
            {
                "self": "/api/v1/catalogs/enclosure",
                "thumbnail": "/api/v1/catalogs/enclosure/thumbnail.png",
                "page": "/products/enclosure",
            }
        ]
    )


class CatalogDetail(CatalogSummary):
    units: str
    content_hash: str
    requirements: list[FieldOut]
    parameters: list[FieldOut]
    objectives: list[ObjectiveOut]
    materials: list[MaterialOut]
    algorithms: list[str]
    limits: Limits


def _label(name: str, label: str | None) -> str:
    return label or name.replace("_", " ").capitalize()


def field_out(name: str, spec: Any) -> FieldOut:
    """The JSON form field of one catalog ``FieldSpec``."""
    options = [str(o) for o in spec.options] if spec.options else None
    default = spec.default
    if spec.type == "choice" and default is not None:
        default = str(default)
    return FieldOut(
        name=name,
        type=spec.type,
        min=spec.min,
        max=spec.max,
        step=spec.step,
        options=options,
        default=default,
        unit=spec.unit,
        label=_label(name, spec.label),
        group=spec.group,
        help=spec.help,
    )


def links(catalog_id: str) -> dict[str, str]:
    return {
        "self": f"/api/v1/catalogs/{catalog_id}",
        "thumbnail": f"/api/v1/catalogs/{catalog_id}/thumbnail.png",
        "page": f"/products/{catalog_id}",
    }


def catalog_summary(catalog: Any) -> CatalogSummary:
    return CatalogSummary(
        id=catalog.id,
        name=catalog.name,
        summary=catalog.summary,
        version=str(catalog.version),
        links=links(catalog.id),
    )


def run_limits(settings: Any) -> Limits:
    from configurator.services.orders import MAX_QUANTITY

    max_evals = int(settings.max_evals_per_run)
    return Limits(
        min_evals=MIN_EVALS,
        max_evals=max_evals,
        default_evals=min(DEFAULT_EVALS, max_evals),
        max_top=MAX_TOP,
        default_top=DEFAULT_TOP,
        max_concurrent_runs=int(settings.max_concurrent_runs),
        max_quantity=MAX_QUANTITY,
    )


def catalog_detail(catalog: Any, settings: Any) -> CatalogDetail:
    """Everything the product form needs, with the bounds the server enforces."""
    return CatalogDetail(
        **catalog_summary(catalog).model_dump(),
        units=catalog.units,
        content_hash=catalog.content_hash,
        requirements=[field_out(n, s) for n, s in catalog.requirements.items()],
        parameters=[field_out(n, s) for n, s in catalog.parameters.items()],
        objectives=[
            ObjectiveOut(name=n, label=_label(n, o.label), unit=o.unit, sense=o.sense, help=o.help)
            for n, o in catalog.objectives.items()
        ],
        materials=[
            MaterialOut(
                name=n,
                label=m.label or n,
                technology=m.technology,
                density=m.density,
                cost_per_kg=m.cost_per_kg,
                help=m.help,
            )
            for n, m in catalog.materials.items()
        ],
        algorithms=list(ALGORITHMS),
        limits=run_limits(settings),
    )


# ----------------------------------------------------------------------------- state
class CatalogCache:
    """The catalogs of ``settings.catalog_dir``, loaded once (broken files reported)."""

    def __init__(self, catalog_dir: Path):
        self.catalog_dir = Path(catalog_dir)
        self._lock = threading.Lock()
        self._catalogs: dict[str, Any] | None = None
        self.problems: list[str] = []

    def all(self) -> dict[str, Any]:
        with self._lock:
            if self._catalogs is None:
                self._catalogs = self._load()
            return self._catalogs

    def _load(self) -> dict[str, Any]:
        from configurator.adapters.catalog_yaml import catalog_paths, load_catalog, load_catalogs

        if not self.catalog_dir.is_dir():
            self.problems = [f"{self.catalog_dir}: no such folder"]
            return {}
        try:
            return load_catalogs(self.catalog_dir)
        except CatalogError as exc:  # keep the good ones, report the rest
            self.problems = [str(p) for p in exc.problems]
        out: dict[str, Any] = {}
        for path in catalog_paths(self.catalog_dir):
            try:
                catalog = load_catalog(path)
            except CatalogError:
                continue
            out.setdefault(catalog.id, catalog)
        return out

    def get(self, catalog_id: str) -> Any:
        catalog = self.all().get(catalog_id)
        if catalog is None:
            raise HTTPException(status_code=404, detail=f"no product family {catalog_id!r}")
        return catalog


def get_settings(request: Request) -> Any:
    return request.app.state.settings


def get_catalogs(request: Request) -> CatalogCache:
    return request.app.state.catalog_cache


Settings_ = Annotated[Any, Depends(get_settings)]
Catalogs = Annotated[CatalogCache, Depends(get_catalogs)]


# ----------------------------------------------------------------------------- routes
@router.get("", response_model=list[CatalogSummary], summary="Product families")
def list_catalogs(catalogs: Catalogs) -> list[CatalogSummary]:
    return [catalog_summary(c) for c in catalogs.all().values()]


@router.get("/{catalog_id}", response_model=CatalogDetail, summary="Everything the form needs")
def get_catalog(catalog_id: str, catalogs: Catalogs, settings: Settings_) -> CatalogDetail:
    return catalog_detail(catalogs.get(catalog_id), settings)


@router.get(
    "/{catalog_id}/thumbnail.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="Gallery picture of the family's default design",
)
def get_thumbnail(catalog_id: str, catalogs: Catalogs, settings: Settings_) -> Response:
    from configurator.services.thumbnails import catalog_thumbnail

    catalog = catalogs.get(catalog_id)
    try:
        png = catalog_thumbnail(catalog, data_dir=Path(settings.data_dir))
    except ConfiguratorError as exc:
        raise HTTPException(status_code=500, detail=f"thumbnail unavailable: {exc}") from exc
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=3600", "ETag": f'"{catalog.content_hash[:32]}"'},
    )
