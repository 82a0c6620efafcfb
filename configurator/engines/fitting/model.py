"""Learned print-time and material estimators (scikit-learn), seeded, no I/O.

:class:`PrintRegressor` predicts one positive target (print seconds, or filament grams)
from the mesh features of :mod:`configurator.core.estimate.features` (columns in
:data:`~configurator.core.estimate.features.FEATURE_NAMES` order). It has two stages:

1. a physical prior: a non-negative linear model on the path-length terms a slicer
   adds up — solid shell volume and sparse-infill volume (the part's volume split by the
   profile's wall/skin thickness), ``side_area / layer_height`` (perimeter length, mm),
   ``up_area + down_area`` (skins), ``layers`` (layer changes), ``overhang_area``,
   ``bottom_area`` (slow first layer), ``hull_volume - volume`` (travel) — fitted
   with weights 1/y² so it minimises the *relative* error;
2. a correction: gradient-boosted trees on ``log(y / prior)`` over log features
   (acceleration limits on short segments, minimum layer time on small parts, ...).

``predict = prior × exp(correction)``: always positive, extrapolates like the physics.

:class:`NaiveBaseline` is the yardstick: ``volume / flow_rate + layers × overhead`` with the
two constants fitted (non-negative, relative least squares) on the training rows.

:class:`EstimateModel` holds one fitted regressor per (material, target) and predicts
seconds and grams for feature matrices; :func:`predict_from_features` is the vectorized
entry point for optimizer objectives that have closed-form features but no mesh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from configurator.core.estimate.features import (
    DEFAULT_LAYER_HEIGHT,
    FEATURE_NAMES,
    analytic_features,
)
from configurator.errors import EstimateError

TARGETS: tuple[str, ...] = ("seconds", "grams")
#: wall thickness behind the side area: 2 perimeters x 0.45 mm extrusion width
DEFAULT_SHELL_MM = 0.9
#: skin thickness behind top/bottom areas: about 5 top / 4 bottom layers of 0.2 mm
DEFAULT_SKIN_MM = 0.9
_IDX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def physical_terms(
    X: np.ndarray,
    *,
    layer_height: float,
    shell_mm: float = DEFAULT_SHELL_MM,
    skin_mm: float = DEFAULT_SKIN_MM,
) -> np.ndarray:
    """``(n, 8)`` non-negative path terms of the prior (see the module docstring).

    The part's volume is split into a solid shell (walls ``shell_mm`` thick behind the side
    area, skins ``skin_mm`` thick behind the top/bottom area, never more than the volume)
    and the sparse-infill rest: thin-walled parts are all shell.
    """
    c = {n: X[:, i] for n, i in _IDX.items()}
    shell = np.minimum(
        c["volume"], c["side_area"] * shell_mm + (c["up_area"] + c["down_area"]) * skin_mm
    )
    return np.column_stack(
        [
            shell,
            c["volume"] - shell,
            c["side_area"] / layer_height,
            c["up_area"] + c["down_area"],
            c["layers"],
            c["overhang_area"],
            c["bottom_area"],
            np.clip(c["hull_volume"] - c["volume"], 0.0, None),
        ]
    )


def _log_features(X: np.ndarray, terms: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Inputs of the correction stage: log1p of features, terms shares, and the prior."""
    share = terms / np.clip(terms.sum(axis=1, keepdims=True), 1e-12, None)
    layers = np.clip(X[:, _IDX["layers"]], 1.0, None)
    vol = np.clip(X[:, _IDX["volume"]], 1e-9, None)
    area = np.clip(X[:, _IDX["area"]], 1e-9, None)
    per_layer = vol / layers
    return np.column_stack(
        [
            np.log1p(np.clip(X, 0.0, None)),
            share,
            np.log1p(per_layer),
            np.log(2.0 * vol / area),  # mean wall thickness, mm (thin shells vs blocks)
            np.log(vol / np.clip(X[:, _IDX["hull_volume"]], vol, None)),  # solidity
            X[:, _IDX["side_area"]] / area,  # how vertical the surface is
            np.log(prior),
            np.log(prior / layers),  # prior time per layer: minimum-layer-time slowdowns
        ]
    )


def _check_target(y: np.ndarray) -> None:
    if not (np.isfinite(y).all() and (y > 0).all()):
        raise ValueError("targets must be finite and positive (seconds or grams)")


def _check_features(X: np.ndarray) -> None:
    if X.shape[1] != len(FEATURE_NAMES):
        raise ValueError(
            f"X has {X.shape[1]} columns; expected {len(FEATURE_NAMES)} in the order {FEATURE_NAMES}"
        )
    if (X < 0).any():
        raise ValueError("features must be non-negative")


class PrintRegressor(RegressorMixin, BaseEstimator):
    """Physics prior × boosted log-ratio correction, for one positive target.

    Parameters
    ----------
    layer_height : float, mm — converts side area into perimeter path length.
    shell_mm, skin_mm : float, mm — wall and top/bottom skin thickness of the profile,
        splitting the volume into solid shell and sparse infill.
    n_estimators, learning_rate, max_depth, min_samples_leaf, subsample :
        settings of the correction's :class:`~sklearn.ensemble.GradientBoostingRegressor`;
        ``n_estimators=0`` keeps the prior alone.
    random_state : int — seeds the boosting's row subsampling.

    Learned attributes: ``prior_`` (LinearRegression, positive), ``term_scale_`` (8,),
    ``booster_`` (GradientBoostingRegressor or None), ``n_features_in_``.
    """

    def __init__(
        self,
        *,
        layer_height: float = DEFAULT_LAYER_HEIGHT,
        shell_mm: float = DEFAULT_SHELL_MM,
        skin_mm: float = DEFAULT_SKIN_MM,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        min_samples_leaf: int = 5,
        subsample: float = 0.8,
        random_state: int = 0,
    ):
        self.layer_height = layer_height
        self.shell_mm = shell_mm
        self.skin_mm = skin_mm
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.subsample = subsample
        self.random_state = random_state

    def _terms(self, X: np.ndarray) -> np.ndarray:
        return physical_terms(
            X, layer_height=self.layer_height, shell_mm=self.shell_mm, skin_mm=self.skin_mm
        )

    def _prior(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        terms = self._terms(X)
        raw = self.prior_.predict(terms / self.term_scale_)
        floor = 1e-3 * self.y_min_
        return terms, np.maximum(raw, floor)

    def fit(self, X, y, sample_weight=None) -> PrintRegressor:
        """Fit on ``X`` (n, 13) features and ``y`` (n,) positive targets; returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _check_features(X)
        _check_target(y)
        if not self.layer_height > 0:
            raise ValueError("layer_height must be positive")
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
        if w.shape != y.shape or (w < 0).any() or not np.isfinite(w).all():
            raise ValueError("sample_weight must be (n,) finite and non-negative")
        terms = self._terms(X)
        scale = terms.mean(axis=0)
        self.term_scale_ = np.where(scale > 0, scale, 1.0)
        self.y_min_ = float(y.min())
        self.prior_ = LinearRegression(positive=True).fit(
            terms / self.term_scale_, y, sample_weight=w / y**2
        )
        _, prior = self._prior(X)
        if self.n_estimators > 0 and len(y) >= 2 * self.min_samples_leaf:
            self.booster_ = GradientBoostingRegressor(
                loss="huber",
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf,
                subsample=self.subsample,
                random_state=self.random_state,
            ).fit(_log_features(X, terms, prior), np.log(y / prior), sample_weight=w)
        else:
            self.booster_ = None
        return self

    def predict(self, X) -> np.ndarray:
        """``(n,)`` positive predictions in the target's unit."""
        check_is_fitted(self, "prior_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        _check_features(X)
        terms, prior = self._prior(X)
        if self.booster_ is None:
            return prior
        return prior * np.exp(self.booster_.predict(_log_features(X, terms, prior)))


class NaiveBaseline(RegressorMixin, BaseEstimator):
    """``volume / flow_rate + layers × overhead`` (time) — the naive yardstick.

    ``flow_rate_`` (mm³/s) and ``layer_overhead_`` (s) are fitted non-negative by
    relative least squares on the training rows; for a grams target the same form reads
    ``volume × g_per_mm3 + layers × g_per_layer``. Learned: ``coef_`` (2,), ``n_features_in_``.
    """

    def fit(self, X, y, sample_weight=None) -> NaiveBaseline:
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _check_features(X)
        _check_target(y)
        A = X[:, [_IDX["volume"], _IDX["layers"]]]
        w = (np.ones_like(y) if sample_weight is None else np.asarray(sample_weight)) / y**2
        self.coef_ = (
            LinearRegression(positive=True, fit_intercept=False)
            .fit(A, y, sample_weight=w)
            .coef_.astype(np.float64)
        )
        return self

    @property
    def flow_rate_(self) -> float:
        """Fitted volumetric flow, mm³/s (inf when the volume term is unused)."""
        return float("inf") if self.coef_[0] == 0 else 1.0 / float(self.coef_[0])

    @property
    def layer_overhead_(self) -> float:
        return float(self.coef_[1])

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        _check_features(X)
        pred = X[:, [_IDX["volume"], _IDX["layers"]]] @ self.coef_
        return np.maximum(pred, 1e-9)


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error, in percent."""
    y_true = np.asarray(y_true, float)
    y_pred = np.asarray(y_pred, float)
    return float(100.0 * np.mean(np.abs(y_pred - y_true) / np.abs(y_true)))


@dataclass
class EstimateModel:
    """Fitted regressors per material and target, plus what they were trained with.

    ``regressors[material][target]`` with target in :data:`TARGETS`; ``layer_height`` (mm)
    is the slicer profile's; ``densities`` (g/cm³) are the profiles' filament densities
    (grams for another density of the same technology scale by the ratio).
    """

    layer_height: float
    regressors: dict[str, dict[str, BaseEstimator]]
    densities: dict[str, float] = field(default_factory=dict)
    technology: str = "FDM"

    @property
    def materials(self) -> tuple[str, ...]:
        return tuple(sorted(self.regressors))

    def predict(self, material: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds (n,), grams (n,))`` for features ``X`` (n, 13) printed in ``material``."""
        if material not in self.regressors:
            raise EstimateError(
                f"no estimator for material {material!r}; trained for {list(self.materials)}"
            )
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
        if not np.isfinite(X).all() or (X < 0).any():
            raise EstimateError("features must be finite and non-negative")
        regs = self.regressors[material]
        return regs["seconds"].predict(X), regs["grams"].predict(X)


def fit_estimate_model(
    X: np.ndarray,
    targets: Mapping[str, np.ndarray],
    materials: np.ndarray,
    *,
    estimator: BaseEstimator | None = None,
    layer_height: float = DEFAULT_LAYER_HEIGHT,
    densities: Mapping[str, float] | None = None,
    sample_weight: np.ndarray | None = None,
) -> EstimateModel:
    """Fit a clone of ``estimator`` (default :class:`PrintRegressor`) per material × target.

    ``X`` (n, 13) features, ``targets`` {"seconds": (n,), "grams": (n,)}, ``materials`` (n,)
    labels, optional ``sample_weight`` (n,).
    """
    base = estimator if estimator is not None else PrintRegressor(layer_height=layer_height)
    materials = np.asarray(materials)
    regs: dict[str, dict[str, BaseEstimator]] = {}
    for mat in sorted(set(materials.tolist())):
        rows = materials == mat
        if rows.sum() < 10:
            raise EstimateError(f"material {mat!r} has {int(rows.sum())} rows; need at least 10")
        w = None if sample_weight is None else np.asarray(sample_weight)[rows]
        regs[mat] = {
            t: clone(base).fit(X[rows], np.asarray(targets[t])[rows], sample_weight=w)
            for t in TARGETS
        }
    return EstimateModel(
        layer_height=layer_height, regressors=regs, densities=dict(densities or {})
    )


def predict_from_features(
    model: EstimateModel,
    *,
    material: str,
    volume: np.ndarray,
    area: np.ndarray,
    bbox_x: np.ndarray,
    bbox_y: np.ndarray,
    height: np.ndarray,
    **optional: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized ``(seconds (n,), grams (n,))`` from closed-form quantities (mm, mm², mm³).

    For catalog objectives evaluated on a whole population: builds the feature matrix with
    :func:`~configurator.core.estimate.features.analytic_features` (``optional`` may give
    ``side_area``, ``bottom_area``, ``overhang_area``, ``hull_volume``, ``bodies``) at the
    model's layer height, then one ``predict`` call per target.
    """
    X = analytic_features(
        volume=volume,
        area=area,
        bbox_x=bbox_x,
        bbox_y=bbox_y,
        height=height,
        layer_height=model.layer_height,
        **optional,
    )
    return model.predict(material, X)
