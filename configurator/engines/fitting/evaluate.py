"""Held-out evaluation: MAPE on shape families the model never saw, against the baseline.

Rows are split by **shape family**, never by row (:func:`family_folds`): leave one family
out — every catalog is one family, every seeded family of
:mod:`configurator.core.estimate.families` another — so each prediction comes from a model
fitted without any part of its kind (a catalog's designs are never used to predict that
catalog; thin-walled tubes never predict thin-walled tubes). Within a fold one clone per
profile and target is fitted on the training rows; the out-of-fold predictions of all
folds are pooled into one MAPE per target, with the MAPE per family, the worst part and
the same figures for :class:`~configurator.engines.fitting.model.NaiveBaseline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GroupKFold

from configurator.engines.fitting.model import TARGETS, NaiveBaseline, for_target
from configurator.errors import EstimateError


def group_folds(
    groups: np.ndarray, *, folds: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(train_idx, test_idx), ...]``: ``folds`` splits with disjoint groups (seeded)."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if folds < 2 or n_groups < folds:
        raise EstimateError(
            f"need at least {max(folds, 2)} groups for {folds}-fold CV, got {n_groups}"
        )
    cv = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(len(groups)), groups=groups)]


def family_folds(families: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-family-out: one ``(train_idx, test_idx)`` per family (sorted by name)."""
    families = np.asarray(families)
    names = sorted(set(families.tolist()))
    if len(names) < 2:
        raise EstimateError(f"need at least 2 shape families to hold one out, got {names}")
    return [(np.flatnonzero(families != f), np.flatnonzero(families == f)) for f in names]


def out_of_fold(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    *,
    materials: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """``(n,)`` predictions, each from a clone fitted without that row's fold."""
    pred = np.full(len(y), np.nan)
    for train, test in splits:
        for mat in np.unique(materials[test]):
            tr = train[materials[train] == mat]
            te = test[materials[test] == mat]
            if len(tr) == 0:
                raise EstimateError(f"profile {mat!r} has no training rows in a fold")
            pred[te] = clone(estimator).fit(X[tr], y[tr]).predict(X[te])
    return pred


def summary(
    y: np.ndarray, pred: np.ndarray, *, families: np.ndarray, parts: np.ndarray
) -> dict[str, Any]:
    """MAPE, P90, worst part and MAPE per family of predictions ``pred`` of ``y`` (n,)."""
    ape = 100.0 * np.abs(pred - y) / y
    worst = int(np.argmax(ape))
    by_family = {
        str(f): {
            "mape": float(ape[families == f].mean()),
            "max_ape": float(ape[families == f].max()),
            "worst_part": str(parts[families == f][int(np.argmax(ape[families == f]))]),
            "rows": int((families == f).sum()),
        }
        for f in sorted(set(families.tolist()))
    }
    return {
        "mape": float(ape.mean()),
        "p90_ape": float(np.percentile(ape, 90)),
        "max_ape": float(ape[worst]),
        "worst_part": f"{families[worst]}/{parts[worst]}",
        "by_family": by_family,
    }


def evaluate_families(
    X: np.ndarray,
    targets: Mapping[str, np.ndarray],
    *,
    families: np.ndarray,
    profiles: np.ndarray,
    parts: np.ndarray,
    estimator: BaseEstimator | Mapping[str, BaseEstimator],
    baseline: BaseEstimator | None = None,
) -> dict[str, Any]:
    """The held-out report: ``{target: {"model": {...}, "baseline": {...}, "ratio"}}``.

    ``X`` (n, k) features, ``targets`` {"seconds": (n,), "grams": (n,)}, ``families`` (n,)
    shape families (the folds), ``profiles`` (n,) profile names (one model each),
    ``parts`` (n,) part labels (to name the worst part); ``estimator`` one for both targets
    or one per target.
    """
    families = np.asarray(families)
    profiles = np.asarray(profiles)
    parts = np.asarray(parts)
    splits = family_folds(families)
    base = baseline if baseline is not None else NaiveBaseline()
    report: dict[str, Any] = {
        "split": "leave one shape family out",
        "rows": int(len(X)),
        "families": sorted(set(families.tolist())),
        "estimator": {t: repr(for_target(estimator, t)) for t in TARGETS},
        "baseline": repr(base),
    }
    for t in TARGETS:
        y = np.asarray(targets[t], dtype=np.float64)
        model = out_of_fold(for_target(estimator, t), X, y, materials=profiles, splits=splits)
        naive = out_of_fold(base, X, y, materials=profiles, splits=splits)
        m = summary(y, model, families=families, parts=parts)
        b = summary(y, naive, families=families, parts=parts)
        report[t] = {"model": m, "baseline": b, "ratio": b["mape"] / max(m["mape"], 1e-12)}
    return report
