"""Bone-plate family: a stadium plate bent onto a cylinder with countersunk holes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from configurator.geometry.registry import register

PARAMETERS = (
    "thickness",
    "width",
    "holes_per_side",
    "hole_spacing",
    "screw",
    "contour_radius",
)


@register("bone-plate", parameters=PARAMETERS)
def bone_plate(values: Mapping[str, Any]) -> dict[str, Any]:
    """Build ``{"plate": mesh}`` (mm) from resolved values."""
    from configurator.geometry.families._bone_plate_build import build

    return build(values)
