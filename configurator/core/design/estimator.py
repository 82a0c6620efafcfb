"""The print-estimator seam: what the catalog's host functions call.

A catalog expression ``print_seconds(volume, area, bbox_x, bbox_y, height, ...)`` (or
``print_grams(...)``) is answered by a :class:`PrintEstimator` bound to the
:class:`~configurator.core.design.space.DesignSpace`. The core stays pure: the learned model
(scikit-learn, files) is wrapped by the service layer
(:func:`configurator.services.estimate.service.catalog_estimator`) and *supplied*; without one, the
space uses :class:`AnalyticEstimator`, a slicer-free formula, so ``catalog check`` and pure
tests work alone.

``identity`` names the estimator and its version (``"analytic-v1"``,
``"learned:<first 16 hex of the model's sha256>"``); a design record of a catalog that calls
a host function carries it, and it is part of the design id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: sustained volumetric flow for solid walls when a material gives no ``flow`` property,
#: mm³/s (PLA, 0.4 mm nozzle, 0.2 mm layers; the enclosure catalog's PLA figure).
DEFAULT_FLOW_MM3_S = 6.0
#: per-layer time: travel, retraction and the Z move, s.
DEFAULT_LAYER_OVERHEAD_S = 4.0
#: layer height the layer count is taken at, mm.
DEFAULT_LAYER_HEIGHT_MM = 0.2
#: the material property the fallback reads as the flow rate (mm³/s).
FLOW_PROPERTY = "flow"
ANALYTIC_IDENTITY = "analytic-v1"


@runtime_checkable
class PrintEstimator(Protocol):
    """Print seconds and grams of whole print plates from closed-form quantities.

    ``predict(material, *, volume, area, bbox_x, bbox_y, height, **optional)``: arrays
    ``(n,)`` in mm³, mm², mm, mm, mm (``optional``: ``side_area``, ``bottom_area``,
    ``overhang_area`` mm², ``hull_volume`` mm³, ``bodies`` count, each ``(n,)``); every value
    finite and >= 0 (the expression layer never passes others). Returns
    ``(seconds (n,), grams (n,))`` for the catalog material label ``material``. Must be
    deterministic; ``identity`` changes whenever the predictions may.
    """

    identity: str

    def predict(
        self,
        material: str,
        *,
        volume: np.ndarray,
        area: np.ndarray,
        bbox_x: np.ndarray,
        bbox_y: np.ndarray,
        height: np.ndarray,
        **optional: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class AnalyticEstimator:
    """The naive slicer-free estimate (the fallback when no estimator is supplied).

    ``seconds = volume / flow + layers × layer_overhead`` with
    ``layers = ceil(height / layer_height)`` (at least 1) and ``flow`` the material's
    (mm³/s; :data:`DEFAULT_FLOW_MM3_S` when not given); ``grams = volume × density / 1000``
    (density g/cm³; 0 g when unknown). The optional features are ignored. Picklable.
    """

    densities: Mapping[str, float] = field(default_factory=dict)
    flows: Mapping[str, float] = field(default_factory=dict)
    layer_overhead: float = DEFAULT_LAYER_OVERHEAD_S
    layer_height: float = DEFAULT_LAYER_HEIGHT_MM

    @classmethod
    def for_catalog(cls, catalog: Any) -> AnalyticEstimator:
        """Densities and ``flow`` properties (when present) of ``catalog``'s materials."""
        mats = catalog.materials
        return cls(
            densities={k: float(m.density) for k, m in mats.items()},
            flows={
                k: float(m.properties[FLOW_PROPERTY])
                for k, m in mats.items()
                if FLOW_PROPERTY in (m.properties or {})
            },
        )

    @property
    def identity(self) -> str:
        """``analytic-v1`` (plus the constants when they are not the defaults); the flows
        and densities come from the catalog, whose content hash the record carries."""
        if (self.layer_overhead, self.layer_height) == (
            DEFAULT_LAYER_OVERHEAD_S,
            DEFAULT_LAYER_HEIGHT_MM,
        ):
            return ANALYTIC_IDENTITY
        return (
            f"{ANALYTIC_IDENTITY}:overhead={self.layer_overhead:g}s,layer={self.layer_height:g}mm"
        )

    def predict(
        self,
        material: str,
        *,
        volume: np.ndarray,
        area: np.ndarray,
        bbox_x: np.ndarray,
        bbox_y: np.ndarray,
        height: np.ndarray,
        **optional: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds (n,), grams (n,))``; see the class docstring."""
        vol = np.asarray(volume, dtype=np.float64)
        h = np.asarray(height, dtype=np.float64)
        flow = float(self.flows.get(material, DEFAULT_FLOW_MM3_S))
        if not (math.isfinite(flow) and flow > 0):
            flow = DEFAULT_FLOW_MM3_S
        layers = np.maximum(1.0, np.ceil(h / self.layer_height - 1e-9))
        seconds = vol / flow + layers * self.layer_overhead
        grams = vol * float(self.densities.get(material, 0.0)) / 1000.0
        return np.broadcast_to(seconds, vol.shape).copy(), np.broadcast_to(grams, vol.shape).copy()
