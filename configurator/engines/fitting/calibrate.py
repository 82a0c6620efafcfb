"""Learning from the farm, pure part: node speed factors and prior weights.

A node's ``speed`` is how many reference-seconds it prints per wall-clock second: a job
estimated at ``est`` seconds (speed-1, i.e. the slicer's estimate) takes ``est / speed`` on
it. Calibrated from its own history, ``speed = median(est_i / actual_i)`` over its completed
jobs (the median ignores the odd paused or re-started print). Nodes with fewer than
``min_jobs`` completed jobs keep their current speed.

When the model is refitted on history, the slicer data set is the prior: its rows keep
weight 1 and each completed job gets ``history_weight`` (default 5), so a handful of jobs
nudges the model and a large history dominates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from configurator.errors import EstimateError

DEFAULT_MIN_JOBS = 3
DEFAULT_HISTORY_WEIGHT = 5.0
#: calibrated speeds are clipped to this range (a factor outside is a data problem)
SPEED_RANGE = (0.1, 10.0)


@dataclass(frozen=True)
class SpeedFactor:
    """One node's calibration: ``speed`` (new), ``previous``, ``jobs`` used, ``changed``."""

    node_id: str
    speed: float
    previous: float
    jobs: int
    changed: bool


def speed_factors(
    node_ids: np.ndarray,
    estimated: np.ndarray,
    actual: np.ndarray,
    *,
    current: Mapping[str, float],
    min_jobs: int = DEFAULT_MIN_JOBS,
) -> dict[str, SpeedFactor]:
    """Per node ``median(estimated / actual)``; ``current`` speeds for nodes short of data.

    ``node_ids`` (n,), ``estimated`` (n,) speed-1 seconds, ``actual`` (n,) seconds. Every node
    in ``current`` gets an entry.
    """
    node_ids = np.asarray(node_ids)
    est = np.asarray(estimated, dtype=np.float64)
    act = np.asarray(actual, dtype=np.float64)
    if not (node_ids.shape == est.shape == act.shape):
        raise EstimateError("node ids, estimates and actual durations must have one shape")
    if not (
        np.isfinite(est).all() and np.isfinite(act).all() and (est > 0).all() and (act > 0).all()
    ):
        raise EstimateError("estimated and actual durations must be positive")
    out: dict[str, SpeedFactor] = {}
    for node in sorted(set(current) | set(node_ids.tolist())):
        prev = float(current.get(node, 1.0))
        rows = node_ids == node
        n = int(rows.sum())
        if n < min_jobs:
            out[node] = SpeedFactor(node, prev, prev, n, False)
            continue
        speed = float(np.clip(np.median(est[rows] / act[rows]), *SPEED_RANGE))
        out[node] = SpeedFactor(node, speed, prev, n, True)
    return out


def prior_weights(n_slicer: int, n_history: int, *, history_weight: float) -> np.ndarray:
    """``(n_slicer + n_history,)`` sample weights: 1 for slicer rows, then ``history_weight``."""
    if not (np.isfinite(history_weight) and history_weight > 0):
        raise EstimateError("history weight must be a positive number")
    return np.r_[np.ones(n_slicer), np.full(n_history, float(history_weight))]
