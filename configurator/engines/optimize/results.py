"""What a run returns: plain pydantic models (picklable, JSON-serialisable)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from configurator.core.design.record import DesignRecord
from configurator.engines.optimize.infeasibility import InfeasibilityReport

Status = Literal["ok", "infeasible", "cancelled"]
StopReason = Literal["evals", "time", "cancelled"]


class RunStats(BaseModel):
    """Numbers about one run. ``seconds`` is wall-clock and the only non-deterministic field."""

    algorithm: str
    seed: int
    budget: int = Field(description="evaluation budget (--evals)")
    evaluations: int = Field(description="evaluations spent (never above the budget)")
    generations: int
    pop_size: int
    n_feasible: int = Field(description="feasible designs evaluated")
    stopped_by: StopReason
    seconds: float
    hypervolume: float | None = Field(
        default=None, description="NSGA-II: of the final feasible front (see ProgressEvent)"
    )


class OptimizationResult(BaseModel):
    """Outcome of :func:`configurator.engines.optimize.run_optimization`.

    ``status``: ``ok`` (records hold the designs), ``infeasible`` (no feasible design;
    ``infeasibility`` says why, ``records`` is empty) or ``cancelled`` (stopped on request;
    ``records`` hold the feasible designs found so far, possibly none).
    ``records`` are design records (docs/INTERFACES.md), best first for one objective,
    by the first objective along the front for several, unique by design id.
    """

    status: Status
    objective_names: list[str]
    records: list[DesignRecord] = Field(default_factory=list)
    infeasibility: InfeasibilityReport | None = None
    stats: RunStats

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict (records dumped in JSON mode)."""
        return self.model_dump(mode="json")
