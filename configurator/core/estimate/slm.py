"""Laser powder-bed fusion (SLM) scan-time features from the layer sections (pure).

A layer of an SLM build costs a recoat (the powder spread; a fixed ``recoat_s``) plus the
laser's scan: contours along the section's outline and hatches filling its area, plus the
jumps between vectors. Per layer ``i`` (area ``A_i`` mm², contour length ``P_i`` mm):

* hatch path ``max(0, A_i - hatch_inset · P_i) / hatch_distance`` mm at ``hatch_speed``
  (the hatch region lies ``hatch_inset`` inside the outline)  → ``hatch_s``;
* contour path ``contours · P_i`` mm at ``contour_speed``    → ``contour_s``;
* hatch vectors ≈ the section's mean width across the hatch direction over the hatch
  distance; for a convex section the mean width is ``P / π`` (Cauchy's formula), each
  vector adds a jump of about one hatch distance plus a turn-around → ``jump_s``;
* a hatch line crossing a hole jumps over it: ``hole_area / hatch_distance`` mm of jumps
  at ``jump_speed``                                           → ``hole_jump_s``;
* ``layers · recoat_s``                                      → ``recoat_s``.

Summed over layers: ``hatch_s ≈ V / (hatch_distance · speed · layer)``, ``contour_s`` the
lateral area over the layer height — the physical terms (:data:`SLM_TERMS`); thin curved
shells, where the offsets of the contours eat the hatch region, are the learned correction's.

Supports (material only; the scan time is the part's, as the ground truth PySLM scans it):
the column under overhangs steeper than 45° from vertical
(:func:`~configurator.core.estimate.features.overhang_support`), at ``support_fill``
density (docs/estimate.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from configurator.core.estimate.features import mesh_volume, overhang_support
from configurator.core.estimate.layers import DEFAULT_MAX_LAYERS, LayerProfile, layer_profile
from configurator.errors import EstimateError

SLM_TERMS: tuple[str, ...] = (
    "hatch_s",  # Σ hatch length / hatch speed, s
    "contour_s",  # Σ contour length / contour speed, s
    "jump_s",  # Σ estimated jumps between vectors, s
    "loop_jumps",  # Σ loops (a jump to each contour / island)
    "hole_jump_s",  # Σ hole area / hatch distance / jump speed: jumps across holes, s
    "recoat_s",  # layers × recoat time, s
    "volume",  # part volume, mm³
    "support_mm3",  # support column under overhangs, mm³
)
SLM_FEATURES: tuple[str, ...] = SLM_TERMS + (
    "layers",
    "height",  # mm
    "mean_area",  # mm²
    "thinness",  # Σ P · hatch distance / Σ A: share of the area near a contour
)


@dataclass(frozen=True)
class SlmParams:
    """The SLM profile (mm, mm/s, s)."""

    layer_height: float = 0.03
    hatch_distance: float = 0.12
    hatch_speed: float = 1000.0
    contour_speed: float = 500.0
    jump_speed: float = 5000.0
    contours: int = 2
    recoat_s: float = 10.0
    support_fill: float = 0.25
    #: how far the hatch region lies inside the outline: spot compensation + the contour
    #: offsets + the hatch's volume offset, mm
    hatch_inset: float = 0.0

    @classmethod
    def from_settings(cls, conf: Mapping[str, object]) -> SlmParams:
        """From the SLM profile's keys (see ``adapters/data/profiles/slm_ti64.json``)."""
        d = cls()
        try:
            return cls(
                layer_height=float(conf.get("layer_thickness_mm", d.layer_height)),
                hatch_distance=float(conf.get("hatch_distance_mm", d.hatch_distance)),
                hatch_speed=float(conf.get("hatch_speed_mm_s", d.hatch_speed)),
                contour_speed=float(conf.get("contour_speed_mm_s", d.contour_speed)),
                jump_speed=float(conf.get("jump_speed_mm_s", d.jump_speed)),
                contours=int(conf.get("outer_contours", 1)) + int(conf.get("inner_contours", 1)),
                recoat_s=float(conf.get("recoat_s", d.recoat_s)),
                support_fill=float(conf.get("support_fill", d.support_fill)),
                hatch_inset=float(conf.get("spot_compensation_mm", 0.0))
                + (int(conf.get("outer_contours", 1)) + int(conf.get("inner_contours", 1)))
                * float(conf.get("contour_offset_mm", 0.0))
                + float(conf.get("volume_offset_hatch_mm", 0.0)),
            )
        except (TypeError, ValueError) as exc:
            raise EstimateError(f"bad SLM profile value: {exc}") from None


def slm_features_from_profile(
    prof: LayerProfile, p: SlmParams, *, support_mm3: float
) -> dict[str, float]:
    """One row of :data:`SLM_FEATURES`."""
    if not math.isclose(prof.layer_height, p.layer_height):
        raise EstimateError("the layer profile was not cut at the SLM layer height")
    a, per = prof.area, prof.perimeter
    area_sum = prof.total(a)
    hatch_area = prof.total(np.clip(a - p.hatch_inset * per, 0.0, None))
    vectors = per / (math.pi * p.hatch_distance)
    return {
        "hatch_s": hatch_area / p.hatch_distance / p.hatch_speed,
        "contour_s": prof.total(per) * p.contours / p.contour_speed,
        "jump_s": prof.total(vectors * 2 * p.hatch_distance) / p.jump_speed,
        "loop_jumps": prof.total(prof.islands + prof.holes),
        "hole_jump_s": prof.total(prof.hole_area) / p.hatch_distance / p.jump_speed,
        "recoat_s": prof.layers * p.recoat_s,
        "volume": area_sum * p.layer_height,
        "support_mm3": support_mm3,
        "layers": float(prof.layers),
        "height": prof.layers * p.layer_height,
        "mean_area": area_sum / max(prof.layers, 1),
        "thinness": prof.total(per) * p.hatch_distance / max(area_sum, 1e-12),
    }


def slm_features(
    vertices: np.ndarray, faces: np.ndarray, p: SlmParams, *, max_layers: int = DEFAULT_MAX_LAYERS
) -> dict[str, float]:
    """:data:`SLM_FEATURES` of a mesh (``vertices`` (V, 3) mm, ``faces`` (F, 3), +z up)."""
    prof = layer_profile(vertices, faces, layer_height=p.layer_height, max_layers=max_layers)
    _, sup = overhang_support(vertices, faces)
    row = slm_features_from_profile(prof, p, support_mm3=sup)
    row["volume"] = mesh_volume(vertices, faces)  # exact, not the sampled sections
    return row


def slm_analytic(
    p: SlmParams,
    *,
    volume: np.ndarray,
    area: np.ndarray,
    bbox_x: np.ndarray,
    bbox_y: np.ndarray,
    height: np.ndarray,
    side_area: np.ndarray | None = None,
    overhang_area: np.ndarray | float = 0.0,
    bodies: np.ndarray | float = 1.0,
    **_: np.ndarray | float,
) -> np.ndarray:
    """``(n, len(SLM_FEATURES))`` from closed-form quantities (mm³, mm², mm), uniform layers:
    ``Σ A_i = volume / layer``, ``Σ P_i = side_area / layer`` (``side_area`` defaults to
    ``min(area, 2 (bbox_x + bbox_y) height)``), one loop per body and layer, the support
    column under ``overhang_area`` at half the height."""
    v, a, bx, by, h = np.broadcast_arrays(
        *(
            np.atleast_1d(np.asarray(q, dtype=np.float64))
            for q in (volume, area, bbox_x, bbox_y, height)
        )
    )
    lt = p.layer_height
    side = (
        np.minimum(a, 2 * (bx + by) * h)
        if side_area is None
        else np.broadcast_to(side_area, v.shape)
    )
    layers = np.maximum(1.0, np.ceil(h / lt - 1e-9))
    area_sum = v / lt
    per_sum = side / lt
    hatch_area = np.clip(area_sum - p.hatch_inset * per_sum, 0.0, None)
    over = np.broadcast_to(np.asarray(overhang_area, float), v.shape)
    cols = {
        "hatch_s": hatch_area / p.hatch_distance / p.hatch_speed,
        "contour_s": per_sum * p.contours / p.contour_speed,
        "jump_s": per_sum / (math.pi * p.hatch_distance) * 2 * p.hatch_distance / p.jump_speed,
        "loop_jumps": np.broadcast_to(np.asarray(bodies, float), v.shape) * layers,
        "hole_jump_s": 0 * v,
        "recoat_s": layers * p.recoat_s,
        "volume": v,
        "support_mm3": over * h / 2,
        "layers": layers,
        "height": layers * lt,
        "mean_area": area_sum / layers,
        "thinness": per_sum * p.hatch_distance / np.clip(area_sum, 1e-12, None),
    }
    return np.column_stack([np.broadcast_to(cols[n], v.shape) for n in SLM_FEATURES])
