"""Print-time and material estimators (scikit-learn), seeded, no I/O.

:class:`PrintRegressor` predicts one positive target (print seconds, or grams) from a
technology's feature row (:mod:`configurator.core.estimate.technologies`): the first
``n_terms`` columns are additive physical terms (path lengths, areas, layer counts,
exposure and recoat seconds, volumes — all ≥ 0), the rest shape descriptors. Two stages:

1. a physical prior: a non-negative linear model on the terms, fitted with weights 1/y² so
   it minimises the *relative* error — the per-unit costs (s per mm of wall, s per layer,
   g per mm³ ...) a slicer or a machine adds up;
2. a small learned correction: gradient-boosted trees on ``log(y / prior)`` over
   ``log1p`` of every feature, the terms' shares of the prior and the log prior
   (acceleration on short segments, support structures, hatch jumps on thin shells ...).

``predict = prior × exp(correction)``: always positive, extrapolates like the physics.

:class:`NaiveBaseline` is the yardstick: ``volume / flow_rate + layers × overhead`` with
the two constants fitted (non-negative, relative least squares) on the training rows.

:class:`EstimateModel` holds one fitted regressor per (profile, target) of one technology.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from configurator.errors import EstimateError

TARGETS: tuple[str, ...] = ("seconds", "grams")


def _check_target(y: np.ndarray) -> None:
    if not (np.isfinite(y).all() and (y > 0).all()):
        raise ValueError("targets must be finite and positive (seconds or grams)")


def _weights(sample_weight, y: np.ndarray) -> np.ndarray:
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
    if w.shape != y.shape or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("sample_weight must be (n,) finite and non-negative")
    return w


def _log_features(X: np.ndarray, terms: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Inputs of the correction: log1p of the features, the terms' shares, the log prior."""
    share = terms / np.clip(terms.sum(axis=1, keepdims=True), 1e-12, None)
    return np.column_stack([np.sign(X) * np.log1p(np.abs(X)), share, np.log(prior)])


class PrintRegressor(RegressorMixin, BaseEstimator):
    """Physical prior × boosted log-ratio correction, for one positive target.

    Parameters
    ----------
    n_terms : int or None — how many leading columns are additive physical terms (None:
        all of them).
    terms : tuple of int or None — the term columns by index instead (overrides n_terms).
    n_estimators, learning_rate, max_depth, min_samples_leaf, subsample :
        the correction's :class:`~sklearn.ensemble.GradientBoostingRegressor`;
        ``n_estimators=0`` keeps the prior alone.
    random_state : int — seeds the boosting's row subsampling.

    Learned: ``prior_`` (LinearRegression, positive), ``term_scale_``, ``y_min_``,
    ``booster_`` (or None), ``n_features_in_``.
    """

    def __init__(
        self,
        *,
        n_terms: int | None = None,
        terms: tuple[int, ...] | None = None,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        max_depth: int = 2,
        min_samples_leaf: int = 5,
        subsample: float = 0.8,
        random_state: int = 0,
    ):
        self.n_terms = n_terms
        self.terms = terms
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.subsample = subsample
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True  # seconds and grams are > 0
        return tags

    def _terms(self, X: np.ndarray) -> np.ndarray:
        if self.terms is not None:
            idx = [int(i) for i in self.terms]
            if not idx or min(idx) < 0 or max(idx) >= X.shape[1]:
                raise ValueError(f"terms must index the {X.shape[1]} columns, got {self.terms}")
            return np.clip(X[:, idx], 0.0, None)
        k = X.shape[1] if self.n_terms is None else int(self.n_terms)
        if not 1 <= k <= X.shape[1]:
            raise ValueError(f"n_terms must be between 1 and {X.shape[1]}, got {self.n_terms}")
        return np.clip(X[:, :k], 0.0, None)

    def _prior(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        terms = self._terms(X)
        raw = self.prior_.predict(terms / self.term_scale_)
        return terms, np.maximum(raw, 1e-3 * self.y_min_)

    def fit(self, X, y, sample_weight=None) -> PrintRegressor:
        """Fit on ``X`` (n, k) features and ``y`` (n,) positive targets; returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _check_target(y)
        w = _weights(sample_weight, y)
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
        terms, prior = self._prior(X)
        if self.booster_ is None:
            return prior
        return prior * np.exp(self.booster_.predict(_log_features(X, terms, prior)))


class NaiveBaseline(RegressorMixin, BaseEstimator):
    """``volume / flow_rate + layers × overhead`` — the naive yardstick.

    ``volume_index`` and ``layers_index`` name the two columns read (defaults 0 and 1).
    ``flow_rate_`` (mm³/s) and ``layer_overhead_`` (s) are fitted non-negative by relative
    least squares; for grams the same form reads ``volume × g_per_mm3 + layers × g``.
    Learned: ``coef_`` (2,), ``n_features_in_``.
    """

    def __init__(self, *, volume_index: int = 0, layers_index: int = 1):
        self.volume_index = volume_index
        self.layers_index = layers_index

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True  # seconds and grams are > 0
        return tags

    def _cols(self, X: np.ndarray) -> np.ndarray:
        idx = [self.volume_index, self.layers_index]
        if max(idx) >= X.shape[1]:
            return np.column_stack([X[:, 0], np.ones(len(X))])  # one feature: volume only
        return X[:, idx]

    def fit(self, X, y, sample_weight=None) -> NaiveBaseline:
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _check_target(y)
        w = _weights(sample_weight, y) / y**2
        self.coef_ = (
            LinearRegression(positive=True, fit_intercept=False)
            .fit(np.clip(self._cols(X), 0.0, None), y, sample_weight=w)
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
        return np.maximum(np.clip(self._cols(X), 0.0, None) @ self.coef_, 1e-9)


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error, in percent."""
    y_true = np.asarray(y_true, float)
    y_pred = np.asarray(y_pred, float)
    return float(100.0 * np.mean(np.abs(y_pred - y_true) / np.abs(y_true)))


@dataclass
class EstimateModel:
    """Fitted regressors of one technology per profile and target.

    ``regressors[profile][target]`` with target in :data:`TARGETS`; ``feature_names`` the
    columns ``X`` must have; ``layer_height`` (mm) the profile's; ``densities`` (g/cm³) the
    profiles' material densities (grams for another material scale by the ratio).
    ``closed_form[profile][target]``: the same estimator fitted on the *closed-form*
    features of the same rows (what the host functions can compute without a mesh), so
    the optimizer's objectives are as faithful to the ground truth as their inputs allow.
    """

    layer_height: float
    regressors: dict[str, dict[str, BaseEstimator]]
    densities: dict[str, float] = field(default_factory=dict)
    technology: str = "FDM"
    feature_names: tuple[str, ...] = ()
    closed_form: dict[str, dict[str, BaseEstimator]] = field(default_factory=dict)

    @property
    def materials(self) -> tuple[str, ...]:
        """The profiles the model was trained for."""
        return tuple(sorted(self.regressors))

    def predict(self, profile: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds (n,), grams (n,))`` for features ``X`` (n, k) with ``profile``."""
        if profile not in self.regressors:
            raise EstimateError(
                f"no {self.technology} estimator for profile {profile!r}; "
                f"trained for {list(self.materials)}"
            )
        k = len(self.feature_names)
        X = np.asarray(X, dtype=np.float64).reshape(-1, k)
        if not np.isfinite(X).all():
            raise EstimateError("features must be finite")
        regs = self.regressors[profile]
        return regs["seconds"].predict(X), regs["grams"].predict(X)

    def predict_closed_form(self, profile: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds (n,), grams (n,))`` from closed-form features ``X`` (n, k) (the
        host-function path); the mesh regressors when no closed-form ones were fitted."""
        if profile not in self.closed_form:
            return self.predict(profile, X)
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(self.feature_names))
        if not np.isfinite(X).all():
            raise EstimateError("features must be finite")
        regs = self.closed_form[profile]
        return regs["seconds"].predict(X), regs["grams"].predict(X)


def for_target(
    estimator: BaseEstimator | Mapping[str, BaseEstimator], target: str
) -> BaseEstimator:
    """``estimator`` itself, or its entry for ``target`` when it is a mapping."""
    if isinstance(estimator, Mapping):
        try:
            return estimator[target]
        except KeyError:
            raise EstimateError(f"no estimator for target {target!r}") from None
    return estimator


def fit_estimate_model(
    X: np.ndarray,
    targets: dict[str, np.ndarray],
    profiles: np.ndarray,
    *,
    technology: str,
    feature_names: Sequence[str],
    estimator: BaseEstimator | Mapping[str, BaseEstimator],
    layer_height: float,
    densities: dict[str, float] | None = None,
    sample_weight: np.ndarray | None = None,
    X_closed: np.ndarray | None = None,
) -> EstimateModel:
    """Fit a clone of ``estimator`` (or ``estimator[target]``) per profile × target.

    ``X`` (n, k) features, ``targets`` {"seconds": (n,), "grams": (n,)}, ``profiles`` (n,)
    labels, optional ``sample_weight`` (n,); ``X_closed`` (n, k) the rows' closed-form
    features, fitted the same way into :attr:`EstimateModel.closed_form`.
    """
    profiles = np.asarray(profiles)
    regs: dict[str, dict[str, BaseEstimator]] = {}
    closed: dict[str, dict[str, BaseEstimator]] = {}
    for prof in sorted(set(profiles.tolist())):
        rows = profiles == prof
        if rows.sum() < 10:
            raise EstimateError(f"profile {prof!r} has {int(rows.sum())} rows; need at least 10")
        w = None if sample_weight is None else np.asarray(sample_weight)[rows]
        for out, data in ((regs, X), (closed, X_closed)):
            if data is None:
                continue
            out[prof] = {
                t: clone(for_target(estimator, t)).fit(
                    data[rows], np.asarray(targets[t])[rows], sample_weight=w
                )
                for t in TARGETS
            }
    return EstimateModel(
        closed_form=closed,
        layer_height=float(layer_height),
        regressors=regs,
        densities=dict(densities or {}),
        technology=technology,
        feature_names=tuple(feature_names),
    )
