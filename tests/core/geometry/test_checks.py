"""Each check catches the defect it names; a failure is the documented MeshCheckError."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from configurator.core.geometry.checks import (
    CHECK_NAMES,
    CheckSpec,
    body_count,
    degenerate_count,
    fitting_printer,
    run_checks,
    sampled_thickness,
)
from configurator.errors import MeshCheckError


def box(size=(10.0, 20.0, 5.0), at=(0.0, 0.0, 0.0)):
    mesh = trimesh.creation.box(extents=size)
    mesh.apply_translation(np.asarray(at) + np.asarray(size) / 2)
    return mesh


SPEC = CheckSpec(expected_volume=1000.0, min_wall=0.8, printers={"p": (250, 210, 220)})


def _failed(report):
    return {r.name for r in report.failures}


def test_a_clean_box_passes_every_check():
    report = run_checks({"part": box()}, SPEC, design_id="abc")
    assert report.ok
    assert set(report.passed) == set(CHECK_NAMES)
    assert report.volume_mm3 == pytest.approx(1000.0)
    assert report.min_wall_mm == pytest.approx(5.0)
    assert report.printer == "p"
    report.raise_for_failure()  # no error


def test_failing_check_raises_the_documented_error_naming_design_and_check():
    report = run_checks({"part": box()}, CheckSpec(expected_volume=900.0), design_id="abc123")
    assert _failed(report) == {"volume"}
    with pytest.raises(MeshCheckError) as info:
        report.raise_for_failure()
    err = info.value
    assert (err.design_id, err.check) == ("abc123", "volume")
    assert str(err).startswith("design abc123: mesh check 'volume' failed: volume: mesh 1000.000")
    assert "+11.111%" in str(err)


def test_open_mesh_is_not_watertight():
    mesh = box()
    mesh = trimesh.Trimesh(mesh.vertices, mesh.faces[:-1], process=False)
    assert "watertight" in _failed(run_checks({"p": mesh}, CheckSpec(expected_volume=None)))


def test_flipped_face_breaks_winding():
    mesh = box()
    faces = mesh.faces.copy()
    faces[0] = faces[0][::-1]
    bad = trimesh.Trimesh(mesh.vertices, faces, process=False)
    assert "winding_consistent" in _failed(run_checks({"p": bad}, CheckSpec(None)))


def test_inside_out_mesh_has_negative_volume():
    mesh = box()
    bad = trimesh.Trimesh(mesh.vertices, mesh.faces[:, ::-1], process=False)
    assert _failed(run_checks({"p": bad}, CheckSpec(None))) == {"positive_volume"}


def test_two_bodies_in_one_part_fail_one_body():
    two = trimesh.util.concatenate([box(), box(at=(30, 0, 0))])
    assert body_count(two) == 2
    assert _failed(run_checks({"p": two}, CheckSpec(None))) == {"one_body"}


def test_degenerate_triangles_are_found_also_at_float32_precision():
    mesh = box()
    assert degenerate_count(mesh) == 0
    verts = np.vstack([mesh.vertices, [[1.0, 1.0, 1.0], [1.0 + 1e-9, 1.0, 1.0], [1.0, 2.0, 1.0]]])
    faces = np.vstack([mesh.faces, [[8, 9, 10]]])
    assert degenerate_count(trimesh.Trimesh(verts, faces, process=False)) == 1


def test_printer_fit_allows_a_quarter_turn_but_not_tipping_over():
    long = box(size=(240.0, 10.0, 5.0))
    assert fitting_printer({"a": long}, {"small": (100, 250, 100)}) == "small"
    tall = box(size=(10.0, 10.0, 230.0))
    assert fitting_printer({"a": tall}, {"mk4": (250, 210, 220)}) is None
    report = run_checks({"a": tall}, CheckSpec(None, printers={"mk4": (250, 210, 220)}))
    assert _failed(report) == {"fits_printer"}
    assert "fits no printer" in report.failures[0].detail


def test_every_part_must_fit_the_same_printer():
    parts = {"a": box(size=(300, 10, 10)), "b": box(size=(10, 10, 300))}
    assert fitting_printer(parts, {"flat": (350, 350, 50), "tall": (50, 50, 350)}) is None
    assert fitting_printer(parts, {"big": (350, 350, 350)}) == "big"


def test_thin_wall_is_found_by_the_sampled_ray_cast():
    thin = box(size=(40.0, 40.0, 0.5))
    assert sampled_thickness(thin, seed=0) == pytest.approx(0.5, abs=1e-6)
    report = run_checks({"lid": thin}, CheckSpec(None, min_wall=0.8), design_id="d1")
    assert _failed(report) == {"min_wall"}
    with pytest.raises(MeshCheckError, match=r"design d1: mesh check 'min_wall' failed: \[lid\]"):
        report.raise_for_failure()


def test_thin_fin_on_a_thick_block_is_found():
    block = box(size=(30.0, 30.0, 10.0))
    fin = box(size=(0.4, 10.0, 8.0), at=(10.0, 10.0, 9.99))
    from manifold3d import Manifold, Mesh64

    def man(m):
        return Manifold(
            Mesh64(
                vert_properties=np.array(m.vertices, dtype=np.float64),
                tri_verts=np.array(m.faces, dtype=np.uint64),
            )
        )

    union = (man(block) + man(fin)).to_mesh64()
    mesh = trimesh.Trimesh(union.vert_properties[:, :3], union.tri_verts, process=False)
    assert sampled_thickness(mesh, seed=0) == pytest.approx(0.4, abs=1e-3)


def test_thickness_sampling_is_seeded():
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=10.0)
    assert sampled_thickness(mesh, seed=3) == sampled_thickness(mesh, seed=3)
