"""Cranial-patch family: a spherical-cap shell over a skull defect, with fixation holes.

Geometry (mm, radians): the shell lies between the spheres of radius ``skull_radius`` (it
sits on the skull) and ``skull_radius + thickness``, centred on the origin, for polar angles
0..``cap_angle`` about +z; its rim is the cone ``polar angle = cap_angle``. ``hole_count``
fixation holes on the ring at polar angle ``ring_angle`` (evenly spaced in azimuth, the first
at azimuth 0) are radial cones of half-angle ``hole_angle`` with their apex at the centre, so
each removes exactly its solid-angle share of the shell. The part is then moved down so its
lowest point (the inner rim) is at z = 0 (printed rim down).

Analytic volume (what ``catalogs/cranial-patch.yaml`` ``volume:`` says)::

    2 * pi / 3 * ((skull_radius + thickness)^3 - skull_radius^3)
      * ((1 - cos(cap_angle)) - hole_count * (1 - cos(hole_angle)))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import trimesh
from manifold3d import CrossSection, Manifold, OpType

from configurator.core.geometry import shapes
from configurator.core.geometry.meshing import to_trimesh
from configurator.core.geometry.registry import register
from configurator.core.geometry.values import integer, positive
from configurator.errors import GeometryError

FAMILY = "cranial-patch"
PARAMETERS = ("thickness", "overlap", "hole_count", "screw")

#: segments of a full turn for the shell (revolve) and its meridian arcs
SHELL_SEGMENTS = 256
HOLE_SEGMENTS = 32


@register(FAMILY, parameters=PARAMETERS)
def cranial_patch(values: Mapping[str, Any]) -> dict[str, trimesh.Trimesh]:
    """Build ``{"patch": mesh}`` (mm) from resolved values (see module doc)."""

    def p(name: str) -> float:
        return positive(values, name, family=FAMILY)

    r_in, t = p("skull_radius"), p("thickness")
    cap, ring, half = p("cap_angle"), p("ring_angle"), p("hole_angle")
    n_holes = integer(values, "hole_count", family=FAMILY)
    r_out = r_in + t
    if cap >= math.pi / 2:
        raise GeometryError(f"{FAMILY}: cap angle {cap:.3f} rad is not a shallow cap")
    if n_holes and ring + half >= cap:
        raise GeometryError(f"{FAMILY}: the fixation holes run off the rim")

    # meridian profile (x = distance from the axis, y = height), x stretched so every
    # revolved polygonal ring has the true circle's area (area-preserving, as in shapes)
    steps = max(int(math.ceil(cap / (2 * math.pi / SHELL_SEGMENTS))), 4)
    phi = np.linspace(0.0, cap, steps + 1)
    stretch = shapes.area_preserving_scale(SHELL_SEGMENTS)
    inner = np.column_stack([r_in * np.sin(phi) * stretch, r_in * np.cos(phi)])
    outer = np.column_stack([r_out * np.sin(phi) * stretch, r_out * np.cos(phi)])[::-1]
    profile = np.vstack([inner, outer])  # counter-clockwise in (x, y)
    shell = CrossSection([profile]).revolve(circular_segments=SHELL_SEGMENTS)

    cutters = []
    r0, r1 = r_in - 1.0, r_out + 1.0  # the cones reach past both surfaces
    tan = math.tan(half)
    for k in range(n_holes):
        cone = shapes.frustum_at(0.0, 0.0, r0, r1, r0 * tan, r1 * tan, segments=HOLE_SEGMENTS)
        cone = cone.rotate((0.0, math.degrees(ring), 0.0))
        cutters.append(cone.rotate((0.0, 0.0, 360.0 * k / n_holes)))
    solid = Manifold.batch_boolean([shell, *cutters], OpType.Subtract) if cutters else shell
    solid = solid.translate((0.0, 0.0, -r_in * math.cos(cap)))
    return {"patch": to_trimesh(solid, family=FAMILY, part="patch")}
