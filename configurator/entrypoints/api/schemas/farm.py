"""Farm API schemas: nodes, jobs, events, status and the node agents' reports.

Instants are ISO 8601 UTC; durations seconds; masses grams; lengths mm. ``X.of(row)``
builds the public shape from a service's row object.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    WithJsonSchema,
    field_validator,
)

from configurator.core.farm.models import JobState, NodeState, Technology

MaterialName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.+-]+$")]
#: the most materials one node may report (a heartbeat stays a few KB)
MAX_MATERIALS = 64
Materials = Annotated[
    dict[MaterialName, Annotated[StrictFloat, Field(ge=0, le=1_000_000)]],
    Field(max_length=MAX_MATERIALS),
    # pydantic writes the name pattern as patternProperties, which lets other names through
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_MATERIALS,
            "propertyNames": {"pattern": r"^[A-Za-z0-9_.+-]+$", "minLength": 1, "maxLength": 32},
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1_000_000},
        }
    ),
]
#: request bodies take JSON numbers as they are (no "1.5" for a number, no false for 0)
STRICT = ConfigDict(extra="forbid")
Size = Annotated[StrictFloat, Field(gt=0, le=10_000, description="mm")]
LotId = Annotated[str, Field(max_length=128, description="spool/lot id ('' to clear)")]
#: limits of a node's flat report (``record`` on complete, ``printer`` on heartbeat)
FLAT_MAX_KEYS, FLAT_MAX_KEY, FLAT_MAX_STR = 32, 64, 512


def _flat(value: dict[str, Any]) -> dict[str, Any]:
    """A flat JSON object: ≤ 32 keys of 1..64 characters; values strings ≤ 512 characters,
    finite numbers, booleans or null."""
    if len(value) > FLAT_MAX_KEYS:
        raise ValueError(f"at most {FLAT_MAX_KEYS} keys, got {len(value)}")
    for key, v in value.items():
        if not 1 <= len(key) <= FLAT_MAX_KEY:
            raise ValueError(f"key {key[:70]!r}: 1 to {FLAT_MAX_KEY} characters")
        if isinstance(v, str):
            if len(v) > FLAT_MAX_STR:
                raise ValueError(f"{key}: a string of at most {FLAT_MAX_STR} characters")
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, int | float):
            if not math.isfinite(v):
                raise ValueError(f"{key}: numbers must be finite")
        else:
            raise ValueError(f"{key}: a string, number, boolean or null (the object is flat)")
    return value


FlatRecord = Annotated[dict[str, Any], AfterValidator(_flat)]


def ts(t: float | None) -> datetime | None:
    """POSIX seconds -> an aware UTC datetime (None stays None)."""
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


class NodeCreate(BaseModel):
    """A printer to add to the farm."""

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            "examples": [
                {
                    "name": "mk4-01",
                    "technology": "FDM",
                    "build_volume": [250, 210, 220],
                    "materials": {"PLA": 1000, "PETG": 750},
                    "speed": 1.0,
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=100)
    technology: Technology
    build_volume: tuple[Size, Size, Size] = Field(description="x, y, z in mm")
    materials: Materials = Field(
        default_factory=dict, description=f"material -> grams loaded (at most {MAX_MATERIALS})"
    )
    speed: StrictFloat = Field(
        default=1.0, ge=0.01, le=100, description="throughput factor (1 = reference)"
    )
    time_scale: StrictFloat = Field(
        default=1.0,
        ge=1,
        le=1_000_000,
        description="a simulated printer playing prints this many times faster than real "
        "time (1 for a real printer); routing and quotes use speed × time_scale",
    )
    auto_clear: StrictBool = Field(
        default=False,
        description="clears its own plate (belt printer, auto-eject); else an operator "
        "clears it after every build (POST /nodes/{id}/plate-cleared)",
    )
    setup_s: StrictFloat | None = Field(
        default=None, ge=0, le=7 * 86400, description="plate change, s (default: the technology's)"
    )
    material_lots: dict[MaterialName, LotId] | None = Field(
        default=None,
        description="material -> spool/lot id loaded (optional; recorded with each job)",
    )


class NodeUpdate(BaseModel):
    """Fields to change; omitted ones stay. ``state``: idle (back in service), maintenance
    or draining."""

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={"examples": [{"materials": {"PLA": 2000}, "state": "maintenance"}]},
    )
    name: str | None = Field(default=None, min_length=1, max_length=100)
    build_volume: tuple[Size, Size, Size] | None = None
    materials: Materials | None = None
    speed: StrictFloat | None = Field(default=None, ge=0.01, le=100)
    time_scale: StrictFloat | None = Field(default=None, ge=1, le=1_000_000)
    state: (
        Annotated[
            NodeState,
            WithJsonSchema({"type": "string", "enum": ["idle", "maintenance", "draining"]}),
        ]
        | None
    ) = None
    auto_clear: StrictBool | None = None
    setup_s: StrictFloat | None = Field(default=None, ge=0, le=7 * 86400)
    material_lots: dict[MaterialName, LotId] | None = Field(
        default=None, description="material -> spool/lot id loaded now (replaces; {} clears)"
    )

    @field_validator("state")
    @classmethod
    def _operator_state(cls, v: NodeState | None) -> NodeState | None:
        if v is not None and v not in (NodeState.IDLE, NodeState.MAINTENANCE, NodeState.DRAINING):
            raise ValueError("operators may set idle, maintenance or draining")
        return v


class NodePublic(BaseModel):
    id: str
    name: str
    technology: Technology
    build_volume: tuple[float, float, float]
    materials: dict[str, float]
    speed: float
    time_scale: float = 1.0
    state: NodeState
    last_heartbeat: datetime | None
    auto_clear: bool = False
    setup_s: float | None = None
    plate_clear_at: datetime | None = Field(
        default=None, description="clear since then; null: a build waits for an operator"
    )
    state_reason: str | None = Field(
        default=None, description="why the node is offline, as its agent reported it"
    )
    material_lots: dict[str, str] = Field(default_factory=dict)
    printer: dict[str, Any] | None = Field(default=None, description="as the node reports it")

    @classmethod
    def of(cls, n: Any) -> NodePublic:
        return cls(
            id=n.id,
            name=n.name,
            technology=n.technology,
            build_volume=(n.bv_x, n.bv_y, n.bv_z),
            materials=n.materials or {},
            speed=n.speed,
            time_scale=n.time_scale or 1.0,
            state=n.state,
            last_heartbeat=ts(n.last_heartbeat),
            auto_clear=bool(n.auto_clear),
            setup_s=n.setup_s,
            plate_clear_at=ts(n.plate_clear_at),
            state_reason=getattr(n, "state_reason", None),
            material_lots=getattr(n, "material_lots", None) or {},
            printer=getattr(n, "printer", None),
        )


class NodeRegistered(BaseModel):
    """The node and its key. The key is shown only here: store it on the printer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "node": {
                        "id": "n3f1c2a9b0d11",
                        "name": "mk4-01",
                        "technology": "FDM",
                        "build_volume": [250, 210, 220],
                        "materials": {"PLA": 1000.0},
                        "speed": 1.0,
                        "state": "idle",
                        "last_heartbeat": "2026-11-28T16:00:00Z",
                    },
                    "node_key": "cfn_Jx2...",
                }
            ]
        }
    )
    node: NodePublic
    node_key: str


class JobPublic(BaseModel):
    """A print job. ``est_seconds`` is for a speed-1 node; ``actual_seconds`` and
    ``grams_used`` are what the node reported on completion."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "design_id": "enclosure-7f3a",
                    "label": "order 1234",
                    "file_name": "base.stl",
                    "file_size": 684,
                    "technology": "FDM",
                    "material": "PLA",
                    "bbox": [120.0, 80.0, 35.0],
                    "est_seconds": 5400.0,
                    "grams": 62.5,
                    "priority": 0,
                    "deadline": None,
                    "state": "assigned",
                    "node_id": "n3f1c2a9b0d11",
                    "attempts": 0,
                    "late": False,
                    "est_finish": "2026-11-28T18:30:00Z",
                    "created_at": "2026-11-28T16:00:00Z",
                    "started_at": None,
                    "finished_at": None,
                    "progress_pct": None,
                    "seconds_left": None,
                    "actual_seconds": None,
                    "grams_used": None,
                    "last_reason": None,
                }
            ]
        }
    )
    id: int
    design_id: str
    label: str | None
    file_name: str
    file_size: int
    technology: Technology
    material: str
    bbox: tuple[float, float, float]
    est_seconds: float
    grams: float
    priority: int
    deadline: datetime | None
    state: JobState
    node_id: str | None
    attempts: int
    late: bool
    est_finish: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_pct: float | None
    seconds_left: float | None
    actual_seconds: float | None
    grams_used: float | None
    last_reason: str | None
    batch_id: str | None = Field(default=None, description="the plate it is printed on")
    command: Literal["pause", "resume"] | None = Field(
        default=None,
        description="an operator's pause/resume not yet delivered to the printing node",
    )

    @classmethod
    def of(cls, j: Any) -> JobPublic:
        return cls(
            id=j.id,
            design_id=j.design_id,
            label=j.label,
            file_name=j.file_name,
            file_size=j.file_size,
            technology=j.technology,
            material=j.material,
            bbox=(j.bbox_x, j.bbox_y, j.bbox_z),
            est_seconds=j.est_seconds,
            grams=j.grams,
            priority=j.priority,
            deadline=ts(j.deadline),
            state=j.state,
            node_id=j.node_id,
            attempts=j.attempts,
            late=j.late,
            est_finish=ts(j.est_finish),
            created_at=ts(j.created_at),
            started_at=ts(j.started_at),
            finished_at=ts(j.finished_at),
            progress_pct=j.progress_pct,
            seconds_left=j.seconds_left,
            actual_seconds=j.actual_seconds,
            grams_used=j.grams_used,
            last_reason=j.last_reason,
            batch_id=getattr(j, "batch_id", None),
            command=getattr(j, "command", None),
        )


class EventPublic(BaseModel):
    at: datetime
    job_id: int | None
    node_id: str | None
    actor: str
    kind: str
    reason: str
    data: dict[str, Any] | None = None

    @classmethod
    def of(cls, e: Any) -> EventPublic:
        return cls(
            at=ts(e.at),
            job_id=e.job_id,
            node_id=e.node_id,
            actor=e.actor,
            kind=e.kind,
            reason=e.reason,
            data=e.data,
        )


class JobDetail(JobPublic):
    """A job with its queue place and its full event history."""

    queue_position: int | None = Field(description="0 = printing now or next")
    est_start: datetime | None
    events: list[EventPublic]


class NodeLoad(BaseModel):
    node: NodePublic
    load_s: float = Field(description="seconds until its queue is empty")
    queue: list[int] = Field(description="job ids, printing first, then in queue order")


class FarmStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "now": "2026-11-28T16:05:00Z",
                    "nodes": [
                        {
                            "node": NodeRegistered.model_config["json_schema_extra"]["examples"][0][
                                "node"
                            ],
                            "load_s": 5400.0,
                            "queue": [42, 43],
                        }
                    ],
                    "jobs": {
                        "queued": 0,
                        "assigned": 1,
                        "printing": 1,
                        "done": 7,
                        "failed": 0,
                        "cancelled": 0,
                    },
                    "events": [
                        {
                            "at": "2026-11-28T16:04:59Z",
                            "job_id": 42,
                            "node_id": "n3f1c2a9b0d11",
                            "actor": "node:mk4-01",
                            "kind": "claimed",
                            "reason": "attempt 1",
                            "data": None,
                        }
                    ],
                }
            ]
        }
    )
    now: datetime
    nodes: list[NodeLoad]
    jobs: dict[str, int]
    events: list[EventPublic]


class Heartbeat(BaseModel):
    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={"examples": [{"state": "idle", "materials": {"PLA": 930.5}}]},
    )
    state: Annotated[
        NodeState,
        WithJsonSchema({"type": "string", "enum": ["idle", "printing", "paused", "offline"]}),
    ] = NodeState.IDLE
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="with offline: why the printer cannot print (its error, busy with a "
        "print the farm did not start, unreachable)",
    )
    materials: Materials | None = Field(
        default=None,
        description=f"material -> grams loaded now (at most {MAX_MATERIALS}); omit to keep",
    )
    auto_clear: StrictBool | None = Field(
        default=None, description="the agent was started with --auto-clear (a mismatch is logged)"
    )
    printer: FlatRecord | None = Field(
        default=None, description="printer details (firmware, model...; flat); omit to keep"
    )

    @field_validator("state")
    @classmethod
    def _reportable(cls, v: NodeState) -> NodeState:
        if v not in (NodeState.IDLE, NodeState.PRINTING, NodeState.PAUSED, NodeState.OFFLINE):
            raise ValueError("a node reports idle, printing, paused or offline")
        return v


class HeartbeatReply(BaseModel):
    node: NodePublic
    heartbeat_interval_s: float = Field(description="send the next heartbeat within this")
    command: Literal["pause", "resume"] | None = Field(
        default=None, description="an operator's command for the job printing on this node"
    )


class ProgressReply(JobPublic):
    """The job, and an operator's pending command for it (delivered once)."""


class BatchClaim(BaseModel):
    """A plate of several jobs printed as ONE build: print ``file_url`` (the nested plate),
    then report ``complete`` (or ``fail``) for EACH job of ``jobs``."""

    id: str
    jobs: list[JobPublic]
    file_url: str
    file_size: int
    est_seconds: float = Field(description="the plate's print time on a speed-1 node")
    grams: float
    placements: list[tuple[float, float, bool]] = Field(
        description="per job: x, y mm of its footprint corner, turned 90° about z"
    )

    @classmethod
    def of(cls, batch: Any, jobs: list[Any]) -> BatchClaim:
        return cls(
            id=batch.id,
            jobs=[JobPublic.of(j) for j in jobs],
            file_url=f"/api/v1/farm/agent/batches/{batch.id}/file",
            file_size=batch.file_size,
            est_seconds=batch.est_seconds,
            grams=batch.grams,
            placements=[tuple(p) for p in batch.placements],
        )


class ClaimedJob(BaseModel):
    """The job to print now; fetch its file from ``file_url``. When the claim is a plate
    of several jobs, ``batch`` is set (``job`` is its first job): print the batch's file."""

    job: JobPublic
    file_url: str
    batch: BatchClaim | None = None


class Progress(BaseModel):
    model_config = ConfigDict(
        **STRICT, json_schema_extra={"examples": [{"percent": 42.0, "seconds_left": 3100}]}
    )
    percent: StrictFloat = Field(ge=0, le=100)
    seconds_left: StrictFloat = Field(ge=0, le=30 * 86400)


class Complete(BaseModel):
    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={"examples": [{"actual_seconds": 5312.0, "grams_used": 61.8}]},
    )
    actual_seconds: StrictFloat = Field(gt=0, le=30 * 86400, description="measured print time")
    grams_used: StrictFloat = Field(ge=0, le=1_000_000)
    record: FlatRecord | None = Field(
        default=None,
        description="what a connector node knows of the attempt: slicer, slicer_profile, "
        "profile_sha256, gcode_sha256... (flat; ≤ 32 keys)",
    )


class Fail(BaseModel):
    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={"examples": [{"reason": "spaghetti detected at layer 41"}]},
    )
    reason: str = Field(min_length=1, max_length=500)


class PrinterCapability(BaseModel):
    """One registered printer as the capability view sees it."""

    id: str
    name: str
    technology: Technology
    build_volume: tuple[float, float, float] = Field(description="x, y, z mm")
    materials: dict[str, float] = Field(description="registered materials -> grams loaded")
    speed: float = Field(description="registered throughput factor")
    time_scale: float = Field(description="demo time compression (1: a real printer)")
    state: NodeState
    accepting: bool = Field(description="takes new jobs now (idle, printing, paused)")
    load_s: float = Field(description="wall-clock seconds until its queue is empty")


class TechnologyCapability(BaseModel):
    """What the farm can make with one technology."""

    technology: Technology
    printers: int
    accepting: int = Field(description="printers taking jobs now")
    materials: dict[str, float] = Field(description="material -> grams loaded, all printers")
    largest_build_volume: tuple[float, float, float]


class Capabilities(BaseModel):
    """The farm's capability view: what it can make (any state but removed) and how busy it
    is, as the design side reads it (cached a few seconds)."""

    at: datetime
    fingerprint: str = Field(description="what a farm-attached design run depends on")
    time_scale: float = Field(description="the largest demo time compression (1: real time)")
    technologies: list[TechnologyCapability]
    printers: list[PrinterCapability]

    @classmethod
    def of(cls, view: Any) -> Capabilities:
        state = view.state()
        printers = []
        for n in view.nodes:
            i = state.index[n.id]
            printers.append(
                PrinterCapability(
                    id=n.id,
                    name=n.name,
                    technology=n.technology,
                    build_volume=n.build_volume,
                    materials=dict(n.materials),
                    speed=n.speed / (n.time_scale or 1.0),
                    time_scale=n.time_scale,
                    state=n.state,
                    accepting=n.accepting,
                    load_s=float(state.load[i]),
                )
            )
        techs = []
        for tech in sorted({p.technology for p in printers}):
            mine = [p for p in printers if p.technology == tech]
            grams: dict[str, float] = {}
            for p in mine:
                for m, g in p.materials.items():
                    grams[m] = grams.get(m, 0.0) + g
            techs.append(
                TechnologyCapability(
                    technology=tech,
                    printers=len(mine),
                    accepting=sum(p.accepting for p in mine),
                    materials=dict(sorted(grams.items())),
                    largest_build_volume=max(
                        (p.build_volume for p in mine), key=lambda b: (b[0] * b[1] * b[2], b)
                    ),
                )
            )
        return cls(
            at=ts(view.at),  # type: ignore[arg-type]
            fingerprint=view.profile().fingerprint,
            time_scale=view.time_scale,
            technologies=techs,
            printers=printers,
        )
