"""Run and design API schemas: a run's public state, its designs with their links."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from configurator.core.export import EXPORTERS
from configurator.services.catalogs import CatalogCache
from configurator.services.design.runs import Run


class ObjectiveInfo(BaseModel):
    name: str
    label: str
    unit: str
    sense: Literal["min", "max"]


class RunPublic(BaseModel):
    """A run. ``designs`` (design records + ``links``) once finished; ``infeasibility``
    when no design meets the requirements."""

    id: str = Field(examples=["k3J9x0d1Qw2eR5tY"])
    catalog_id: str
    status: Literal["queued", "running", "done", "infeasible", "cancelled", "failed"]
    finished: bool
    message: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    request: dict[str, Any]
    pareto: bool
    objectives: list[ObjectiveInfo]
    progress: dict[str, Any] | None = Field(description="the last ProgressEvent")
    designs: list[dict[str, Any]] = Field(default_factory=list)
    infeasibility: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    farm: dict[str, Any] | None = Field(
        default=None,
        description="the farm the run was limited to: fingerprint, printers (what the "
        "result depended on)",
    )
    links: dict[str, str]


def design_links(design_id: str) -> dict[str, str]:
    """The record's URL and one file URL per registered format."""
    links = {"self": f"/api/v1/designs/{design_id}"}
    links.update({fmt: f"/api/v1/designs/{design_id}.{fmt}" for fmt in EXPORTERS})
    return links


def design_json(record: Any) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    data["links"] = design_links(record.design_id)
    return data


def objective_info(catalog: Any, names: list[str] | None) -> list[ObjectiveInfo]:
    chosen = names or list(catalog.objectives)
    out = []
    for n in chosen:
        o = catalog.objectives[n]
        out.append(
            ObjectiveInfo(
                name=n,
                label=o.label or n.replace("_", " ").capitalize(),
                unit=o.unit,
                sense=o.sense,
            )
        )
    return out


def _farm(profile: Any) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {"fingerprint": profile.fingerprint, **profile.model_dump(mode="json")}


def run_public(run: Run, catalogs: CatalogCache) -> RunPublic:
    """The public shape of a run (its designs once finished)."""
    catalog = catalogs.find(run.catalog_id)
    request = run.request.model_dump(mode="json")
    with run.lock:
        result = run.result
        out = RunPublic(
            id=run.id,
            catalog_id=run.catalog_id,
            status=run.status,
            finished=run.finished,
            message=run.message,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            request=request,
            pareto=run.pareto,
            objectives=objective_info(catalog, run.request.objectives) if catalog else [],
            progress=run.progress,
            farm=_farm(run.context.farm),
            links={
                "self": f"/api/v1/runs/{run.id}",
                "events": f"/api/v1/runs/{run.id}/events",
                "page": f"/products/{run.catalog_id}?run={run.id}",
            },
        )
    if result is not None:
        out.designs = [design_json(r) for r in result.records]
        if result.infeasibility is not None:
            out.infeasibility = result.infeasibility.model_dump(mode="json")
        out.stats = result.stats.model_dump(mode="json")
    return out
