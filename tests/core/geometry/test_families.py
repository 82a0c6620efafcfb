"""The built-in generators against their documented shapes and analytic volumes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from configurator.core.geometry import registry
from configurator.core.geometry.checks import CheckSpec, run_checks
from configurator.errors import GeometryError


def _total(parts):
    return sum(float(m.volume) for m in parts.values())


@pytest.mark.parametrize(
    "overrides",
    [{}, {"vent_count": 0}, {"corner_radius": 1.0}, {"screw": "M2", "wall": 3.0}],
)
def test_enclosure_matches_its_analytic_volume_and_is_clean(enclosure, overrides):
    values = enclosure(**overrides)
    parts = registry.generate("enclosure", values, design_id="t")
    assert list(parts) == ["base", "lid"]
    assert _total(parts) == pytest.approx(values["volume"], rel=1e-3)
    report = run_checks(parts, CheckSpec(expected_volume=values["volume"], min_wall=0.8))
    assert report.ok, report.failures


def test_enclosure_outer_size_and_part_heights(enclosure):
    v = enclosure()
    parts = registry.generate("enclosure", v)
    base, lid = parts["base"], parts["lid"]
    assert base.extents == pytest.approx([v["outer_length"], v["outer_width"], v["outer_height"]])
    assert lid.extents == pytest.approx([v["outer_length"], v["outer_width"], v["lid_thickness"]])
    assert base.bounds[0][2] == pytest.approx(0.0) and lid.bounds[0][2] == pytest.approx(0.0)


def test_enclosure_has_vent_slots_through_the_long_walls(enclosure):
    v = enclosure(vent_count=3)
    base = registry.generate("enclosure", v)["base"]
    z = v["vent_z"] + v["vent_height"] / 2
    y = v["outer_width"] / 2 - v["wall"] / 2
    # slot centres at x = -4w, 0, 4w (pitch 2w between slots of width w): no material there
    assert not base.contains([[0.0, y, z], [0.0, -y, z], [2 * 2.0, y, z]]).any()
    # between slots (x = w) the wall is solid
    assert base.contains([[2.0, y, z]]).all()


def test_enclosure_screw_holes_are_blind_through_half_the_floor(enclosure):
    v = enclosure()
    base = registry.generate("enclosure", v)["base"]
    x, y = v["boss_x"], v["boss_y"]
    assert not base.contains([[x, y, v["floor"] + 1.0]]).any()  # in the hole
    assert not base.contains([[x, y, v["floor"] * 0.75]]).any()  # hole reaches into the floor
    assert base.contains([[x, y, v["floor"] * 0.25]]).all()  # but not through it
    r = (v["boss_diameter"] + v["screw.hole"]) / 4  # inside the boss wall
    assert base.contains([[x + r, y, v["floor"] + 1.0]]).all()


def test_bone_plate_matches_the_bent_volume_formula(bone_plate):
    for overrides in (
        {},
        {"contour_radius": 6.0, "width": 9.0},
        {"screw": "2.7", "holes_per_side": 5},
    ):
        v = bone_plate(**overrides)
        parts = registry.generate("bone-plate", v)
        assert list(parts) == ["plate"]
        assert _total(parts) == pytest.approx(v["volume"], rel=2e-3)


def test_bone_plate_is_bent_to_the_contour_radius(bone_plate):
    v = bone_plate(contour_radius=10.0, thickness=3.0)
    plate = registry.generate("bone-plate", v)["plate"]
    # bone axis at (x, 0, -R): inner face at radius R, outer face at R + t
    pts = np.asarray(plate.vertices)
    radius = np.hypot(pts[:, 1], pts[:, 2] + v["contour_radius"])
    assert radius.min() == pytest.approx(v["contour_radius"], abs=1e-6)
    assert radius.max() == pytest.approx(v["contour_radius"] + v["thickness"], abs=1e-6)
    assert plate.extents[0] == pytest.approx(v["length"])
    # the holes are on the centre line, countersunk from the outside
    x_hole = v["gap"] / 2 + v["hole_spacing"] / 2
    assert not plate.contains([[x_hole, 0.0, v["thickness"] / 2]]).any()
    edge = (v["screw.hole"] + v["countersink_diameter"]) / 4
    assert plate.contains([[x_hole + edge, 0.0, 0.2]]).all()  # seat only near the outside
    assert not plate.contains([[x_hole + edge, 0.0, v["thickness"] - 0.1]]).any()


def test_same_values_give_identical_meshes(enclosure, bone_plate):
    for family, values in (("enclosure", enclosure()), ("bone-plate", bone_plate())):
        a = registry.generate(family, values)
        b = registry.generate(family, values)
        for name in a:
            assert np.array_equal(a[name].vertices, b[name].vertices)
            assert np.array_equal(a[name].faces, b[name].faces)


def test_bad_values_are_geometry_errors(enclosure, bone_plate):
    with pytest.raises(GeometryError, match="corner radius"):
        registry.generate("enclosure", enclosure(corner_radius=40.0))
    with pytest.raises(GeometryError, match="countersink depth"):
        registry.generate("bone-plate", {**bone_plate(), "countersink_depth": 9.0})
    with pytest.raises(GeometryError, match="must be positive"):
        registry.generate("enclosure", {**enclosure(), "wall": -1.0, "floor": -1.0})
    assert math.isfinite(enclosure()["volume"])
