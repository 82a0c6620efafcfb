"""Hand-written resolved values for the built-in families (what DesignSpace.values gives)."""

from __future__ import annotations

import math

import pytest


def enclosure_values(**overrides):
    """Enclosure values with the catalog's derivations written out by hand (mm)."""
    v = dict(
        board_length=80.0,
        board_width=50.0,
        component_height=15.0,
        hole_inset=3.5,
        wall=2.0,
        floor=2.0,
        corner_radius=3.0,
        screw="M3",
        boss_diameter=6.0,
        vent_count=4,
        vent_width=2.0,
        material="PLA",
    )
    v.update(overrides)
    v["screw.hole"], v["screw.clearance"] = {"M2": (1.6, 2.4), "M3": (2.5, 3.4)}[v["screw"]]
    v["clearance"], v["standoff"], v["board_thickness"] = 1.0, 6.0, 1.6
    v["inner_length"] = v["board_length"] + 2 * v["clearance"]
    v["inner_width"] = v["board_width"] + 2 * v["clearance"]
    v["inner_height"] = v["standoff"] + v["board_thickness"] + v["component_height"] + 1.0
    v["outer_length"] = v["inner_length"] + 2 * v["wall"]
    v["outer_width"] = v["inner_width"] + 2 * v["wall"]
    v["outer_height"] = v["floor"] + v["inner_height"]
    v["lid_thickness"] = v["floor"]
    v["inner_radius"] = max(v["corner_radius"] - v["wall"], 0.0)
    v["vent_height"] = 0.5 * v["inner_height"]
    v["vent_z"] = v["floor"] + 0.25 * v["inner_height"]
    v["boss_x"] = v["board_length"] / 2 - v["hole_inset"]
    v["boss_y"] = v["board_width"] / 2 - v["hole_inset"]
    v["volume"] = enclosure_volume(v)
    return v


def _rr(length, width, r):
    return length * width - (4 - math.pi) * r * r


def enclosure_volume(v):
    """The analytic volume documented in configurator/geometry/families/enclosure.py."""
    return (
        _rr(v["outer_length"], v["outer_width"], v["corner_radius"])
        * (v["floor"] + v["inner_height"] + v["lid_thickness"])
        - _rr(v["inner_length"], v["inner_width"], v["inner_radius"]) * v["inner_height"]
        + math.pi * v["boss_diameter"] ** 2 * v["standoff"]
        - math.pi * v["screw.hole"] ** 2 * (v["standoff"] + v["floor"] / 2)
        - 2 * v["vent_count"] * v["vent_width"] * v["vent_height"] * v["wall"]
        - math.pi * v["screw.clearance"] ** 2 * v["lid_thickness"]
    )


def bone_plate_values(**overrides):
    v = dict(
        bone_diameter=22.0,
        gap=10.0,
        body_weight=75.0,
        load_factor=0.5,
        thickness=3.5,
        width=11.0,
        holes_per_side=3,
        hole_spacing=13.0,
        screw="3.5",
        contour_radius=12.0,
        material="Ti-6Al-4V",
    )
    v.update(overrides)
    v["screw.hole"], v["screw.head"] = {"2.7": (2.9, 5.0), "3.5": (3.7, 6.0)}[v["screw"]]
    v["length"] = v["gap"] + 2 * v["holes_per_side"] * v["hole_spacing"]
    v["countersink_diameter"] = v["screw.head"]
    v["countersink_depth"] = (v["countersink_diameter"] - v["screw.hole"]) / 2
    v["volume"] = bone_plate_volume(v)
    return v


def bone_plate_volume(v):
    """Exact volume of the bent plate (docs/geometry.md)."""
    t, w, length = v["thickness"], v["width"], v["length"]
    h, d, c, r = (
        v["screw.hole"],
        v["countersink_diameter"],
        v["countersink_depth"],
        v["contour_radius"],
    )
    r_mid = r + t / 2
    r0, r1 = h / 2, d / 2
    through = math.pi * r0**2 * (t - c) * (r + (t - c) / 2) / r_mid
    sink = (
        math.pi
        * c
        / r_mid
        * ((r + t - c) / 3 * (r0**2 + r0 * r1 + r1**2) + c * (r0**2 / 12 + r0 * r1 / 6 + r1**2 / 4))
    )
    return t * ((length - w) * w + math.pi * w**2 / 4) - 2 * v["holes_per_side"] * (through + sink)


@pytest.fixture
def enclosure():
    return enclosure_values


@pytest.fixture
def bone_plate():
    return bone_plate_values
