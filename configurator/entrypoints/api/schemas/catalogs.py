"""Catalog API schemas: the gallery summaries and everything the product form needs, with
the bounds the server enforces and, per material, whether the farm can make it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from configurator.core.farm.capability import Availability
from configurator.engines.optimize.algorithms import ALGORITHM_NAMES
from configurator.services.design.runs import RunLimits
from configurator.services.quotes import MAX_QUANTITY


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
    available: bool = Field(
        default=True,
        description="a registered printer of the farm (any state but removed) prints it",
    )
    unavailable_reason: str | None = Field(
        default=None, examples=["no printer in the farm prints Ti-6Al-4V (SLM)"]
    )
    notice: str | None = Field(
        default=None,
        description="available, but orders wait now: why",
        examples=["the only SLM printer that prints Ti-6Al-4V (m290) is in maintenance"],
    )


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


class FarmInfo(BaseModel):
    """What the page says about the farm: its demo time compression."""

    time_scale: float = Field(
        default=1.0,
        description="demo printers play prints this many times faster than real time "
        "(quotes include it); 1 for real printers",
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
    farm: FarmInfo = Field(default_factory=FarmInfo)


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


def run_limits(limits: RunLimits) -> Limits:
    """The server's run limits as the form shows them."""
    return Limits(
        min_evals=limits.min_evals,
        max_evals=limits.max_evals,
        default_evals=limits.default_evals,
        max_top=limits.max_top,
        default_top=limits.default_top,
        max_concurrent_runs=limits.max_concurrent,
        max_quantity=MAX_QUANTITY,
    )


def catalog_detail(
    catalog: Any,
    limits: RunLimits,
    availability: Mapping[str, Availability] | None = None,
    *,
    time_scale: float = 1.0,
) -> CatalogDetail:
    """Everything the product form needs, with the bounds the server enforces;
    ``availability``: material name -> what the farm says (default: all available)."""
    availability = availability or {}
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
                **_availability(availability.get(n)),
            )
            for n, m in catalog.materials.items()
        ],
        algorithms=list(ALGORITHM_NAMES),
        limits=run_limits(limits),
        farm=FarmInfo(time_scale=time_scale),
    )


def _availability(a: Availability | None) -> dict[str, Any]:
    if a is None:
        return {}
    return {"available": a.available, "unavailable_reason": a.reason, "notice": a.notice}


def farm_availability(view: Any, catalog: Any) -> dict[str, Availability]:
    """Material name -> :class:`Availability` of each of ``catalog``'s materials on the
    farm's capability view."""
    return {n: view.availability(n, m.technology) for n, m in catalog.materials.items()}
