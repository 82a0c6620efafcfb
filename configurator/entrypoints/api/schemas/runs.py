"""Run and design API schemas: a run's public state, its designs with their links."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from configurator.core.export import EXPORTERS
from configurator.core.farm.capability import FarmProfile
from configurator.services.catalogs import CatalogCache
from configurator.services.design.runs import TERMINAL


class ObjectiveInfo(BaseModel):
    name: str
    label: str
    unit: str
    sense: Literal["min", "max"]


class QueuePlace(BaseModel):
    """Where a queued run waits: ``position`` 1 = next; the expected start is an estimate
    from the mean recent run time and the free workers (s, POSIX s)."""

    position: int = Field(ge=1, examples=[3])
    ahead: int = Field(ge=0, examples=[2])
    expected_wait_s: float = Field(ge=0, examples=[7.5])
    expected_start: float = Field(examples=[1796000000.0])


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
    queue: QueuePlace | None = Field(default=None, description="its place while queued")
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


def _farm(context: dict[str, Any] | None) -> dict[str, Any] | None:
    stored = (context or {}).get("farm")
    if not stored:
        return None
    profile = FarmProfile.model_validate(stored)
    return {"fingerprint": profile.fingerprint, **profile.model_dump(mode="json")}


def run_public(run: Any, catalogs: CatalogCache, place: dict[str, Any] | None = None) -> RunPublic:
    """The public shape of a stored run (its designs once finished; ``place``: its queue
    place while queued)."""
    catalog = catalogs.find(run.catalog_id)
    objectives = (run.request or {}).get("objectives")
    out = RunPublic(
        id=run.id,
        catalog_id=run.catalog_id,
        status=run.status,
        finished=run.status in TERMINAL,
        message=run.message,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        request=run.request,
        pareto=run.pareto,
        objectives=objective_info(catalog, objectives) if catalog else [],
        progress=run.progress,
        queue=QueuePlace(**place) if place else None,
        farm=_farm(run.context),
        links={
            "self": f"/api/v1/runs/{run.id}",
            "events": f"/api/v1/runs/{run.id}/events",
            "page": f"/products/{run.catalog_id}?run={run.id}",
        },
    )
    result = run.result
    if result is not None:
        out.designs = [
            {**r, "links": design_links(r["design_id"])} for r in result.get("records", [])
        ]
        out.infeasibility = result.get("infeasibility")
        out.stats = result.get("stats")
    return out
