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
  layers are solid), or, where larger, the upward / downward faces' projected area within
  that many layers (sloped shells whose sections are not nested), capped by the interior;
* sparse infill area = interior - solid;
* infill lines are as long as the section's mean chord ``π A_i / P_i`` (Cauchy's formula):
  a line of length ``L`` at speed ``v`` with acceleration ``a`` takes ``L/v + v/a`` (or
  ``2 √(L/a)`` when too short to reach ``v``); the extra over ``L/v`` is ``accel_s``, with
  a deceleration + acceleration (``2 v / a``) at every wall corner (:data:`CORNER_DEG`);
* a per-layer time at the profile's speeds (walls at perimeter/external speed, solid and
  sparse infill at their speeds over the extrusion width, first layer at first-layer
  speed, a travel and retraction per loop, the acceleration time) and the cooling
  slowdown: PrusaSlicer slows a layer shorter than ``slowdown_below_layer_time`` down to
  that time, but never below ``min_print_speed``, so the layer takes
  ``max(t_i, min(slowdown_below_layer_time, path_i / min_print_speed))``;
* from the faces: the downward area above the bed (overhangs and bridges, printed slower
  and with more material), and the skirt ``2 (x + y)`` around the part.

:data:`FDM_TERMS` are additive path quantities (the learned prior's inputs, all ≥ 0);
:data:`FDM_FEATURES` adds shape descriptors for the learned correction. The features
depend only on the mesh and the profile — never on where the shape came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from configurator.core.estimate.features import mesh_volume, overhang_support
from configurator.core.estimate.layers import DEFAULT_MAX_LAYERS, LayerProfile, layer_profile
from configurator.errors import EstimateError

FDM_TERMS: tuple[str, ...] = (
    "outer_wall_mm",  # Σ outer perimeter path, mm
    "inner_wall_mm",  # Σ inner perimeter path, mm
    "solid_mm2",  # Σ solid (skin) area, mm²
    "sparse_mm2",  # Σ sparse-infill area, mm²
    "first_layer_mm2",  # first layer's area, mm²
    "extruded_mm3",  # Σ (wall band + solid + fill density × sparse) × layer height, mm³
    "overhang_mm2",  # downward faces above the bed, projected, mm²
    "skirt_mm",  # skirt loop around the part, mm
    "loops",  # Σ contour loops (travel + retraction + seam each)
    "corners",  # Σ wall corners
    "layers",  # layer count (layer changes)
    "accel_s",  # Σ acceleration time over infill lines and wall corners, s
    "slowdown_s",  # Σ cooling slowdown, s
)
FDM_FEATURES: tuple[str, ...] = FDM_TERMS + (
    "path_s",  # Σ per-layer time at the profile's speeds, s (a combination of the terms)
    "volume",  # mm³ (Σ A_i · layer height)
    "height",  # mm
    "islands",  # Σ separate regions
    "mean_area",  # mean section area, mm²
    "wall_share",  # Σ band / Σ area: 1 for thin-walled parts, ~0 for blocks
    "mean_chord",  # area-weighted mean chord of the sections, mm
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
    min_print_speed: float = 15.0
    acceleration: float = 1250.0

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
            min_print_speed=num("min_print_speed", d.min_print_speed),
            acceleration=num("machine_max_acceleration_extruding", d.acceleration),
        )


def _window_min(area: np.ndarray, below: int, above: int) -> np.ndarray:
    """min(A_{i-below}, ..., A_{i+above}) with zeros outside the part."""
    padded = np.concatenate([np.zeros(below), area, np.zeros(above)])
    win = np.lib.stride_tricks.sliding_window_view(padded, below + above + 1)
    return win.min(axis=1)


def line_seconds(length: np.ndarray, speed: np.ndarray | float, accel: float) -> np.ndarray:
    """Time of one line of ``length`` mm at top ``speed`` mm/s with ``accel`` mm/s²
    (trapezoidal profile from rest to rest; triangular when too short)."""
    length = np.asarray(length, dtype=np.float64)
    v = np.broadcast_to(np.asarray(speed, dtype=np.float64), length.shape)
    full = length >= v * v / accel
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            full, length / v + v / accel, 2.0 * np.sqrt(np.clip(length, 0, None) / accel)
        )


def _infill_seconds(area: np.ndarray, chord: np.ndarray, speed, p: FdmParams) -> tuple:
    """``(time at speed, extra time for acceleration)`` of filling ``area`` mm² with lines
    one extrusion width apart and ``chord`` mm long."""
    path = area / p.width
    plain = path / speed
    with np.errstate(invalid="ignore", divide="ignore"):
        lines = np.where(chord > 0, path / np.clip(chord, 1e-9, None), 0.0)
    accel = np.clip(lines * line_seconds(chord, speed, p.acceleration) - plain, 0.0, None)
    return plain, accel


def face_skins(vertices: np.ndarray, faces: np.ndarray, prof: LayerProfile, p: FdmParams):
    """``(len(prof.z),)`` skin area each sampled layer needs under the part's upward faces
    (within ``top_solid_layers`` below them) and over its downward faces (within
    ``bottom_solid_layers`` above them): projected face areas binned by layer, mm². Unlike
    area differences this also sees skins of sloped, non-nested sections (domes, shells)."""
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[np.asarray(faces, dtype=np.int64)]
    cz = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2] * 0.5
    if (
        float(
            np.einsum(
                "ij,ij->i", tri[:, 0], np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
            ).sum()
        )
        < 0
    ):
        cz = -cz
    z = tri[:, :, 2].mean(axis=1) - tri[:, :, 2].min()
    idx = np.clip((z / p.layer_height).astype(np.int64), 0, prof.layers - 1)
    up = np.bincount(idx, weights=np.clip(cz, 0, None), minlength=prof.layers)
    down = np.bincount(idx, weights=np.clip(-cz, 0, None), minlength=prof.layers)
    # a top face at layer j needs skin on layers j-t+1..j; a bottom face on j..j+b-1
    t, b = p.top_solid_layers, p.bottom_solid_layers
    up_c = np.convolve(up, np.ones(t))[t - 1 :][: prof.layers]
    down_c = np.convolve(down, np.ones(b))[: prof.layers]
    sampled = np.arange(0, prof.layers, prof.stride)[: len(prof.z)]
    return (up_c + down_c)[sampled]


def fdm_layer_terms(
    prof: LayerProfile, p: FdmParams, skins: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-sampled-layer quantities (see the module docstring), each ``(len(prof.z),)``;
    ``skins`` the face-based skin areas (:func:`face_skins`) when known."""
    a, per = prof.area, prof.perimeter
    s = prof.stride
    below = math.ceil(p.bottom_solid_layers / s)
    above = math.ceil(p.top_solid_layers / s)
    outer = np.where(a > 0, per, 0.0)
    inner = np.minimum((p.perimeters - 1) * per, np.clip(a / p.width - per, 0.0, None))
    band = np.minimum(a, p.perimeters * p.width * per)
    interior = a - band
    diff = np.clip(a - _window_min(a, below, above), 0.0, None)
    solid = np.minimum(interior, diff if skins is None else np.maximum(diff, skins))
    sparse = interior - solid
    loops = prof.islands + prof.holes
    first = np.zeros_like(a)
    first[0] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        chord = np.where(per > 0, np.pi * np.clip(interior, 0, None) / np.clip(per, 1e-9, None), 0)
    v_solid = np.where(first > 0, p.first_layer_speed, p.solid_infill_speed)
    v_sparse = np.where(first > 0, p.first_layer_speed, p.infill_speed)
    solid_t, solid_acc = _infill_seconds(solid, chord, v_solid, p)
    sparse_t, sparse_acc = _infill_seconds(sparse * p.fill_density, chord, v_sparse, p)
    corner_acc = prof.corners * p.perimeters * 2.0 * p.perimeter_speed / p.acceleration
    accel = solid_acc + sparse_acc + corner_acc
    walls = np.where(
        first > 0,
        (outer + inner) / p.first_layer_speed,
        outer / p.external_perimeter_speed + inner / p.perimeter_speed,
    )
    t = walls + solid_t + sparse_t + accel + loops * p.travel_s_per_loop
    path_mm = outer + inner + (solid + sparse * p.fill_density) / p.width
    slow = np.clip(
        np.minimum(p.slowdown_below_layer_time, path_mm / p.min_print_speed) - t, 0.0, None
    )
    return {
        "outer": outer,
        "inner": inner,
        "band": band,
        "solid": solid,
        "sparse": sparse,
        "loops": loops,
        "time": t,
        "slow": slow,
        "accel": accel,
        "chord": chord,
    }


def fdm_features_from_profile(
    prof: LayerProfile,
    p: FdmParams,
    *,
    overhang_mm2: float = 0.0,
    skirt_mm: float = 0.0,
    skins: np.ndarray | None = None,
) -> dict[str, float]:
    """One row of :data:`FDM_FEATURES` from a layer profile at ``p.layer_height`` (plus the
    face-based overhang area and the skirt length)."""
    if not math.isclose(prof.layer_height, p.layer_height):
        raise EstimateError("the layer profile was not cut at the profile's layer height")
    q = fdm_layer_terms(prof, p, skins)
    total = prof.total
    vol = total(prof.area) * p.layer_height
    area_sum = max(total(prof.area), 1e-12)
    return {
        "outer_wall_mm": total(q["outer"]),
        "inner_wall_mm": total(q["inner"]),
        "solid_mm2": total(q["solid"]),
        "sparse_mm2": total(q["sparse"]),
        "first_layer_mm2": float(prof.area[0]) if len(prof.area) else 0.0,
        "extruded_mm3": total(q["band"] + q["solid"] + p.fill_density * q["sparse"])
        * p.layer_height,
        "overhang_mm2": overhang_mm2,
        "skirt_mm": skirt_mm,
        "loops": total(q["loops"]),
        "corners": total(prof.corners),
        "layers": float(prof.layers),
        "accel_s": total(q["accel"]),
        "slowdown_s": total(q["slow"]),
        "path_s": total(q["time"]),
        "volume": vol,
        "height": prof.layers * p.layer_height,
        "islands": total(prof.islands),
        "mean_area": area_sum / prof.layers,
        "wall_share": total(q["band"]) / area_sum,
        "mean_chord": total(q["chord"] * prof.area) / area_sum,
    }


def fdm_features(
    vertices: np.ndarray, faces: np.ndarray, p: FdmParams, *, max_layers: int = DEFAULT_MAX_LAYERS
) -> dict[str, float]:
    """:data:`FDM_FEATURES` of a mesh (``vertices`` (V, 3) mm, ``faces`` (F, 3), +z up)."""
    prof = layer_profile(vertices, faces, layer_height=p.layer_height, max_layers=max_layers)
    down, _ = overhang_support(vertices, faces, angle_deg=0.0)
    ext = np.ptp(np.asarray(vertices, dtype=np.float64), axis=0)
    row = fdm_features_from_profile(
        prof,
        p,
        overhang_mm2=down,
        skirt_mm=2.0 * float(ext[0] + ext[1]),
        skins=face_skins(vertices, faces, prof, p),
    )
    row["volume"] = mesh_volume(vertices, faces)  # exact, not the sampled sections
    return row


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
    half the horizontal area; the overhang is the downward area not on the bed
    (``overhang_area`` is already part of it); four corners per loop; ``hull_volume`` is not
    used."""
    del hull_volume, overhang_area
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
    over = np.clip(horiz - bottom, 0.0, None)
    loops = np.broadcast_to(np.asarray(bodies, float), v.shape) * layers
    corners = 4.0 * loops  # rectangular outlines
    with np.errstate(invalid="ignore", divide="ignore"):
        chord = np.where(per > 0, np.pi * interior / np.clip(per, 1e-9, None), 0.0)
    solid_t, solid_acc = _infill_seconds(solid, chord, p.solid_infill_speed, p)
    sparse_t, sparse_acc = _infill_seconds(sparse * p.fill_density, chord, p.infill_speed, p)
    corner_acc = corners * p.perimeters * 2 * p.perimeter_speed / p.acceleration
    accel = solid_acc + sparse_acc + corner_acc
    path = (
        outer / p.external_perimeter_speed
        + inner / p.perimeter_speed
        + solid_t
        + sparse_t
        + accel
        + loops * p.travel_s_per_loop
    )
    path_mm = (outer + inner + (solid + sparse * p.fill_density) / w) / layers
    slow = layers * np.clip(
        np.minimum(p.slowdown_below_layer_time, path_mm / p.min_print_speed) - path / layers,
        0.0,
        None,
    )
    cols = {
        "outer_wall_mm": outer,
        "inner_wall_mm": inner,
        "solid_mm2": solid,
        "sparse_mm2": sparse,
        "first_layer_mm2": bottom,
        "extruded_mm3": (band + solid + p.fill_density * sparse) * lh,
        "overhang_mm2": over,
        "skirt_mm": 2 * (bx + by),
        "loops": loops,
        "corners": corners,
        "layers": layers,
        "accel_s": accel,
        "slowdown_s": slow,
        "path_s": path,
        "volume": v,
        "height": layers * lh,
        "islands": loops,
        "mean_area": area_sum / layers,
        "wall_share": band / np.clip(area_sum, 1e-12, None),
        "mean_chord": chord,
    }
    return np.column_stack([np.broadcast_to(cols[n], v.shape) for n in FDM_FEATURES])
