"""Enclosure family: a base (floor, rounded walls, screw bosses, vent slots) and a lid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from configurator.geometry.registry import register

PARAMETERS = (
    "wall",
    "floor",
    "corner_radius",
    "screw",
    "boss_diameter",
    "vent_count",
    "vent_width",
)


@register("enclosure", parameters=PARAMETERS)
def enclosure(values: Mapping[str, Any]) -> dict[str, Any]:
    """Build ``{"base": mesh, "lid": mesh}`` (mm) from resolved values."""
    from configurator.geometry.families._enclosure_build import build

    return build(values)
