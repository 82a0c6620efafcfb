"""Cross-validated MAPE of an estimator against the naive baseline, on held-out designs.

Folds are grouped by design (:func:`group_folds`): every row of a design — each part, each
slicer profile — is in the training rows or in the held-out rows of a fold, never both, so
the reported error is on parts the model never saw. Within a fold one clone per material
and target is fitted on the training rows and predicts the held-out rows; the out-of-fold
predictions of all folds are pooled into one MAPE per target (plus per material and per
source) for the model and for :class:`~configurator.engines.fitting.model.NaiveBaseline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GroupKFold

from configurator.engines.fitting.model import TARGETS, NaiveBaseline, PrintRegressor
from configurator.errors import EstimateError


def group_folds(
    groups: np.ndarray, *, folds: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(train_idx, test_idx), ...]``: ``folds`` splits with disjoint groups (seeded)."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if folds < 2 or n_groups < folds:
        raise EstimateError(
            f"need at least {max(folds, 2)} designs for {folds}-fold CV, got {n_groups}"
        )
    cv = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(len(groups)), groups=groups)]


def out_of_fold(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    *,
    materials: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """``(n,)`` predictions, each from a clone fitted without that row's design."""
    pred = np.full(len(y), np.nan)
    for train, test in splits:
        for mat in np.unique(materials[test]):
            tr = train[materials[train] == mat]
            te = test[materials[test] == mat]
            if len(tr) == 0:
                raise EstimateError(f"material {mat!r} has no training rows in a fold")
            pred[te] = clone(estimator).fit(X[tr], y[tr]).predict(X[te])
    return pred


def _summary(y: np.ndarray, pred: np.ndarray, labels: Mapping[str, np.ndarray]) -> dict[str, Any]:
    ape = 100.0 * np.abs(pred - y) / y
    out: dict[str, Any] = {
        "mape": float(ape.mean()),
        "p90_ape": float(np.percentile(ape, 90)),
        "max_ape": float(ape.max()),
    }
    for key, lab in labels.items():
        out[f"mape_by_{key}"] = {
            str(v): float(ape[lab == v].mean()) for v in sorted(set(lab.tolist())) if v != ""
        }
    return out


def cross_validate(
    X: np.ndarray,
    targets: Mapping[str, np.ndarray],
    *,
    groups: np.ndarray,
    materials: np.ndarray,
    labels: Mapping[str, np.ndarray] | None = None,
    estimator: BaseEstimator | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """The report: ``{target: {"model": {...}, "baseline": {...}, "ratio": b/m}, ...}``.

    ``X`` (n, 13), ``targets`` {"seconds": (n,), "grams": (n,)}, ``groups`` (n,) design keys,
    ``materials`` (n,) profile names, ``labels`` extra (n,) label arrays to break MAPE down by.
    """
    est = estimator if estimator is not None else PrintRegressor()
    materials = np.asarray(materials)
    splits = group_folds(groups, folds=folds, seed=seed)
    by = {"material": materials, **(labels or {})}
    report: dict[str, Any] = {
        "folds": folds,
        "seed": seed,
        "rows": len(X),
        "designs": len(np.unique(groups)),
        "estimator": repr(est),
    }
    for t in TARGETS:
        y = np.asarray(targets[t], dtype=np.float64)
        model = out_of_fold(est, X, y, materials=materials, splits=splits)
        base = out_of_fold(NaiveBaseline(), X, y, materials=materials, splits=splits)
        m, b = _summary(y, model, by), _summary(y, base, by)
        report[t] = {"model": m, "baseline": b, "ratio": b["mape"] / max(m["mape"], 1e-12)}
    return report
