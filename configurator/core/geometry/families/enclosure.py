"""Enclosure family: a base (floor, rounded walls, screw bosses, vent slots) and a lid.

Geometry (mm; x along the board length, y along its width, z up; both parts print flat):

* ``base`` — rounded box ``outer_length x outer_width`` (corner ``corner_radius``), height
  ``floor + inner_height``, minus the cavity ``inner_length x inner_width`` (corner
  ``inner_radius``) from ``z = floor`` up; 4 bosses of ``boss_diameter`` at
  (+-boss_x, +-boss_y) standing on the floor to ``z = floor + standoff`` (their bottoms are
  embedded in the floor, never coplanar); a blind hole of ``screw.hole`` through each boss and
  half the floor (bottom at ``z = floor / 2``); ``vent_count`` slots through each long wall
  (the two walls parallel to x), ``vent_width`` wide, ``vent_height`` tall from ``z = vent_z``,
  centred on x with pitch ``2 * vent_width``.
* ``lid`` — rounded plate ``outer_length x outer_width x lid_thickness`` with 4
  ``screw.clearance`` holes at the boss centres.

Analytic volume (what ``catalogs/enclosure.yaml`` ``volume:`` must say), with
``A(L, W, r) = L*W - (4 - pi) * r^2``::

    A(outer_length, outer_width, corner_radius) * (floor + inner_height + lid_thickness)
  - A(inner_length, inner_width, inner_radius) * inner_height
  + pi * boss_diameter^2 * standoff
  - pi * screw.hole^2 * (standoff + floor / 2)
  - 2 * vent_count * vent_width * vent_height * wall
  - pi * screw.clearance^2 * lid_thickness
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trimesh
from manifold3d import Manifold, OpType

from configurator.core.geometry import shapes
from configurator.core.geometry.meshing import to_trimesh
from configurator.core.geometry.registry import register
from configurator.core.geometry.values import integer, number, positive
from configurator.errors import GeometryError

FAMILY = "enclosure"

PARAMETERS = (
    "wall",
    "floor",
    "corner_radius",
    "screw",
    "boss_diameter",
    "vent_count",
    "vent_width",
)


@register(FAMILY, parameters=PARAMETERS)
def enclosure(values: Mapping[str, Any]) -> dict[str, trimesh.Trimesh]:
    """Build ``{"base": mesh, "lid": mesh}`` (mm) from resolved values (see module doc)."""

    def p(name: str) -> float:
        return positive(values, name, family=FAMILY)

    floor = p("floor")
    outer_l, outer_w = p("outer_length"), p("outer_width")
    inner_l, inner_w, inner_h = p("inner_length"), p("inner_width"), p("inner_height")
    corner_r = number(values, "corner_radius", family=FAMILY)
    inner_r = number(values, "inner_radius", family=FAMILY)
    standoff, boss_d = p("standoff"), p("boss_diameter")
    hole_d, clearance_d = p("screw.hole"), p("screw.clearance")
    lid_t = p("lid_thickness")
    boss_x, boss_y = p("boss_x"), p("boss_y")
    vent_n = integer(values, "vent_count", family=FAMILY)
    base_h = floor + inner_h
    if inner_l >= outer_l or inner_w >= outer_w:
        raise GeometryError(f"{FAMILY}: cavity {inner_l} x {inner_w} does not fit the outside")

    outer = shapes.rounded_rect(outer_l, outer_w, corner_r)
    solids = [shapes.prism(outer, 0.0, base_h)]
    bosses = [
        shapes.cylinder_at(sx * boss_x, sy * boss_y, floor / 4.0, floor + standoff, boss_d / 2)
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    cavity = shapes.prism(
        shapes.rounded_rect(inner_l, inner_w, inner_r), floor, base_h + shapes.OVERSHOOT
    )
    shell = Manifold.batch_boolean([solids[0], cavity], OpType.Subtract)
    body = Manifold.batch_boolean([shell, *bosses], OpType.Add)

    cutters = [
        shapes.cylinder_at(
            sx * boss_x, sy * boss_y, floor / 2.0, floor + standoff + shapes.OVERSHOOT, hole_d / 2
        )
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    if vent_n > 0:
        vent_w, vent_h, vent_z = p("vent_width"), p("vent_height"), p("vent_z")
        reach = (outer_w - inner_w) / 2.0 + 2 * shapes.OVERSHOOT
        for i in range(vent_n):
            xc = (i - (vent_n - 1) / 2.0) * 2.0 * vent_w
            for sy in (-1, 1):
                yc = sy * (outer_w / 2.0 + shapes.OVERSHOOT - reach / 2.0)
                slot = Manifold.cube((vent_w, reach, vent_h), center=True)
                cutters.append(slot.translate((xc, yc, vent_z + vent_h / 2.0)))
    base = Manifold.batch_boolean([body, *cutters], OpType.Subtract)

    lid_holes = [
        shapes.cylinder_at(
            sx * boss_x, sy * boss_y, -shapes.OVERSHOOT, lid_t + shapes.OVERSHOOT, clearance_d / 2
        )
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]
    lid = Manifold.batch_boolean([shapes.prism(outer, 0.0, lid_t), *lid_holes], OpType.Subtract)
    return {
        "base": to_trimesh(base, family=FAMILY, part="base"),
        "lid": to_trimesh(lid, family=FAMILY, part="lid"),
    }
