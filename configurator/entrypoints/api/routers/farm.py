"""Print-farm HTTP API (``/api/v1/farm``): thin handlers over the farm service.

Operators authenticate with the admin key, node agents with their node key, both as
``Authorization: Bearer <key>``. Schemas: :mod:`configurator.entrypoints.api.schemas.farm`.
See docs/farm.md for every endpoint with an example.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import AfterValidator, BaseModel
from starlette.concurrency import run_in_threadpool

from configurator.core.farm.models import JobState, Technology
from configurator.entrypoints.api.deps import AdminKey, FarmDep, NodeId, SettingsDep, TraceDep
from configurator.entrypoints.api.guard import check_text
from configurator.entrypoints.api.schemas.farm import (
    BatchClaim,
    Capabilities,
    ClaimedJob,
    Complete,
    EventPublic,
    Fail,
    FarmStatus,
    Heartbeat,
    HeartbeatReply,
    JobDetail,
    JobPublic,
    NodeCreate,
    NodeLoad,
    NodePublic,
    NodeRegistered,
    NodeUpdate,
    Progress,
    ProgressReply,
    ts,
)
from configurator.errors import NotFoundError, RequirementsError

router = APIRouter(prefix="/farm", tags=["farm"])

#: a job id in a path: a positive 64-bit integer (larger ones could not reach the database)
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="job id")]


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """Serialize once (the hot agent endpoints): returning a Response skips FastAPI's
    second validation pass against ``response_model``, which stays for the OpenAPI schema."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


# -- operators: nodes ---------------------------------------------------------------------
@router.post("/nodes", status_code=status.HTTP_201_CREATED, response_model=NodeRegistered)
def register_node(body: NodeCreate, farm: FarmDep, _: AdminKey) -> NodeRegistered:
    """Register a node; the reply holds its key, shown this once (only a hash is kept)."""
    node, key = farm.register_node(
        name=body.name,
        technology=body.technology,
        build_volume=body.build_volume,
        materials=body.materials,
        speed=body.speed,
        time_scale=body.time_scale,
        auto_clear=body.auto_clear,
        setup_s=body.setup_s,
        material_lots=body.material_lots,
    )
    return NodeRegistered(node=NodePublic.of(node), node_key=key)


@router.get("/nodes", response_model=list[NodePublic])
def list_nodes(farm: FarmDep, _: AdminKey) -> list[NodePublic]:
    return [NodePublic.of(n) for n in farm.list_nodes()]


@router.get("/nodes/{node_id}", response_model=NodePublic)
def get_node(node_id: str, farm: FarmDep, _: AdminKey) -> NodePublic:
    return NodePublic.of(farm.get_node(node_id))


@router.patch("/nodes/{node_id}", response_model=NodePublic)
def update_node(node_id: str, body: NodeUpdate, farm: FarmDep, _: AdminKey) -> NodePublic:
    """Change a node; jobs it can no longer print move, waiting jobs it can print come."""
    return NodePublic.of(farm.update_node(node_id, **body.model_dump(exclude_unset=True)))


@router.post("/nodes/{node_id}/drain", response_model=NodePublic)
def drain_node(node_id: str, farm: FarmDep, _: AdminKey) -> NodePublic:
    """The node finishes its current job; its queue moves to other nodes."""
    return NodePublic.of(farm.drain_node(node_id))


@router.post("/nodes/{node_id}/plate-cleared", response_model=NodePublic)
def plate_cleared(node_id: str, farm: FarmDep, _: AdminKey) -> NodePublic:
    """The operator took the finished build off the node's plate: it may claim again."""
    return NodePublic.of(farm.plate_cleared(node_id))


@router.delete("/nodes/{node_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_node(node_id: str, farm: FarmDep, _: AdminKey) -> Response:
    """Remove a node; its open jobs (printing included) are rerouted, its key stops working."""
    farm.remove_node(node_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- operators: jobs ----------------------------------------------------------------------
@router.get("/jobs", response_model=list[JobPublic])
def list_jobs(
    farm: FarmDep,
    _: AdminKey,
    state: JobState | None = None,
    node_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> list[JobPublic]:
    """Jobs, newest first; filter by state (``failed`` = dead letters) or node."""
    return [
        JobPublic.of(j)
        for j in farm.list_jobs(state=state, node_id=node_id, limit=limit, offset=offset)
    ]


async def _read_upload(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise RequirementsError({"file": f"file is larger than {limit} bytes"})
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/jobs", status_code=status.HTTP_201_CREATED, response_model=JobPublic)
async def submit_job(
    farm: FarmDep,
    settings: SettingsDep,
    _: AdminKey,
    file: Annotated[UploadFile, File(description="STL or 3MF")],
    design_id: Annotated[str, Form(min_length=1, max_length=128), AfterValidator(check_text)],
    material: Annotated[
        str,
        Form(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.+-]+$", examples=["PLA"]),
    ],
    bbox_x: Annotated[float, Form(gt=0, le=10_000, description="mm")],
    bbox_y: Annotated[float, Form(gt=0, le=10_000, description="mm")],
    bbox_z: Annotated[float, Form(gt=0, le=10_000, description="mm")],
    est_seconds: Annotated[float, Form(gt=0, le=30 * 86400, description="on a speed-1 node")],
    grams: Annotated[float, Form(ge=0, le=1_000_000)],
    priority: Annotated[int, Form(ge=-100, le=100)] = 0,
    # optional form fields are left out when unset (a form has no null): not nullable
    deadline: Annotated[datetime, Form(description="ISO 8601")] = None,  # type: ignore[assignment]
    technology: Annotated[Technology, Form()] = None,  # type: ignore[assignment]
    label: Annotated[str, Form(max_length=200), AfterValidator(check_text)] = None,  # type: ignore[assignment]
) -> JobPublic:
    """Submit a job with its file (multipart); it is routed at once.

    Example: ``curl -H "Authorization: Bearer $ADMIN" -F file=@base.stl -F design_id=d1
    -F material=PLA -F bbox_x=120 -F bbox_y=80 -F bbox_z=35 -F est_seconds=5400 -F grams=62
    http://127.0.0.1:8000/api/v1/farm/jobs``
    """
    data = await _read_upload(file, settings.max_upload_bytes)
    deadline_ts = None
    if deadline is not None:
        if deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=UTC)
        try:  # an instant that has no UTC date (year 0 or 10000) could never be shown again
            deadline_ts = deadline.astimezone(UTC).timestamp()
        except OverflowError:
            raise RequirementsError({"deadline": "out of range (years 1 to 9999 in UTC)"}) from None
    job = await run_in_threadpool(
        lambda: farm.submit_job(
            design_id=design_id,
            material=material,
            technology=technology,
            bbox=(bbox_x, bbox_y, bbox_z),
            est_seconds=est_seconds,
            grams=grams,
            file_bytes=data,
            file_name=file.filename or "part.stl",
            priority=priority,
            deadline=deadline_ts,
            label=label,
        )
    )
    return JobPublic.of(job)


@router.get("/jobs/{job_id}", response_model=JobDetail)
def get_job(job_id: JobId, farm: FarmDep, _: AdminKey) -> JobDetail:
    """A job with its queue position, estimated start/finish and event history."""
    job = farm.get_job(job_id)
    place = farm.job_status(job_id)
    return JobDetail(
        **JobPublic.of(job).model_dump(),
        queue_position=place.position,
        est_start=ts(place.est_start),
        events=[EventPublic.of(e) for e in farm.job_events(job_id)],
    )


@router.get("/jobs/{job_id}/record")
def job_record(job_id: JobId, trace: TraceDep, _: AdminKey) -> dict[str, Any]:
    """The job's production record (operator view: node ids, actors, event data and the
    event chain hashes included; docs/trace.md)."""
    return trace.job_record(job_id, audience="operator")


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: JobId, farm: FarmDep, _: AdminKey) -> JobPublic:
    return JobPublic.of(farm.cancel_job(job_id))


@router.post("/jobs/{job_id}/pause", response_model=JobPublic)
def pause_job(job_id: JobId, farm: FarmDep, _: AdminKey) -> JobPublic:
    """Ask the printing node to pause the job (delivered with its next report; 409 unless
    the job is printing). The node's state shows ``paused`` once its printer paused."""
    return JobPublic.of(farm.request_command(job_id, "pause"))


@router.post("/jobs/{job_id}/resume", response_model=JobPublic)
def resume_job(job_id: JobId, farm: FarmDep, _: AdminKey) -> JobPublic:
    """Ask the node to resume the paused job (delivered with its next report)."""
    return JobPublic.of(farm.request_command(job_id, "resume"))


@router.post("/jobs/{job_id}/requeue", response_model=JobPublic)
def requeue_job(job_id: JobId, farm: FarmDep, _: AdminKey) -> JobPublic:
    """Give a dead-letter (``failed``) job fresh attempts and route it again."""
    return JobPublic.of(farm.requeue_job(job_id))


@router.get("/capabilities", response_model=Capabilities)
def capabilities(
    farm: FarmDep, _: AdminKey, max_age_s: Annotated[float, Query(ge=0, le=300)] = 0
) -> Capabilities:
    """What the farm can make: per technology the materials loaded (grams), build volumes,
    speeds and states of every registered printer (removed ones excluded). This is what
    ``configurator design --farm URL`` limits a run to. ``max_age_s``: accept a cached
    view that old (default 0: read now)."""
    return Capabilities.of(farm.capabilities(max_age_s=max_age_s))


@router.get("/status", response_model=FarmStatus)
def farm_status(
    farm: FarmDep, _: AdminKey, events: Annotated[int, Query(ge=0, le=1000)] = 50
) -> FarmStatus:
    """Nodes with their load (s) and queues, job counts by state, recent events."""
    st = farm.status(events=events)
    return FarmStatus(
        now=ts(st["now"]),
        nodes=[
            NodeLoad(node=NodePublic.of(n["node"]), load_s=n["load_s"], queue=n["queue"])
            for n in st["nodes"]
        ],
        jobs=st["jobs"],
        events=[EventPublic.of(e) for e in st["events"]],
    )


# -- node agents --------------------------------------------------------------------------
@router.post("/agent/heartbeat", response_model=HeartbeatReply)
def heartbeat(body: Heartbeat, farm: FarmDep, settings: SettingsDep, node_id: NodeId) -> Response:
    """The calling node is alive, in ``state``, with ``materials`` loaded; ``offline``
    with a ``reason`` when its printer cannot print (its jobs are rerouted at once). The
    reply carries an operator's pause/resume for its printing job (once)."""
    node, command = farm.heartbeat_report(
        node_id,
        state=body.state,
        materials=body.materials,
        auto_clear=body.auto_clear,
        reason=body.reason,
        printer=body.printer,
    )
    return _json(
        HeartbeatReply(
            node=NodePublic.of(node),
            heartbeat_interval_s=settings.heartbeat_timeout_s / 3,
            command=command,
        )
    )


@router.post(
    "/agent/claim",
    response_model=ClaimedJob,
    responses={204: {"description": "nothing to print"}},
)
def claim(farm: FarmDep, node_id: NodeId) -> Response:
    """Take the next job of the calling node's queue (or the one it is printing); 204 if none."""
    job = farm.claim(node_id)
    if job is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    batch = None
    if getattr(job, "batch_id", None):
        batch = BatchClaim.of(*farm.get_batch(job.batch_id))
    return _json(
        ClaimedJob(
            job=JobPublic.of(job), file_url=f"/api/v1/farm/agent/jobs/{job.id}/file", batch=batch
        )
    )


@router.get(
    "/agent/batches/{batch_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"model/stl": {}}}},
)
def batch_file(
    batch_id: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^b[0-9a-f]+$")],
    farm: FarmDep,
    node_id: NodeId,
) -> FileResponse:
    """The plate's build file (the batch's jobs nested as packed; only for its node)."""
    path, name = farm.batch_file(node_id, batch_id)
    if not path.exists():
        raise NotFoundError(f"file of batch {batch_id} is missing on the server")
    return FileResponse(path, media_type="model/stl", filename=name)


@router.get(
    "/agent/jobs/{job_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"model/stl": {}, "model/3mf": {}}}},
)
def job_file(job_id: JobId, farm: FarmDep, node_id: NodeId) -> FileResponse:
    """The job's STL/3MF file (only for the node it is assigned to)."""
    path, name = farm.job_file(node_id, job_id)
    if not path.exists():
        raise NotFoundError(f"file of job {job_id} is missing on the server")
    media = "model/3mf" if name.lower().endswith(".3mf") else "model/stl"
    return FileResponse(path, media_type=media, filename=name)


@router.post("/agent/jobs/{job_id}/progress", response_model=ProgressReply)
def progress(job_id: JobId, body: Progress, farm: FarmDep, node_id: NodeId) -> Response:
    """How far the node's printing job is; the reply carries an operator's pause/resume
    for it (once)."""
    job, command = farm.progress_report(
        node_id, job_id, percent=body.percent, seconds_left=body.seconds_left
    )
    return _json(ProgressReply(**{**JobPublic.of(job).model_dump(), "command": command}))


@router.post("/agent/jobs/{job_id}/complete", response_model=JobPublic)
def complete(job_id: JobId, body: Complete, farm: FarmDep, node_id: NodeId) -> Response:
    """The job printed; repeating this report is harmless."""
    job = farm.complete(
        node_id,
        job_id,
        actual_seconds=body.actual_seconds,
        grams_used=body.grams_used,
        record=body.record,
    )
    return _json(JobPublic.of(job))


@router.post("/agent/jobs/{job_id}/fail", response_model=JobPublic)
def fail(job_id: JobId, body: Fail, farm: FarmDep, node_id: NodeId) -> JobPublic:
    """The print failed: the job is rerouted (attempts + 1) or dead-lettered."""
    return JobPublic.of(farm.fail(node_id, job_id, reason=body.reason))
