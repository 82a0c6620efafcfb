"""A weighted sum of several objectives as one objective, independent of units.

The customer's weights apply to objectives *normalised by their spread*: each objective
(minimization form) is divided by the spread (5th to 95th percentile) of its values over a
fixed sample of the design space — 512 Latin-hypercube designs drawn with a fixed seed,
feasible ones when there are at least 16, else all. The scales depend only on the space,
never on the run's seed, so the weighted objective is the same function for every seed and
algorithm. Weights ``1, 1`` mean "equally important across the range the space spans".
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from configurator.engines.optimize.problem import search_bounds

SCALE_SAMPLES = 512
SCALE_SEED = 20240601


def objective_scales(space: Any, *, samples: int = SCALE_SAMPLES) -> np.ndarray:
    """Spread of each objective column of ``space.evaluate(X).F`` over a fixed sample, (n_obj,)."""
    xl, xu = search_bounds(space)
    rng = np.random.default_rng(SCALE_SEED)
    n, d = samples, len(xl)
    U = (rng.permuted(np.tile(np.arange(n), (d, 1)), axis=1).T + rng.random((n, d))) / n
    ev = space.evaluate(np.asarray(space.repair(xl + U * (xu - xl)), dtype=float))
    F = np.asarray(ev.F, dtype=float)
    feas = np.asarray(ev.feasible, dtype=bool) & np.all(np.isfinite(F), axis=1)
    if feas.sum() >= 16:
        F = F[feas]
    else:
        F = F[np.all(np.isfinite(F), axis=1)]
    if len(F) == 0:
        return np.ones(F.shape[1])
    spread = np.percentile(F, 95, axis=0) - np.percentile(F, 5, axis=0)
    fallback = np.maximum(np.abs(np.median(F, axis=0)), 1e-12)
    return np.where(spread > 1e-12, spread, fallback)


class WeightedSpace:
    """Wraps a design space so ``evaluate(X).F`` is one column: ``sum_j w_j F_j / scale_j``.

    Everything else (variables, repair, decode, record, objective names...) is the wrapped
    space's. ``weights`` are normalised to sum to 1.
    """

    def __init__(self, space: Any, weights: Any):
        w = np.asarray(weights, dtype=float)
        self._space = space
        self.weights = w / w.sum()
        self.scales = objective_scales(space)
        self._coef = self.weights / self.scales

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not delegated (keeps pickling/copying safe)
            raise AttributeError(name)
        return getattr(self._space, name)

    def evaluate(self, X: np.ndarray) -> Any:
        ev = self._space.evaluate(X)
        F = np.asarray(ev.F, dtype=float) @ self._coef
        return dataclasses.replace(ev, F=F[:, None])
