"""Bone-plate family: a stadium plate with countersunk holes, bent onto the bone.

Geometry (mm): the developed (flat) outline is a stadium ``length`` (x, along the bone) by
``width`` (y) with semicircular ends, ``thickness`` thick (z = 0 is the bone side). Holes of
``screw.hole`` sit on the centre line at x = +-(gap/2 + hole_spacing * (k - 0.5)),
k = 1..holes_per_side, each countersunk from the outer face: a cone frustum from
``countersink_diameter`` at the outer face down to ``screw.hole`` at depth
``countersink_depth``. The flat plate is then bent around the x axis onto a cylinder of inner
radius ``contour_radius``: a point at (x, y, z) goes to angle ``y / r_mid`` and radius
``contour_radius + z`` with ``r_mid = contour_radius + thickness / 2`` (width measured at
mid-thickness), so every prismatic feature keeps its flat volume. The part is placed with the
middle of its bone-side face at the origin, the bone axis at (x, 0, -contour_radius).

Analytic volume (flat; bending changes the countersinks' share by well under 1 %)::

    thickness * ((length - width) * width + pi * width^2 / 4)
  - 2 * holes_per_side * (pi * screw.hole^2 / 4 * (thickness - countersink_depth)
        + pi * countersink_depth / 12 * (countersink_diameter^2
              + countersink_diameter * screw.hole + screw.hole^2))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import trimesh
from manifold3d import Manifold, OpType

from configurator.core.geometry import shapes
from configurator.core.geometry.meshing import to_trimesh
from configurator.core.geometry.registry import register
from configurator.core.geometry.values import integer, number, positive
from configurator.errors import GeometryError

FAMILY = "bone-plate"

PARAMETERS = (
    "thickness",
    "width",
    "holes_per_side",
    "hole_spacing",
    "screw",
    "contour_radius",
)

#: target edge length (mm) before bending, as a fraction of the mid-surface radius
BEND_EDGE_FRACTION = 0.15


@register(FAMILY, parameters=PARAMETERS)
def bone_plate(values: Mapping[str, Any]) -> dict[str, trimesh.Trimesh]:
    """Build ``{"plate": mesh}`` (mm) from resolved values (see module doc)."""

    def p(name: str) -> float:
        return positive(values, name, family=FAMILY)

    t, width, length = p("thickness"), p("width"), p("length")
    gap = number(values, "gap", family=FAMILY)
    spacing, radius = p("hole_spacing"), p("contour_radius")
    n = integer(values, "holes_per_side", family=FAMILY)
    hole_d, cs_d, cs_depth = p("screw.hole"), p("countersink_diameter"), p("countersink_depth")
    if cs_depth >= t:
        raise GeometryError(f"{FAMILY}: countersink depth {cs_depth} >= thickness {t}")
    if cs_d <= hole_d:
        raise GeometryError(f"{FAMILY}: countersink {cs_d} not wider than the hole {hole_d}")
    r_mid = radius + t / 2.0
    if width / r_mid >= 1.5 * math.pi:
        raise GeometryError(f"{FAMILY}: width {width} wraps too far round radius {radius}")

    plate = shapes.prism(shapes.stadium(length, width), 0.0, t)
    cutters = []
    slope = (cs_d - hole_d) / 2.0 / cs_depth  # radius growth per mm of height
    top = t + shapes.OVERSHOOT
    for k in range(1, n + 1):
        for sx in (-1, 1):
            x = sx * (gap / 2.0 + spacing * (k - 0.5))
            z0 = t - cs_depth
            cutters.append(
                shapes.cylinder_at(x, 0.0, -shapes.OVERSHOOT, z0 + shapes.EMBED, hole_d / 2)
            )
            cutters.append(
                shapes.frustum_at(x, 0.0, z0, top, hole_d / 2, hole_d / 2 + slope * (top - z0))
            )
    flat = Manifold.batch_boolean([plate, *cutters], OpType.Subtract) if cutters else plate
    edge = max(BEND_EDGE_FRACTION * r_mid, 0.25)
    bent = flat.refine_to_length(edge).warp_batch(_bender(radius, r_mid))
    return {"plate": to_trimesh(bent, family=FAMILY, part="plate")}


def _bender(radius: float, r_mid: float):
    """Vectorized map (n, 3) -> (n, 3) bending the flat plate onto the cylinder."""

    def warp(points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        angle = pts[:, 1] / r_mid
        r = radius + pts[:, 2]
        out = np.empty_like(pts)
        out[:, 0] = pts[:, 0]
        out[:, 1] = r * np.sin(angle)
        out[:, 2] = r * np.cos(angle) - radius
        return out

    return warp
