"""Layer sections: exact areas, contour lengths and loop counts on shapes computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from configurator.core.estimate.families import on_bed
from configurator.core.estimate.layers import layer_profile, mesh_layer_profile
from configurator.errors import EstimateError


def prof(mesh, lh=0.2, **kw):
    return mesh_layer_profile(on_bed(mesh), layer_height=lh, **kw)


def test_box_sections_are_exact() -> None:
    p = prof(trimesh.creation.box((30, 20, 10)))
    assert p.layers == 50 and p.stride == 1 and len(p.z) == 50
    np.testing.assert_allclose(p.area, 600.0)
    np.testing.assert_allclose(p.perimeter, 100.0)
    assert (p.islands == 1).all() and (p.holes == 0).all()
    assert p.total(p.area) * 0.2 == pytest.approx(6000.0)


def test_tube_has_one_island_and_one_hole() -> None:
    tube = trimesh.creation.annulus(r_min=8, r_max=10, height=6, sections=64)
    p = prof(tube)
    poly = lambda r: 0.5 * 64 * r * r * math.sin(2 * math.pi / 64)  # noqa: E731
    side = lambda r: 64 * 2 * r * math.sin(math.pi / 64)  # noqa: E731
    np.testing.assert_allclose(p.area, poly(10) - poly(8), rtol=1e-9)
    np.testing.assert_allclose(p.perimeter, side(10) + side(8), rtol=1e-9)
    np.testing.assert_allclose(p.hole_area, poly(8), rtol=1e-9)
    assert (p.islands == 1).all() and (p.holes == 1).all()


def test_two_bodies_are_two_islands_and_inside_out_is_the_same() -> None:
    a = trimesh.creation.box((10, 10, 4))
    b = trimesh.creation.box((10, 10, 4))
    b.apply_translation((20, 0, 0))
    two = trimesh.util.concatenate([a, b])
    p = prof(two)
    assert (p.islands == 2).all()
    flipped = two.copy()
    flipped.invert()
    np.testing.assert_allclose(prof(flipped).area, p.area)


def test_vertices_on_layer_planes_and_sampling() -> None:
    # a box exactly 2 mm high: its top is on no plane (planes at layer middles), and a
    # vertex exactly on a plane counts as above it
    p = prof(trimesh.creation.box((10, 10, 2.0)))
    assert p.layers == 10 and (p.area == pytest.approx(100.0))
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=20)
    full = prof(sphere, lh=0.03, max_layers=10_000)
    sampled = prof(sphere, lh=0.03, max_layers=200)
    assert sampled.stride > 1 and full.stride == 1
    assert sampled.total(sampled.area) == pytest.approx(full.total(full.area), rel=2e-3)
    assert full.total(full.area) * 0.03 == pytest.approx(sphere.volume, rel=1e-3)


def test_bad_input_is_one_error() -> None:
    with pytest.raises(EstimateError, match="layer height"):
        layer_profile(np.zeros((3, 3)), np.array([[0, 1, 2]]), layer_height=0)
    with pytest.raises(EstimateError, match="NaN"):
        layer_profile(np.full((3, 3), np.nan), np.array([[0, 1, 2]]), layer_height=0.2)
    with pytest.raises(EstimateError, match="missing vertices"):
        layer_profile(np.zeros((3, 3)), np.array([[0, 1, 5]]), layer_height=0.2)
