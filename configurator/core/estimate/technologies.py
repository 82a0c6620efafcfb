"""Feature columns per printing technology (pure): which features a technology's
estimator reads and which of them are the additive physical terms of its prior.

The estimator objects (models, profiles, prices) are registered in
:mod:`configurator.services.estimate.technologies`; this is the data-only part the data
sets and the fitting engine share.
"""

from __future__ import annotations

import numpy as np

from configurator.core.estimate.fdm import (
    FDM_FEATURES,
    FDM_TERMS,
    FdmParams,
    fdm_analytic,
    fdm_features,
)
from configurator.core.estimate.sla import (
    SLA_FEATURES,
    SLA_TERMS,
    SlaParams,
    sla_analytic,
    sla_features,
)
from configurator.core.estimate.slm import (
    SLM_FEATURES,
    SLM_TERMS,
    SlmParams,
    slm_analytic,
    slm_features,
)
from configurator.errors import EstimateError

FDM, SLA, SLM = "FDM", "SLA", "SLM"
PARAMS: dict[str, type] = {FDM: FdmParams, SLA: SlaParams, SLM: SlmParams}
FEATURES: dict[str, tuple[str, ...]] = {FDM: FDM_FEATURES, SLA: SLA_FEATURES, SLM: SLM_FEATURES}
TERMS: dict[str, tuple[str, ...]] = {FDM: FDM_TERMS, SLA: SLA_TERMS, SLM: SLM_TERMS}


def feature_names(technology: str) -> tuple[str, ...]:
    """The feature columns of ``technology`` (``FDM``, ``SLA``, ``SLM``)."""
    try:
        return FEATURES[technology.upper()]
    except KeyError:
        raise EstimateError(
            f"unknown technology {technology!r}; known: {', '.join(FEATURES)}"
        ) from None


def n_terms(technology: str) -> int:
    """How many leading columns of :func:`feature_names` are physical terms."""
    feature_names(technology)
    return len(TERMS[technology.upper()])


def technology_features(technology: str, vertices, faces, params) -> dict[str, float]:
    """One feature row of ``technology`` for a mesh (``vertices`` (V, 3) mm, ``faces``
    (F, 3), print orientation) with that technology's profile ``params``
    (:class:`FdmParams`, :class:`SlaParams` or :class:`SlmParams`)."""
    tech = technology.upper()
    feature_names(tech)
    make = {FDM: fdm_features, SLA: sla_features, SLM: slm_features}[tech]
    return make(vertices, faces, params)


def technology_analytic(technology: str, params, **quantities) -> np.ndarray:
    """``(n, k)`` features of ``technology`` from closed-form quantities (the host-function
    path: ``volume``, ``area``, ``bbox_x``, ``bbox_y``, ``height`` and the optional
    ``side_area``, ``bottom_area``, ``overhang_area``, ``hull_volume``, ``bodies``)."""
    tech = technology.upper()
    feature_names(tech)
    make = {FDM: fdm_analytic, SLA: sla_analytic, SLM: slm_analytic}[tech]
    return make(params, **quantities)
