"""``/api/v1/runs``: optimization runs, executed off the request thread.

``POST /runs`` takes a :class:`~configurator.services.design.request.DesignRequest`,
validates it against the catalog (422 with one entry per field; a material the farm does
not print is a 422 on ``material`` naming why), checks the server's limits (422 past the
evaluation budget; 429 only past the queue bound or a client's own limits) and answers 202
with the run, queued and limited to what the server's farm can make (its capability view,
recorded in the run). ``GET /runs/{id}`` is its state (its queue
place while queued, its designs once finished), ``GET /runs/{id}/events`` streams its
queue place, progress and end as server-sent events (``Last-Event-ID`` resumes),
``DELETE /runs/{id}`` cancels it. Any server process answers for any run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse

from configurator.core.farm.capability import FarmProfile
from configurator.entrypoints.api.clients import client_key, set_client_cookie
from configurator.entrypoints.api.deps import CatalogsDep, FarmDep, RunsDep
from configurator.entrypoints.api.schemas.runs import RunPublic, run_public
from configurator.errors import ConfiguratorError, RequirementsError
from configurator.services.design.request import DesignRequest
from configurator.services.design.service import build_space, farm_blocks

router = APIRouter(prefix="/runs", tags=["runs"])
NOT_FOUND = {404: {"description": "no such run"}}


def _field_key(key: str, catalog: Any) -> str:
    """Put a bare requirement/parameter name under its section for the form."""
    if "." in key:
        return key
    if key in catalog.requirements:
        return f"requirements.{key}"
    if key in catalog.parameters:
        return f"locks.{key}"
    return key


def validate(body: DesignRequest, catalog: Any, farm: FarmProfile | None = None) -> None:
    """Build the design space in the request thread (cheap) so bad input is a 422 now;
    with ``farm``, a material it does not print is a 422 on ``material``."""
    fields: dict[str, str] = {}
    if body.material is not None and body.material not in catalog.materials:
        fields["material"] = f"unknown material (one of {', '.join(catalog.materials)})"
    elif body.material is not None and farm is not None:
        spec = catalog.materials[body.material]
        available = farm.availability(body.material, spec.technology)
        if not available.available:
            fields["material"] = str(available.reason)
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
        raise RequirementsError(fields)
    try:
        build_space(
            catalog,
            requirements=body.requirements,
            locks=body.locks,
            bounds=body.bounds,
            objectives=body.objectives,
            weights=body.weights,
            material=body.material,
            # a farm that makes none of the materials: the run ends infeasible, saying why
            farm=None if farm_blocks(catalog, body, farm) else farm,
        )
    except RequirementsError as exc:
        raise RequirementsError({_field_key(k, catalog): v for k, v in exc.fields.items()}) from exc
    except ConfiguratorError as exc:
        raise RequirementsError({"request": str(exc)}) from exc


def _resume_point(last_event_id: str | None) -> int:
    """The event seq a ``Last-Event-ID`` header resumes after: a plain decimal (ASCII
    digits only, at most 18 of them), anything else 0 (from the start)."""
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        return int(last_event_id) if len(last_event_id) <= 18 else 10**18
    return 0


@router.post(
    "",
    status_code=202,
    response_model=RunPublic,
    summary="Start an optimization run",
    responses={
        422: {
            "description": "invalid field (one entry per field) or evaluation budget over the limit"
        },
        429: {
            "description": "the queue is full, or this client has too many runs waiting or "
            "started too many this minute; retry after the Retry-After seconds"
        },
    },
)
def create_run(
    body: DesignRequest, request: Request, manager: RunsDep, catalogs: CatalogsDep, farm: FarmDep
) -> Any:
    catalog = catalogs.find(body.catalog_id)
    if catalog is None:
        raise RequirementsError({"catalog_id": f"unknown product family {body.catalog_id!r}"})
    profile = farm.capabilities().profile()
    validate(body, catalog, profile)
    client, cookie = client_key(request)
    run = manager.submit(body, catalog=catalog, client=client, farm=profile)
    response = JSONResponse(
        status_code=202,
        content=run_public(run, catalogs, manager.place(run)).model_dump(mode="json"),
        headers={"Location": f"/api/v1/runs/{run.id}"},
    )
    set_client_cookie(response, cookie)
    return response


@router.get(
    "/{run_id}", response_model=RunPublic, summary="A run's state and designs", responses=NOT_FOUND
)
def get_run(run_id: str, manager: RunsDep, catalogs: CatalogsDep) -> RunPublic:
    run = manager.get(run_id)
    return run_public(run, catalogs, manager.place(run))


@router.delete(
    "/{run_id}",
    status_code=202,
    response_model=RunPublic,
    summary="Cancel a run",
    responses=NOT_FOUND,
)
def cancel_run(run_id: str, manager: RunsDep, catalogs: CatalogsDep) -> RunPublic:
    return run_public(manager.cancel(run_id), catalogs)


@router.get(
    "/{run_id}/events",
    summary="Live progress (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "example": 'id: 1\nevent: status\ndata: {"status": "queued", "position": 2, '
                    '"ahead": 1, "expected_wait_s": 2.5, "expected_start": 1796000002.5}\n\n'
                    'id: 2\nevent: status\ndata: {"status": "running"}\n\n'
                    'id: 3\nevent: progress\ndata: {"generation": 2, "evaluations": 200, '
                    '"budget": 2000, "fraction": 0.1, "n_feasible": 57, "best": {"mass": 41.2}, '
                    '"hypervolume": null, "elapsed_s": 0.21}\n\n'
                    'id: 9\nevent: end\ndata: {"status": "done", "message": "Found 8 designs."}\n\n'
                }
            },
            "description": "events `status` (`queued` with its place — again, without an id, "
            "whenever the place changes — then `running`), `progress` (a ProgressEvent), "
            "then one `end`",
        }
    },
)
async def run_events(
    run_id: str,
    request: Request,
    manager: RunsDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    manager.get(run_id)
    after = _resume_point(last_event_id)
    return StreamingResponse(
        manager.stream(run_id, after=after, is_disconnected=request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
