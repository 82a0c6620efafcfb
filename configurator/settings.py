"""Runtime settings (environment variables prefixed ``CONFIGURATOR_``).

Every entry point builds one :class:`Settings` and passes it down; tests build their
own (``Settings(data_dir=tmp_path, ...)``). Bounds are enforced on construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from configurator.core.farm.calendar import Calendar, parse_windows
from configurator.core.farm.router import POLICIES
from configurator.errors import RequirementsError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_catalog_dir() -> Path:
    return REPO_ROOT / "catalogs"


class Settings(BaseSettings):
    """All tunables in one place. Units: seconds, grams, mm, currency units."""

    model_config = SettingsConfigDict(env_prefix="CONFIGURATOR_", extra="ignore")

    data_dir: Path = Field(default=Path(".configurator"), description="Mesh cache, DB, job files")
    catalog_dir: Path = Field(default_factory=_default_catalog_dir)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/configurator.db"
    )
    admin_key: str | None = Field(default=None, description="Operator key; generated if unset")

    # farm
    heartbeat_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    max_attempts: int = Field(default=3, ge=1, le=20)
    rebalance_margin_s: float = Field(default=60.0, ge=0)
    routing_policy: str = Field(
        default="least-loaded",
        description="routing policy of the farm (a name in configurator.core.farm.router.POLICIES)",
    )
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    capabilities_ttl_s: float = Field(
        default=3.0,
        ge=0,
        le=300,
        description="how long the farm's capability view (what it can make, its loads) is "
        "cached, s; a change made through this process drops it at once",
    )

    # plate changes, staffed hours, batching (docs/farm.md "Plates and shifts")
    setup_s: dict[str, float] = Field(
        default_factory=lambda: {"FDM": 300.0, "SLA": 900.0, "SLS": 1800.0, "SLM": 14400.0},
        description="plate change between two builds per technology, s (docs/simulate.md sources)",
    )
    farm_calendar: str = Field(
        default="Mon-Fri 07:00-23:00", description="staffed hours ('always' = around the clock)"
    )
    farm_timezone: str = Field(default="UTC", description="time zone of farm_calendar")
    batching: bool = Field(default=True, description="nest queued jobs onto shared plates")
    batch_wait_s: float = Field(default=900.0, ge=0, le=86400, description="bounded wait for parts")
    batch_plate_s: float = Field(
        default=3600.0, ge=0, le=7 * 86400, description="a plate grows to this print time by day"
    )
    quote_margin: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="quoted ready-by = now + (router finish - now) x (1 + margin) (docs/simulate.md)",
    )

    # optimization runs served over HTTP (docs/web.md "Runs")
    run_workers: int = Field(
        default=2, ge=1, le=64, description="runs executing at once in each server process"
    )
    max_queued_runs: int = Field(
        default=1000, ge=1, le=1_000_000, description="waiting runs in the store; 429 past it"
    )
    max_active_runs_per_client: int = Field(
        default=5, ge=1, le=10_000, description="queued or running runs of one client"
    )
    max_runs_per_client_per_minute: int = Field(default=30, ge=1, le=100_000)
    max_evals_per_run: int = Field(default=20_000, ge=100)
    run_time_cap_s: float = Field(default=120.0, gt=0)
    run_lease_s: float = Field(
        default=15.0, gt=0, le=3600, description="a run's server unseen this long: failed"
    )
    run_worker_nice: int = Field(
        default=10, ge=0, le=19, description="lower CPU priority of the run worker processes"
    )
    run_poll_s: float = Field(
        default=0.1, gt=0, le=60, description="polling interval of the poll transport (s)"
    )
    run_events: Literal["notify", "poll"] = Field(
        default="notify", description="cross-process run events on PostgreSQL: LISTEN or poll"
    )
    run_retention_s: float = Field(default=7 * 86400.0, gt=0, description="finished runs kept")
    dask_address: str | None = None

    # request limits (HTTP 413 past them)
    max_json_bytes: int = Field(
        default=64 * 1024, ge=1024, le=64 * 1024 * 1024, description="JSON request bodies"
    )
    max_agent_report_bytes: int = Field(
        default=8 * 1024,
        ge=512,
        le=1024 * 1024,
        description="node heartbeats and job reports (progress, complete, fail)",
    )

    # pricing (see README "Prices")
    machine_rate_per_hour: dict[str, float] = Field(
        default_factory=lambda: {"FDM": 2.0, "SLA": 4.0, "SLS": 8.0, "SLM": 40.0},
        description="currency units per machine hour, per node technology (docs/estimate.md)",
    )
    setup_cost: float = Field(default=3.0, ge=0)

    # estimate pricing per technology (sources of the defaults: docs/estimate.md
    # "Price"). A technology missing from a map falls back to: setup_cost, no waste, no
    # post-processing. Environment: JSON, e.g. CONFIGURATOR_BUILD_SETUP_COST='{"SLM": 150}'.
    material_waste: dict[str, float] = Field(
        default_factory=lambda: {"FDM": 0.05, "SLA": 0.10, "SLM": 0.15},
        description="material lost per unit printed (purge/skirt, resin on supports and "
        "in the wash, unrecoverable powder), fraction, per technology",
    )
    build_setup_cost: dict[str, float] = Field(
        default_factory=lambda: {"FDM": 3.0, "SLA": 8.0, "SLM": 150.0},
        description="per build: plate preparation (SLM: plate, recoater, argon purge), "
        "currency units, per technology",
    )
    post_processing_cost: dict[str, float] = Field(
        default_factory=lambda: {"FDM": 0.0, "SLA": 7.0, "SLM": 110.0},
        description="per part: SLA wash + UV cure; SLM stress relief (share of a furnace "
        "cycle) + wire-EDM plate removal + support removal, currency units, per technology",
    )

    @field_validator("routing_policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        if v not in POLICIES:
            raise ValueError(f"unknown routing policy {v!r}; one of {', '.join(POLICIES)}")
        return v

    @field_validator("farm_calendar")
    @classmethod
    def _calendar(cls, v: str) -> str:
        try:
            parse_windows(v)
        except RequirementsError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("setup_s")
    @classmethod
    def _setups(cls, v: dict[str, float]) -> dict[str, float]:
        for tech, secs in v.items():
            if not 0 <= float(secs) <= 7 * 86400:
                raise ValueError(f"setup of {tech} must be in [0, 604800] s")
        return v

    def calendar(self) -> Calendar:
        """The farm's staffed hours (:class:`~configurator.core.farm.calendar.Calendar`)."""
        return Calendar(self.farm_calendar, self.farm_timezone)

    def setup_for(self, technology: str) -> float:
        """Default plate change of a node of ``technology``, s."""
        return float(self.setup_s.get(str(technology), 0.0))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'configurator.db').resolve()}"
