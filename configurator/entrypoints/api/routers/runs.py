"""``/api/v1/runs``: optimization runs, executed off the request thread.

``POST /runs`` validates the request against the catalog (422 with one entry per field),
checks the limits (422 past the evaluation budget, 429 past the concurrent runs) and
answers 202 with the run. ``GET /runs/{id}`` is its state (and designs once finished),
``GET /runs/{id}/events`` streams progress as server-sent events, ``DELETE /runs/{id}``
cancels it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from configurator.entrypoints.api.routers.catalogs import (
    MAX_TOP,
    MIN_EVALS,
    CatalogCache,
    get_catalogs,
)
from configurator.errors import ConfiguratorError, NotFoundError, RequirementsError
from configurator.services.design.runs import Run, RunLimitError, RunManager, RunSpec

router = APIRouter(prefix="/runs", tags=["runs"])

Scalar = float | int | str | bool


class RunCreate(BaseModel):
    """A customer's request. Requirements left out take the catalog's defaults."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "catalog_id": "enclosure",
                    "requirements": {"board_length": 80, "board_width": 50},
                    "locks": {"screw": "M3"},
                    "objectives": ["mass", "stiffness"],
                    "weights": None,
                    "material": "PETG",
                    "algorithm": "nsga2",
                    "evals": 2000,
                    "seed": 1,
                    "top": 8,
                }
            ]
        },
    )

    catalog_id: str
    requirements: dict[str, Scalar] = Field(default_factory=dict)
    locks: dict[str, Scalar] = Field(default_factory=dict, description="parameters held fixed")
    objectives: list[str] | None = Field(
        default=None, description="objective names; several without weights = Pareto set"
    )
    weights: list[float] | None = Field(
        default=None, description="one per objective: a weighted single best design"
    )
    material: str | None = Field(default=None, description="fix the material (default: searched)")
    algorithm: Literal["ga", "pso", "nsga2"] | None = None
    evals: int = Field(default=2000, ge=MIN_EVALS, description="evaluation budget")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    top: int = Field(default=8, ge=1, le=MAX_TOP, description="designs to return")


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
    links: dict[str, str]


def get_run_manager(request: Request) -> RunManager:
    return request.app.state.run_manager


Manager = Annotated[RunManager, Depends(get_run_manager)]
Catalogs = Annotated[CatalogCache, Depends(get_catalogs)]


def unprocessable(fields: dict[str, str]) -> HTTPException:
    """A FastAPI-style 422: one ``{loc, msg, type}`` per field (``a.b`` -> loc a, b)."""
    detail = [
        {"loc": ["body", *key.split(".", 1)], "msg": msg, "type": "value_error"}
        for key, msg in fields.items()
    ]
    return HTTPException(status_code=422, detail=detail)


def design_links(design_id: str) -> dict[str, str]:
    return {
        "self": f"/api/v1/designs/{design_id}",
        "stl": f"/api/v1/designs/{design_id}.stl",
        "3mf": f"/api/v1/designs/{design_id}.3mf",
    }


def design_json(record: Any) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    data["links"] = design_links(record.design_id)
    return data


def _field_key(key: str, catalog: Any) -> str:
    """Put a bare requirement/parameter name under its section for the form."""
    if "." in key:
        return key
    if key in catalog.requirements:
        return f"requirements.{key}"
    if key in catalog.parameters:
        return f"locks.{key}"
    return key


def validate(body: RunCreate, catalog: Any) -> None:
    """Build the design space in the request thread (cheap) so bad input is a 422 now."""
    from configurator.services.design.service import build_space

    fields: dict[str, str] = {}
    if body.material is not None and body.material not in catalog.materials:
        fields["material"] = f"unknown material (one of {', '.join(catalog.materials)})"
    if body.weights is not None and body.objectives and len(body.weights) != len(body.objectives):
        fields["weights"] = "give one weight per objective"
    for name in body.requirements:
        if name not in catalog.requirements:
            fields[f"requirements.{name}"] = (
                f"unknown requirement (known: {', '.join(catalog.requirements)})"
            )
    for name in body.locks:
        if name not in catalog.parameters:
            fields[f"locks.{name}"] = f"unknown parameter (known: {', '.join(catalog.parameters)})"
    if fields:
        raise unprocessable(fields)
    try:
        build_space(
            catalog,
            requirements=body.requirements,
            locks=body.locks,
            objectives=body.objectives,
            weights=body.weights,
            material=body.material,
        )
    except RequirementsError as exc:
        raise unprocessable({_field_key(k, catalog): v for k, v in exc.fields.items()}) from exc
    except ConfiguratorError as exc:
        raise unprocessable({"request": str(exc)}) from exc


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


def run_public(run: Run, catalogs: CatalogCache) -> RunPublic:
    catalog = catalogs.all().get(run.catalog_id)
    request = run.spec.model_dump(mode="json", exclude={"catalog", "model_dir"})
    request["catalog_id"] = run.catalog_id
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
            objectives=objective_info(catalog, run.spec.objectives) if catalog else [],
            progress=run.progress,
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


def _resume_point(last_event_id: str | None) -> int:
    """The event seq a ``Last-Event-ID`` header resumes after: a plain decimal (ASCII
    digits only, at most 18 of them), anything else 0 (from the start)."""
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        return int(last_event_id) if len(last_event_id) <= 18 else 10**18
    return 0


def _get(manager: RunManager, run_id: str) -> Run:
    try:
        return manager.get(run_id)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=f"no run {run_id!r}") from exc


@router.post(
    "",
    status_code=202,
    response_model=RunPublic,
    summary="Start an optimization run",
    responses={
        422: {
            "description": "invalid field (one entry per field) or evaluation budget over the limit"
        },
        429: {"description": "too many runs at once; retry after the Retry-After seconds"},
    },
)
def create_run(body: RunCreate, manager: Manager, catalogs: Catalogs) -> Any:
    catalog = catalogs.all().get(body.catalog_id)
    if catalog is None:
        raise unprocessable({"catalog_id": f"unknown product family {body.catalog_id!r}"})
    validate(body, catalog)
    pareto = body.weights is None and len(body.objectives or catalog.objectives) > 1
    spec = RunSpec(
        catalog=str(catalog.path),
        requirements=body.requirements,
        locks=body.locks,
        objectives=body.objectives,
        weights=body.weights,
        material=body.material,
        algorithm=body.algorithm,
        evals=body.evals,
        seed=body.seed,
        top=body.top,
    )
    try:
        run = manager.submit(spec, catalog_id=catalog.id, pareto=pareto)
    except RequirementsError as exc:
        raise unprocessable(exc.fields) from exc
    except RunLimitError as exc:
        return JSONResponse(
            status_code=429,
            content={"detail": str(exc)},
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return JSONResponse(
        status_code=202,
        content=run_public(run, catalogs).model_dump(mode="json"),
        headers={"Location": f"/api/v1/runs/{run.id}"},
    )


@router.get("/{run_id}", response_model=RunPublic, summary="A run's state and designs")
def get_run(run_id: str, manager: Manager, catalogs: Catalogs) -> RunPublic:
    return run_public(_get(manager, run_id), catalogs)


@router.delete("/{run_id}", status_code=202, response_model=RunPublic, summary="Cancel a run")
def cancel_run(run_id: str, manager: Manager, catalogs: Catalogs) -> RunPublic:
    _get(manager, run_id)
    return run_public(manager.cancel(run_id), catalogs)


@router.get(
    "/{run_id}/events",
    summary="Live progress (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "example": 'id: 3\nevent: progress\ndata: {"generation": 2, "evaluations": 200, '
                    '"budget": 2000, "fraction": 0.1, "n_feasible": 57, "best": {"mass": 41.2}, '
                    '"hypervolume": null, "elapsed_s": 0.21}\n\n'
                    'id: 9\nevent: end\ndata: {"status": "done", "message": "Found 8 designs."}\n\n'
                }
            },
            "description": "events `status`, `progress` (a ProgressEvent), then one `end`",
        }
    },
)
async def run_events(
    run_id: str,
    request: Request,
    manager: Manager,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    _get(manager, run_id)
    after = _resume_point(last_event_id)
    return StreamingResponse(
        manager.stream(run_id, after=after, is_disconnected=request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
