"""The design request: what a customer asks for, as one model.

The web API takes it as the body of ``POST /api/v1/runs``, the command line builds it
from its flags, the run manager queues it and the design service (in a worker process or
on a Dask worker) executes it. How a request is executed — the wall-clock cap, where
catalogs and the print-time model live — is not part of it: that is :class:`RunContext`.

Field bounds here are what any request must satisfy; a server adds its own limits on top
(evaluations per run, designs per run: :class:`~configurator.services.design.runs.RunLimits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from configurator.core.farm.capability import FarmProfile
from configurator.engines.optimize.algorithms import ALGORITHM_NAMES, MIN_EVALS
from configurator.engines.optimize.run import MAX_TOP
from configurator.errors import RequirementsError

#: a requirement or locked parameter value: a number, an option label, a yes/no (the
#: command line sends text, which the design space parses)
Scalar = float | int | str | bool
#: the registered algorithm names (:data:`~configurator.engines.optimize.ALGORITHMS`)
AlgorithmName = Literal[ALGORITHM_NAMES]  # type: ignore[valid-type]

DEFAULT_EVALS = 2000
DEFAULT_TOP = 8
MAX_EVALS = 10_000_000


class DesignRequest(BaseModel):
    """A customer's request. Requirements left out take the catalog's defaults; parameters
    not locked are searched, within ``bounds`` when given; objectives left out are all of
    the catalog's (several without weights = a Pareto set)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "catalog_id": "enclosure",
                    "requirements": {"board_length": 80, "board_width": 50},
                    "locks": {"screw": "M3"},
                    "bounds": {"wall": [1.6, 3.0]},
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

    catalog_id: str = Field(
        min_length=1,
        max_length=1000,
        description="catalog id (the command line also takes the path of a catalog YAML)",
    )
    requirements: dict[str, Scalar] = Field(default_factory=dict)
    locks: dict[str, Scalar] = Field(default_factory=dict, description="parameters held fixed")
    bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="narrow a parameter's range: name -> [low, high]"
    )
    objectives: list[str] | None = Field(
        default=None, description="objective names; several without weights = Pareto set"
    )
    weights: list[float] | None = Field(
        default=None, description="one per objective: a weighted single best design"
    )
    material: str | None = Field(default=None, description="fix the material (default: searched)")
    algorithm: AlgorithmName | None = Field(
        default=None, description="default: nsga2 for several objectives, else ga"
    )
    evals: int = Field(
        default=DEFAULT_EVALS, ge=MIN_EVALS, le=MAX_EVALS, description="evaluation budget"
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    top: int = Field(default=DEFAULT_TOP, ge=1, le=MAX_TOP, description="designs to return")


class RunContext(BaseModel):
    """How a request is executed (plain data: it travels to worker processes and Dask).

    ``catalog_path``: the catalog YAML the worker loads (None: look ``catalog_id`` up in
    ``catalog_dir``); ``model_dir``: the print-time model directory (None: the one
    ``Settings`` picks); ``time_cap_s``: wall-clock cap (a capped run is not reproducible);
    ``farm``: the farm the run is limited to (None: the catalog's own printers) — only its
    materials are searched and the designs must fit one of its printers.
    """

    catalog_path: str | None = None
    catalog_dir: str | None = None
    model_dir: str | None = None
    time_cap_s: float | None = Field(default=None, gt=0)
    farm: FarmProfile | None = None


def parse_request(data: Mapping[str, Any]) -> DesignRequest:
    """A :class:`DesignRequest` from plain data; a field that does not fit is a
    :class:`~configurator.errors.RequirementsError` naming it (``evals``,
    ``requirements.board_length``, ...)."""
    try:
        return DesignRequest.model_validate(dict(data))
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "request"
            fields.setdefault(key, err["msg"])
        raise RequirementsError(fields) from None
