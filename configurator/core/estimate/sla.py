"""MSLA (resin) print-time and material features from the layer sections (pure).

A masked-SLA printer exposes a whole layer at once, so its time does not depend on how much
is printed in a layer, only on how many layers there are and how each one is peeled:

* exposure: the first ``faded_layers`` ramp from ``initial_exposure_time`` down to
  ``exposure_time`` (linear fade), every other layer takes ``exposure_time``;
* the tilt (peel) after each layer: ``slow_tilt_time`` when the layer's exposed area is
  larger than ``area_fill`` % of the display, else ``fast_tilt_time``;
* with supports on, the part is raised by ``support_object_elevation`` mm on supports and a
  pad: those layers are printed first (small areas: fast tilts) and the fade happens there.

:data:`SLA_TERMS` are those physical quantities computed from the part's sections at the
profile's layer height (exposure seconds, fast and slow layer counts, layer count); the
material terms are the part's volume, the support column under its overhangs
(:func:`~configurator.core.estimate.features.overhang_support`) and the pad's footprint.
The estimator fits how they add up; the supports' own areas are left to its correction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from configurator.core.estimate.features import mesh_volume, overhang_support
from configurator.core.estimate.layers import DEFAULT_MAX_LAYERS, LayerProfile, layer_profile
from configurator.errors import EstimateError

SLA_TERMS: tuple[str, ...] = (
    "exposure_s",  # Σ exposure over all layers (fade included), s
    "fast_layers",  # layers peeled with the fast tilt
    "slow_layers",  # layers peeled with the slow tilt
    "layers",  # all layers (elevation included)
    "volume",  # part volume, mm³
    "support_mm3",  # support column under the overhangs (0 with supports off), mm³
    "pad_mm2",  # pad footprint (bounding rectangle + margin; 0 with the pad off), mm²
)
SLA_FEATURES: tuple[str, ...] = SLA_TERMS + (
    "height",  # part height, mm
    "max_area",  # largest section, mm²
    "mean_area",  # mean section, mm²
    "overhang_mm2",  # projected overhang area, mm²
    "footprint_mm2",  # bounding rectangle on the bed, mm²
)


@dataclass(frozen=True)
class SlaParams:
    """The SLA profile figures the features need (mm, s, %)."""

    layer_height: float = 0.05
    exposure_time: float = 2.0
    initial_exposure_time: float = 25.0
    faded_layers: int = 10
    fast_tilt_time: float = 2.5
    slow_tilt_time: float = 5.0
    area_fill: float = 45.0
    display_width: float = 128.0
    display_height: float = 81.0
    supports: bool = True
    pad: bool = True
    elevation: float = 5.0
    pad_margin: float = 3.0

    @property
    def slow_area(self) -> float:
        """Exposed area above which a layer is peeled slowly, mm²."""
        return self.area_fill / 100.0 * self.display_width * self.display_height

    @classmethod
    def from_settings(cls, conf: Mapping[str, str]) -> SlaParams:
        """From PrusaSlicer SLA ``key = value`` settings (missing keys keep the defaults)."""

        def num(key: str, default: float) -> float:
            try:
                return float(str(conf.get(key, default)).rstrip("%"))
            except ValueError:
                raise EstimateError(
                    f"SLA setting {key} = {conf.get(key)!r} is not a number"
                ) from None

        d = cls()
        supports = bool(int(num("supports_enable", 1)))
        return cls(
            layer_height=num("layer_height", d.layer_height),
            exposure_time=num("exposure_time", d.exposure_time),
            initial_exposure_time=num("initial_exposure_time", d.initial_exposure_time),
            faded_layers=int(num("faded_layers", d.faded_layers)),
            fast_tilt_time=num("fast_tilt_time", d.fast_tilt_time),
            slow_tilt_time=num("slow_tilt_time", d.slow_tilt_time),
            area_fill=num("area_fill", d.area_fill),
            display_width=num("display_width", d.display_width),
            display_height=num("display_height", d.display_height),
            supports=supports,
            pad=bool(int(num("pad_enable", 1))),
            elevation=num("support_object_elevation", d.elevation) if supports else 0.0,
        )


def exposure_seconds(layers: int, p: SlaParams) -> float:
    """Σ exposure of ``layers`` layers: a linear fade over the first ``faded_layers``."""
    n = max(0, int(layers))
    k = min(n, max(0, p.faded_layers))
    step = (p.initial_exposure_time - p.exposure_time) / (p.faded_layers + 1)
    fade = sum(p.initial_exposure_time - i * step for i in range(k))
    return fade + (n - k) * p.exposure_time


def sla_features_from_profile(
    prof: LayerProfile,
    p: SlaParams,
    *,
    overhang_mm2: float,
    support_mm3: float,
    footprint: tuple[float, float],
) -> dict[str, float]:
    """One row of :data:`SLA_FEATURES`; ``footprint`` is the part's (x, y) extent, mm."""
    if not math.isclose(prof.layer_height, p.layer_height):
        raise EstimateError("the layer profile was not cut at the SLA layer height")
    lift = math.ceil(p.elevation / p.layer_height - 1e-9) if p.supports else 0
    layers = prof.layers + lift
    slow = prof.total(prof.area > p.slow_area)
    fx, fy = footprint
    pad = (fx + 2 * p.pad_margin) * (fy + 2 * p.pad_margin) if (p.pad and p.supports) else 0.0
    vol = prof.total(prof.area) * p.layer_height
    return {
        "exposure_s": exposure_seconds(layers, p),
        "fast_layers": float(layers - slow),
        "slow_layers": float(slow),
        "layers": float(layers),
        "volume": vol,
        "support_mm3": support_mm3 if p.supports else 0.0,
        "pad_mm2": pad,
        "height": prof.layers * p.layer_height,
        "max_area": float(prof.area.max()) if len(prof.area) else 0.0,
        "mean_area": prof.total(prof.area) / max(prof.layers, 1),
        "overhang_mm2": overhang_mm2,
        "footprint_mm2": fx * fy,
    }


def sla_features(
    vertices: np.ndarray, faces: np.ndarray, p: SlaParams, *, max_layers: int = DEFAULT_MAX_LAYERS
) -> dict[str, float]:
    """:data:`SLA_FEATURES` of a mesh (``vertices`` (V, 3) mm, ``faces`` (F, 3), +z up)."""
    prof = layer_profile(vertices, faces, layer_height=p.layer_height, max_layers=max_layers)
    over, sup = overhang_support(vertices, faces)
    ext = np.ptp(np.asarray(vertices, dtype=np.float64), axis=0)
    row = sla_features_from_profile(
        prof, p, overhang_mm2=over, support_mm3=sup, footprint=(float(ext[0]), float(ext[1]))
    )
    row["volume"] = mesh_volume(vertices, faces)  # exact, not the sampled sections
    return row


def sla_analytic(
    p: SlaParams,
    *,
    volume: np.ndarray,
    area: np.ndarray,
    bbox_x: np.ndarray,
    bbox_y: np.ndarray,
    height: np.ndarray,
    overhang_area: np.ndarray | float = 0.0,
    **_: np.ndarray | float,
) -> np.ndarray:
    """``(n, len(SLA_FEATURES))`` from closed-form quantities (mm³, mm², mm), uniform layers
    (mean section ``volume / height``; the support column under ``overhang_area`` taken at
    half the height)."""
    del area
    v, bx, by, h = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(q, dtype=np.float64)) for q in (volume, bbox_x, bbox_y, height))
    )
    lh = p.layer_height
    part_layers = np.maximum(1.0, np.ceil(h / lh - 1e-9))
    lift = math.ceil(p.elevation / lh - 1e-9) if p.supports else 0
    layers = part_layers + lift
    mean_area = v / (part_layers * lh)
    slow = np.where(mean_area > p.slow_area, part_layers, 0.0)
    fade = exposure_seconds(p.faded_layers, p) - p.faded_layers * p.exposure_time
    over = np.broadcast_to(np.asarray(overhang_area, float), v.shape)
    pad = (bx + 2 * p.pad_margin) * (by + 2 * p.pad_margin) if (p.pad and p.supports) else 0 * bx
    cols = {
        "exposure_s": layers * p.exposure_time + fade,
        "fast_layers": layers - slow,
        "slow_layers": slow,
        "layers": layers,
        "volume": v,
        "support_mm3": over * h / 2 if p.supports else 0 * v,
        "pad_mm2": pad,
        "height": part_layers * lh,
        "max_area": mean_area,
        "mean_area": mean_area,
        "overhang_mm2": over,
        "footprint_mm2": bx * by,
    }
    return np.column_stack([np.broadcast_to(cols[n], v.shape) for n in SLA_FEATURES])
