"""Mesh features against hand-computed values on simple solids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from configurator.core.estimate.features import (
    FEATURE_NAMES,
    analytic_features,
    face_features,
    feature_matrix,
    mesh_features,
)
from configurator.errors import EstimateError


def box(x: float, y: float, z: float, *, at=(0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    m = trimesh.creation.box((x, y, z))
    m.apply_translation((at[0], at[1], at[2] + z / 2))
    return m


def test_box_by_hand() -> None:
    f = mesh_features(box(40, 30, 20))
    assert f["volume"] == pytest.approx(24000)
    assert f["area"] == pytest.approx(2 * (40 * 30 + 40 * 20 + 30 * 20))
    assert f["side_area"] == pytest.approx(2 * (40 + 30) * 20)
    assert f["up_area"] == pytest.approx(1200)
    assert f["down_area"] == pytest.approx(1200)
    assert f["bottom_area"] == pytest.approx(1200)
    assert f["overhang_area"] == 0
    assert (f["bbox_x"], f["bbox_y"], f["height"]) == pytest.approx((40, 30, 20))
    assert f["layers"] == 100
    assert f["hull_volume"] == pytest.approx(24000)
    assert f["bodies"] == 1
    assert list(f) == list(FEATURE_NAMES)


def test_layer_count_rounds_up() -> None:
    assert mesh_features(box(10, 10, 20.1))["layers"] == 101
    assert mesh_features(box(10, 10, 20.0), layer_height=0.3)["layers"] == math.ceil(20 / 0.3)
    assert mesh_features(box(10, 10, 0.05))["layers"] == 1


def test_cylinder_is_the_regular_prism() -> None:
    n, r, h = 64, 10.0, 30.0
    f = mesh_features(trimesh.creation.cylinder(radius=r, height=h, sections=n))
    polygon = 0.5 * n * r * r * math.sin(2 * math.pi / n)
    assert f["volume"] == pytest.approx(polygon * h)
    assert f["side_area"] == pytest.approx(n * 2 * r * math.sin(math.pi / n) * h)
    assert f["bottom_area"] == pytest.approx(polygon)
    assert f["up_area"] == pytest.approx(polygon)
    assert f["height"] == pytest.approx(h)


def test_table_has_overhang_outside_its_footprint() -> None:
    # a 10x10x10 post under a 30x30x5 plate: the plate's underside overhangs 900 - 100 mm²
    post = box(10, 10, 10)
    plate = box(30, 30, 5, at=(0, 0, 10))
    table = trimesh.boolean.union([post, plate], engine="manifold")
    f = mesh_features(table)
    assert f["volume"] == pytest.approx(1000 + 4500)
    assert f["overhang_area"] == pytest.approx(800)
    assert f["bottom_area"] == pytest.approx(100)
    assert f["down_area"] == pytest.approx(900)
    assert f["hull_volume"] > f["volume"]
    assert f["bodies"] == 1


def _slope(angle_deg: float) -> trimesh.Trimesh:
    """A prism whose one side leans out over the bed at ``angle_deg`` below horizontal."""
    h = 10.0
    run = h / math.tan(math.radians(angle_deg))
    # cross-section in (x, z): (0,0) (10,0) (10+run, h) (0, h); extruded 10 in y
    poly = np.array([[0, 0], [10, 0], [10 + run, h], [0, h]], float)
    v = np.array([[x, y, z] for y in (0.0, 10.0) for x, z in poly])
    faces = [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7]]
    for i in range(4):
        j = (i + 1) % 4
        faces += [[i, j, 4 + j], [i, 4 + j, 4 + i]]
    m = trimesh.Trimesh(v, faces, process=True)
    m.fix_normals()
    return m


def test_overhang_threshold_is_45_degrees() -> None:
    shallow = mesh_features(_slope(30.0))  # 30° below horizontal: an overhang
    steep = mesh_features(_slope(60.0))  # 60° below horizontal: prints without support
    slanted_area = 10.0 * 10.0 / math.sin(math.radians(30.0))
    assert shallow["overhang_area"] == pytest.approx(slanted_area)
    assert steep["overhang_area"] == 0.0
    assert shallow["bottom_area"] == pytest.approx(100.0)


def test_inside_out_mesh_gives_the_same_features() -> None:
    m = box(12, 7, 5)
    flipped = trimesh.Trimesh(m.vertices, m.faces[:, ::-1], process=False)
    a = face_features(m.vertices, m.faces)
    b = face_features(flipped.vertices, flipped.faces)
    assert a == pytest.approx(b)


@settings(max_examples=25, deadline=None)
@given(
    st.tuples(*(st.floats(-500, 500) for _ in range(3))),
    st.tuples(*(st.floats(1, 100) for _ in range(3))),
)
def test_features_do_not_depend_on_position(shift, size) -> None:
    m = box(*size)
    moved = m.copy()
    moved.apply_translation(shift)
    assert mesh_features(moved) == pytest.approx(mesh_features(m), rel=1e-6, abs=1e-6)


def test_two_bodies_and_matrix() -> None:
    two = trimesh.util.concatenate([box(10, 10, 10), box(10, 10, 5, at=(30, 0, 0))])
    X = feature_matrix([box(10, 10, 10), two])
    assert X.shape == (2, len(FEATURE_NAMES))
    i = FEATURE_NAMES.index
    assert X[1, i("bodies")] == 2
    assert X[1, i("volume")] == pytest.approx(1500)
    assert X[1, i("bottom_area")] == pytest.approx(200)
    # the lower box's top is not an overhang, and nothing hangs over air
    assert X[1, i("overhang_area")] == 0


def test_analytic_features_match_a_box() -> None:
    f = mesh_features(box(40, 30, 20))
    A = analytic_features(
        volume=np.array([24000.0, 24000.0]),
        area=5200.0,
        bbox_x=40.0,
        bbox_y=30.0,
        height=20.0,
    )
    assert A.shape == (2, len(FEATURE_NAMES))
    assert A[0] == pytest.approx(np.array([f[n] for n in FEATURE_NAMES]))


@pytest.mark.parametrize("lh", [0.0, -0.1, float("nan")])
def test_bad_layer_height_is_refused(lh: float) -> None:
    with pytest.raises(EstimateError, match="layer height"):
        mesh_features(box(1, 1, 1), layer_height=lh)


def test_bad_arrays_are_refused() -> None:
    with pytest.raises(EstimateError):
        face_features(np.zeros((3, 2)), np.array([[0, 1, 2]]))
    with pytest.raises(EstimateError, match="NaN"):
        face_features(np.full((3, 3), np.nan), np.array([[0, 1, 2]]))
    with pytest.raises(EstimateError):
        analytic_features(volume=-1.0, area=1.0, bbox_x=1.0, bbox_y=1.0, height=1.0)
