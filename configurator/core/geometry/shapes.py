"""2-D profiles and small solid helpers shared by the family generators (units mm).

Everything is built with manifold3d with explicit segment counts, so the same values always
give the same vertices (byte-stable exports). Circles are *area-preserving* polygons: the
vertex radius is scaled so the polygon's area equals pi r^2, which keeps mesh volumes within
~1e-4 of the catalogs' analytic formulas.
"""

from __future__ import annotations

import math

import numpy as np
from manifold3d import CrossSection, Manifold

#: segments of a full circle for holes, bosses and rounded corners
CIRCLE_SEGMENTS = 64
#: overlap used to embed touching features (never coplanar / tangent), mm
EMBED = 0.05
#: how far cutters reach beyond the surfaces they cut through, mm
OVERSHOOT = 0.5


def area_preserving_scale(segments: int) -> float:
    """Factor on the vertex radius of a regular ``segments``-gon so its area is pi r^2."""
    theta = 2.0 * math.pi / segments
    return math.sqrt(theta / math.sin(theta))


def circle_points(radius: float, *, segments: int = CIRCLE_SEGMENTS) -> np.ndarray:
    """(segments, 2) counter-clockwise vertices of an area-preserving circle at the origin."""
    if radius <= 0:
        raise ValueError(f"circle radius must be positive, got {radius}")
    r = radius * area_preserving_scale(segments)
    a = np.arange(segments) * (2.0 * math.pi / segments)
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


def circle(radius: float, *, segments: int = CIRCLE_SEGMENTS) -> CrossSection:
    """Area-preserving circle of ``radius`` centred at the origin."""
    return CrossSection([circle_points(radius, segments=segments)])


def rounded_rect(
    length: float, width: float, radius: float, *, segments: int = CIRCLE_SEGMENTS
) -> CrossSection:
    """Rectangle ``length`` (x) by ``width`` (y) centred at the origin, corners of ``radius``.

    Corners are quarter circles with ``segments // 4`` chords (vertices on the arc, so the
    area is ``L*W - (4 - pi) r^2`` minus a chord loss below 0.2 % of the corner area).
    ``radius <= 0`` gives sharp corners.
    """
    if length <= 0 or width <= 0:
        raise ValueError(f"rounded_rect needs positive size, got {length} x {width}")
    hx, hy = length / 2.0, width / 2.0
    if radius <= 1e-9:
        pts = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
        return CrossSection([pts])
    if radius >= min(hx, hy):
        raise ValueError(f"corner radius {radius} does not fit a {length} x {width} rectangle")
    q = max(segments // 4, 1)
    pts = []
    for cx, cy, start in ((hx, -hy, -90.0), (hx, hy, 0.0), (-hx, hy, 90.0), (-hx, -hy, 180.0)):
        a = np.radians(start + np.arange(q + 1) * (90.0 / q))
        px = cx - math.copysign(radius, cx) + radius * np.cos(a)
        py = cy - math.copysign(radius, cy) + radius * np.sin(a)
        pts.append(np.column_stack([px, py]))
    return CrossSection([np.vstack(pts)])


def stadium(length: float, width: float, *, segments: int = CIRCLE_SEGMENTS) -> CrossSection:
    """Stadium (``length`` along x, semicircular ends of diameter ``width``) at the origin."""
    if length < width:
        raise ValueError(f"stadium length {length} is shorter than its width {width}")
    r = width / 2.0
    half = max(segments // 2, 2)
    hx = length / 2.0 - r
    right = np.radians(-90.0 + np.arange(half + 1) * (180.0 / half))
    left = right + math.pi
    pts = np.vstack(
        [
            np.column_stack([hx + r * np.cos(right), r * np.sin(right)]),
            np.column_stack([-hx + r * np.cos(left), r * np.sin(left)]),
        ]
    )
    return CrossSection([pts])


def prism(section: CrossSection, z0: float, z1: float) -> Manifold:
    """Extrude ``section`` from ``z0`` to ``z1`` (mm)."""
    if z1 <= z0:
        raise ValueError(f"prism needs z1 > z0, got {z0}..{z1}")
    return Manifold.extrude(section, z1 - z0).translate((0.0, 0.0, z0))


def cylinder_at(
    x: float, y: float, z0: float, z1: float, radius: float, *, segments: int = CIRCLE_SEGMENTS
) -> Manifold:
    """Area-preserving vertical cylinder centred on (x, y) from ``z0`` to ``z1``."""
    return prism(circle(radius, segments=segments), z0, z1).translate((x, y, 0.0))


def frustum_at(
    x: float,
    y: float,
    z0: float,
    z1: float,
    r0: float,
    r1: float,
    *,
    segments: int = CIRCLE_SEGMENTS,
) -> Manifold:
    """Area-preserving cone frustum on (x, y): radius ``r0`` at ``z0``, ``r1`` at ``z1``."""
    if z1 <= z0:
        raise ValueError(f"frustum needs z1 > z0, got {z0}..{z1}")
    solid = Manifold.extrude(circle(r0, segments=segments), z1 - z0, scale_top=(r1 / r0, r1 / r0))
    return solid.translate((x, y, z0))
