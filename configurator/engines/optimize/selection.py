"""Which designs a run returns: best distinct (one objective) or a thinned Pareto front.

Pure numpy on minimization-form ``F``; every order is deterministic (ties broken by the
design's row values), so the same run gives the same list.
"""

from __future__ import annotations

import numpy as np
from moocore import is_nondominated


def distinct_rows(X: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the first occurrence of each distinct row of ``X`` (n, d)."""
    if len(X) == 0:
        return np.zeros(0, dtype=int)
    _, first = np.unique(X, axis=0, return_index=True)
    return np.sort(first)


def order_by_objectives(X: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Row order by F columns (first column first), ties by X values."""
    keys = [X[:, j] for j in range(X.shape[1] - 1, -1, -1)] + [
        F[:, j] for j in range(F.shape[1] - 1, -1, -1)
    ]
    return np.lexsort(keys) if len(X) else np.zeros(0, dtype=int)


def pareto_front(X: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-dominated rows of (X, F), ordered by the first objective."""
    if len(X) == 0:
        return X, F
    keep = distinct_rows(X)
    X, F = X[keep], F[keep]
    nd = np.asarray(is_nondominated(F, maximise=False, keep_weakly=True), dtype=bool)
    X, F = X[nd], F[nd]
    order = order_by_objectives(X, F)
    return X[order], F[order]


def thin_front(F: np.ndarray, k: int) -> np.ndarray:
    """Pick ``k`` indices of a front (n, m) spread evenly along it.

    Objectives are normalised to [0, 1]; the extreme point of each objective is taken
    first, then greedily the point farthest from those chosen (max-min distance), ties
    to the lower index. Returns indices in ascending order. ``k >= n`` returns all.
    """
    n = len(F)
    if k >= n:
        return np.arange(n)
    if k <= 0:
        return np.zeros(0, dtype=int)
    lo, hi = F.min(axis=0), F.max(axis=0)
    Z = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    chosen: list[int] = []
    for j in range(F.shape[1]):
        i = int(np.argmin(Z[:, j]))
        if i not in chosen:
            chosen.append(i)
        if len(chosen) == k:
            return np.sort(np.array(chosen))
    dist = np.min(np.linalg.norm(Z[:, None, :] - Z[chosen][None, :, :], axis=2), axis=1)
    dist[chosen] = -np.inf  # never pick a point twice, even when points coincide
    while len(chosen) < k:
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(Z - Z[i], axis=1))
        dist[i] = -np.inf
    return np.sort(np.array(chosen))
