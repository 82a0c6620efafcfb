"""FDM print-path features from a mesh's layer sections (pure).

From :func:`~configurator.core.estimate.layers.layer_profile` at the profile's layer height,
per layer ``i`` (area ``A_i`` mm², contour length ``P_i`` mm, ``islands_i``, ``holes_i``):

* walls: the outer perimeter is ``P_i`` long; the inner ones ``(perimeters - 1) · P_i``,
  capped by the area left after the outer one (``A_i / width - P_i``): a wall thinner than
  the perimeters is all perimeter;
* the wall band ``min(A_i, perimeters · width · P_i)`` and the interior ``A_i - band``;
* solid (skin) area: the part of the section not covered by every layer within
  ``bottom_solid_layers`` below and ``top_solid_layers`` above — from the area differences,
  ``A_i - min(A_{i-b}, ..., A_{i+t})`` (outside the part counts as 0, so the first and last
  layers are solid), capped by the interior;
* sparse infill area = interior - solid; bridges ``max(0, A_i - A_{i-1})`` above layer 0;
* a per-layer time at the profile's speeds (walls at perimeter/external speed, solid and
  sparse infill at their speeds over the extrusion width, first layer at first-layer
  speed, a travel and retraction per loop) and the cooling slowdown
  ``max(0, slowdown_below_layer_time - t_i)`` (PrusaSlicer slows short layers down).

:data:`FDM_TERMS` are additive path quantities (the learned prior's inputs, all ≥ 0);
:data:`FDM_FEATURES` adds shape descriptors for the learned correction. The features
depend only on the mesh and the profile — never on where the shape came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from configurator.core.estimate.layers import DEFAULT_MAX_LAYERS, LayerProfile, layer_profile
from configurator.errors import EstimateError

FDM_TERMS: tuple[str, ...] = (
    "outer_wall_mm",  # Σ outer perimeter path, mm
    "inner_wall_mm",  # Σ inner perimeter path, mm
    "solid_mm2",  # Σ solid (skin) area, mm²
    "sparse_mm2",  # Σ sparse-infill area, mm²
    "first_layer_mm2",  # first layer's area, mm²
    "bridge_mm2",  # Σ unsupported area above layer 0, mm²
    "loops",  # Σ contour loops (travel + retraction + seam each)
    "layers",  # layer count (layer changes)
    "slowdown_s",  # Σ cooling slowdown, s
)
FDM_FEATURES: tuple[str, ...] = FDM_TERMS + (
    "path_s",  # Σ per-layer time at the profile's speeds, s (a combination of the terms)
    "volume",  # mm³ (Σ A_i · layer height)
    "height",  # mm
    "islands",  # Σ separate regions
    "mean_area",  # mean section area, mm²
    "wall_share",  # Σ band / Σ area: 1 for thin-walled parts, ~0 for blocks
)


@dataclass(frozen=True)
class FdmParams:
    """The profile figures the features need (mm, mm/s, s, %)."""

    layer_height: float = 0.2
    width: float = 0.45
    perimeters: int = 2
    top_solid_layers: int = 5
    bottom_solid_layers: int = 4
    fill_density: float = 0.15
    perimeter_speed: float = 45.0
    external_perimeter_speed: float = 25.0
    infill_speed: float = 80.0
    solid_infill_speed: float = 80.0
    first_layer_speed: float = 20.0
    travel_s_per_loop: float = 0.5
    slowdown_below_layer_time: float = 15.0

    @classmethod
    def from_settings(cls, conf: Mapping[str, str]) -> FdmParams:
        """From PrusaSlicer ``key = value`` settings (missing keys keep the defaults)."""

        def num(key: str, default: float) -> float:
            raw = str(conf.get(key, default)).strip()
            try:
                return float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
            except ValueError:
                raise EstimateError(f"profile setting {key} = {raw!r} is not a number") from None

        d = cls()
        return cls(
            layer_height=num("layer_height", d.layer_height),
            width=num("extrusion_width", d.width),
            perimeters=int(num("perimeters", d.perimeters)),
            top_solid_layers=int(num("top_solid_layers", d.top_solid_layers)),
            bottom_solid_layers=int(num("bottom_solid_layers", d.bottom_solid_layers)),
            fill_density=num("fill_density", d.fill_density),
            perimeter_speed=num("perimeter_speed", d.perimeter_speed),
            external_perimeter_speed=num("external_perimeter_speed", d.external_perimeter_speed),
            infill_speed=num("infill_speed", d.infill_speed),
            solid_infill_speed=num("solid_infill_speed", d.solid_infill_speed),
            first_layer_speed=num("first_layer_speed", d.first_layer_speed),
            slowdown_below_layer_time=num("slowdown_below_layer_time", 0.0),
        )


def _window_min(area: np.ndarray, below: int, above: int) -> np.ndarray:
    """min(A_{i-below}, ..., A_{i+above}) with zeros outside the part."""
    padded = np.concatenate([np.zeros(below), area, np.zeros(above)])
    win = np.lib.stride_tricks.sliding_window_view(padded, below + above + 1)
    return win.min(axis=1)


def fdm_layer_terms(prof: LayerProfile, p: FdmParams) -> dict[str, np.ndarray]:
    """Per-sampled-layer quantities (see the module docstring), each ``(len(prof.z),)``."""
    a, per = prof.area, prof.perimeter
    s = prof.stride
    below = math.ceil(p.bottom_solid_layers / s)
    above = math.ceil(p.top_solid_layers / s)
    outer = np.where(a > 0, per, 0.0)
    inner = np.minimum((p.perimeters - 1) * per, np.clip(a / p.width - per, 0.0, None))
    band = np.minimum(a, p.perimeters * p.width * per)
    interior = a - band
    solid = np.minimum(interior, np.clip(a - _window_min(a, below, above), 0.0, None))
    sparse = interior - solid
    bridge = np.clip(np.diff(a, prepend=a[:1]), 0.0, None)
    loops = prof.islands + prof.holes
    first = np.zeros_like(a)
    first[0] = 1.0
    speed = np.where(first > 0, p.first_layer_speed, 1.0)
    t = (
        np.where(
            first > 0,
            (outer + inner) / speed,
            outer / p.external_perimeter_speed + inner / p.perimeter_speed,
        )
        + np.where(first > 0, solid / p.width / speed, solid / p.width / p.solid_infill_speed)
        + sparse * p.fill_density / p.width / np.where(first > 0, speed, p.infill_speed)
        + loops * p.travel_s_per_loop
    )
    slow = np.clip(p.slowdown_below_layer_time - t, 0.0, None)
    return {
        "outer": outer,
        "inner": inner,
        "band": band,
        "solid": solid,
        "sparse": sparse,
        "bridge": bridge,
        "loops": loops,
        "time": t,
        "slow": slow,
    }


def fdm_features_from_profile(prof: LayerProfile, p: FdmParams) -> dict[str, float]:
    """One row of :data:`FDM_FEATURES` from a layer profile at ``p.layer_height``."""
    if not math.isclose(prof.layer_height, p.layer_height):
        raise EstimateError("the layer profile was not cut at the profile's layer height")
    q = fdm_layer_terms(prof, p)
    total = prof.total
    vol = total(prof.area) * p.layer_height
    area_sum = max(total(prof.area), 1e-12)
    bridge = q["bridge"].copy()
    bridge[0] = 0.0
    return {
        "outer_wall_mm": total(q["outer"]),
        "inner_wall_mm": total(q["inner"]),
        "solid_mm2": total(q["solid"]),
        "sparse_mm2": total(q["sparse"]),
        "first_layer_mm2": float(prof.area[0]) if len(prof.area) else 0.0,
        "bridge_mm2": total(bridge),
        "loops": total(q["loops"]),
        "layers": float(prof.layers),
        "slowdown_s": total(q["slow"]),
        "path_s": total(q["time"]),
        "volume": vol,
        "height": prof.layers * p.layer_height,
        "islands": total(prof.islands),
        "mean_area": area_sum / prof.layers,
        "wall_share": total(q["band"]) / area_sum,
    }


def fdm_features(
    vertices: np.ndarray, faces: np.ndarray, p: FdmParams, *, max_layers: int = DEFAULT_MAX_LAYERS
) -> dict[str, float]:
    """:data:`FDM_FEATURES` of a mesh (``vertices`` (V, 3) mm, ``faces`` (F, 3), +z up)."""
    prof = layer_profile(vertices, faces, layer_height=p.layer_height, max_layers=max_layers)
    return fdm_features_from_profile(prof, p)


def fdm_analytic(
    p: FdmParams,
    *,
    volume: np.ndarray,
    area: np.ndarray,
    bbox_x: np.ndarray,
    bbox_y: np.ndarray,
    height: np.ndarray,
    side_area: np.ndarray | None = None,
    bottom_area: np.ndarray | None = None,
    overhang_area: np.ndarray | float = 0.0,
    hull_volume: np.ndarray | None = None,
    bodies: np.ndarray | float = 1.0,
) -> np.ndarray:
    """``(n, len(FDM_FEATURES))`` from closed-form quantities (mm³, mm², mm; arrays ``(n,)``)
    for optimizer objectives that never build a mesh: the same features for a prism-like
    part with uniform layers (``Σ P_i = side_area / layer``, ``Σ A_i = volume / layer``,
    skins ``top/bottom_solid_layers ×`` the horizontal area, one loop per body and layer).
    ``side_area`` defaults to ``min(area, 2 (bbox_x + bbox_y) height)``, ``bottom_area`` to
    half the horizontal area; ``hull_volume`` is not used."""
    del hull_volume
    v, a, bx, by, h = (
        np.atleast_1d(np.asarray(q, dtype=np.float64))
        for q in (volume, area, bbox_x, bbox_y, height)
    )
    v, a, bx, by, h = np.broadcast_arrays(v, a, bx, by, h)
    lh, w = p.layer_height, p.width
    side = (
        np.minimum(a, 2 * (bx + by) * h)
        if side_area is None
        else np.broadcast_to(side_area, v.shape)
    )
    horiz = np.clip(a - side, 0.0, None) / 2
    bottom = horiz if bottom_area is None else np.broadcast_to(bottom_area, v.shape)
    layers = np.maximum(1.0, np.ceil(h / lh - 1e-9))
    per = side / lh
    area_sum = v / lh
    outer = per
    inner = np.minimum((p.perimeters - 1) * per, np.clip(area_sum / w - per, 0.0, None))
    band = np.minimum(area_sum, p.perimeters * w * per)
    interior = area_sum - band
    share = interior / np.clip(area_sum, 1e-12, None)  # skins lie inside the wall band
    solid = np.minimum(
        interior, (p.top_solid_layers * horiz + p.bottom_solid_layers * bottom) * share
    )
    sparse = interior - solid
    bridge = np.clip(horiz - bottom, 0.0, None) + np.broadcast_to(overhang_area, v.shape)
    loops = np.broadcast_to(np.asarray(bodies, float), v.shape) * layers
    path = (
        outer / p.external_perimeter_speed
        + inner / p.perimeter_speed
        + solid / w / p.solid_infill_speed
        + sparse * p.fill_density / w / p.infill_speed
        + loops * p.travel_s_per_loop
    )
    slow = layers * np.clip(p.slowdown_below_layer_time - path / layers, 0.0, None)
    cols = {
        "outer_wall_mm": outer,
        "inner_wall_mm": inner,
        "solid_mm2": solid,
        "sparse_mm2": sparse,
        "first_layer_mm2": bottom,
        "bridge_mm2": bridge,
        "loops": loops,
        "layers": layers,
        "slowdown_s": slow,
        "path_s": path,
        "volume": v,
        "height": layers * lh,
        "islands": loops,
        "mean_area": area_sum / layers,
        "wall_share": band / np.clip(area_sum, 1e-12, None),
    }
    return np.column_stack([np.broadcast_to(cols[n], v.shape) for n in FDM_FEATURES])
