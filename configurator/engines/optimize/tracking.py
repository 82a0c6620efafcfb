"""Cheap bookkeeping over every evaluated batch (the problem's observer).

The tracker sees ``(X, F, G, feasible)`` arrays the problem already has, so the engine
never rebuilds arrays from pymoo's individuals. Per batch it costs a few vectorized
numpy calls: counts, a running minimum, and an archive — single objective: the best
distinct feasible designs; several: the non-dominated feasible designs of every
evaluation. With no feasible design yet it keeps the least violating ones for the
infeasibility report.
"""

from __future__ import annotations

import numpy as np
from moocore import is_nondominated

from configurator.engines.optimize.selection import thin_front


def _unique_rows_first(X: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct row of ``X`` (sorted indices)."""
    if len(X) == 0:
        return np.zeros(0, dtype=int)
    _, first = np.unique(X, axis=0, return_index=True)
    return np.sort(first)


class Tracker:
    """Running statistics of one optimization run.

    Attributes (all natural numpy types): ``n_eval``, ``n_feasible`` (feasible evaluations
    so far), ``best_F`` ((n_obj,) elementwise best feasible F, minimization form, or
    None), ``elite_X``/``elite_F`` (single objective: the ``keep`` best distinct
    feasible designs, sorted best first), ``front_X``/``front_F`` (several objectives: the
    distinct non-dominated feasible designs over every evaluation, thinned evenly when it
    grows past twice ``front_limit``), ``least_X``/``least_CV`` (the ``keep_infeasible``
    least violating designs while nothing is feasible).
    """

    def __init__(self, *, n_obj: int, keep: int, keep_infeasible: int = 32, front_limit: int = 500):
        self.n_obj = n_obj
        self.keep = max(1, int(keep))
        self.keep_infeasible = keep_infeasible
        self.n_eval = 0
        self.n_feasible = 0
        self.best_F: np.ndarray | None = None
        self.elite_X: np.ndarray | None = None
        self.elite_F: np.ndarray | None = None
        self.least_X: np.ndarray | None = None
        self.least_CV: np.ndarray | None = None
        self.front_limit = max(front_limit, self.keep)
        self.front_X: np.ndarray | None = None
        self.front_F: np.ndarray | None = None

    def __call__(self, X: np.ndarray, F: np.ndarray, G: np.ndarray, feasible: np.ndarray) -> None:
        n = len(X)
        self.n_eval += n
        k = int(np.count_nonzero(feasible))
        if k:
            self.n_feasible += k
            Ff = F[feasible]
            batch_best = Ff.min(axis=0)
            self.best_F = batch_best if self.best_F is None else np.minimum(self.best_F, batch_best)
            if self.n_obj == 1:
                self._update_elite(X[feasible], Ff[:, 0])
            else:
                self._update_front(X[feasible], Ff)
        elif self.n_feasible == 0:
            cv = np.maximum(G, 0.0).sum(axis=1) if G.size else np.zeros(n)
            self._update_least(X, cv)

    def _update_elite(self, X: np.ndarray, f: np.ndarray) -> None:
        if self.elite_X is not None:
            X = np.vstack([self.elite_X, X])
            f = np.concatenate([self.elite_F, f])
        first = _unique_rows_first(X)
        X, f = X[first], f[first]
        order = np.lexsort(X.T[::-1].tolist() + [f]) if len(X) else first
        order = order[: self.keep]
        self.elite_X, self.elite_F = X[order], f[order]

    def _update_front(self, X: np.ndarray, F: np.ndarray) -> None:
        if self.front_X is not None:
            X = np.vstack([self.front_X, X])
            F = np.vstack([self.front_F, F])
        nd = np.asarray(is_nondominated(F, maximise=False, keep_weakly=True), dtype=bool)
        X, F = X[nd], F[nd]
        first = _unique_rows_first(X)
        X, F = X[first], F[first]
        if len(X) > 2 * self.front_limit:  # keep the archive small: thin it evenly
            keep = thin_front(F, self.front_limit)
            X, F = X[keep], F[keep]
        self.front_X, self.front_F = X, F

    def _update_least(self, X: np.ndarray, cv: np.ndarray) -> None:
        if self.least_X is not None:
            X = np.vstack([self.least_X, X])
            cv = np.concatenate([self.least_CV, cv])
        first = _unique_rows_first(X)
        X, cv = X[first], cv[first]
        order = np.lexsort(X.T[::-1].tolist() + [cv])[: self.keep_infeasible]
        self.least_X, self.least_CV = X[order], cv[order]
