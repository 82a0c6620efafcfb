"""The geometry service: build/check/export by design id, caches, records, catalog check."""

from __future__ import annotations

import json

import pytest

from configurator.adapters import storage
from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.space import DesignSpace
from configurator.core.geometry.layout import PLATE_GAP, plate_layout
from configurator.entrypoints.cli import main
from configurator.errors import GeometryError, MeshCheckError
from configurator.services import catalog_check, geometry
from configurator.settings import REPO_ROOT, Settings

ENCLOSURE = REPO_ROOT / "catalogs" / "enclosure.yaml"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ENCLOSURE)


@pytest.fixture(scope="module")
def record(catalog):
    space = DesignSpace(catalog, requirements={"board_length": 60, "board_width": 40})
    return space.record(space.default_x())


def test_build_from_a_record_equals_build_from_its_values(catalog, record):
    geometry.clear_memory_cache()
    from_record = geometry.build_design(catalog, record)
    values = geometry.design_values(catalog, record)
    from_values = geometry.build_design(catalog, values, design_id="other")
    assert from_record.design_id == record.design_id
    assert from_record.report.ok
    for name in ("base", "lid"):
        assert from_record.meshes[name].metadata["design_id"] == record.design_id
        assert (from_record.meshes[name].vertices == from_values.meshes[name].vertices).all()


def test_memory_cache_returns_the_same_object_by_design_id(catalog, record):
    a = geometry.build_design(catalog, record)
    b = geometry.build_design(catalog, record)
    assert a is b
    geometry.clear_memory_cache()
    assert geometry.build_design(catalog, record) is not a


def test_attach_meshes_writes_files_and_fills_the_record(catalog, record, tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    out = tmp_path / "out"
    (done,) = geometry.attach_meshes(
        [record], catalog=catalog, fmt="stl", out_dir=out, settings=settings
    )
    assert done.design_id == record.design_id and record.mesh is None
    assert set(done.mesh.parts) == {"base", "lid"}
    for name, part in done.mesh.parts.items():
        path = out / part.file
        assert path.read_bytes()[80:84] == part.triangles.to_bytes(4, "little")
        assert done.files[name] == part.file
        assert part.volume_mm3 > 0
        # cached under the data dir too, same bytes
        assert storage.load_mesh_file(settings.data_dir, record.design_id, name, "stl") == (
            path.read_bytes()
        )
    assert all(done.mesh.checks.values()) and "min_wall" in done.mesh.checks
    assert done.verify()  # mesh/files are not part of the id
    manifest = storage.load_mesh_manifest(settings.data_dir, record.design_id)
    assert manifest["parts"]["lid"]["triangles"] == done.mesh.parts["lid"].triangles


def test_export_design_is_served_from_the_file_cache_after_a_restart(catalog, record, tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = geometry.export_design(record, fmt="3mf", settings=settings, catalog=catalog)
    path = storage.mesh_file_path(tmp_path, record.design_id, "design", "3mf")
    assert path.read_bytes() == first
    geometry.clear_memory_cache()
    path.write_bytes(b"cached")  # proves the next call reads the file, not the generator
    assert geometry.export_design(record, fmt="3mf", settings=settings, catalog=catalog) == (
        b"cached"
    )


def test_whole_design_stl_lays_the_parts_side_by_side(catalog, record):
    parts = geometry.build_design(catalog, record)
    whole = geometry.export_whole(parts, "stl")
    n = sum(parts.triangles.values())
    assert len(whole) == 84 + 50 * n
    laid = plate_layout(parts.meshes)
    base_max = laid["base"][0][:, 0].max()
    lid_min = laid["lid"][0][:, 0].min()
    assert lid_min - base_max == pytest.approx(PLATE_GAP)


def test_unknown_part_and_format_are_clear_errors(catalog, record, tmp_path):
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(GeometryError, match="has no part 'roof'"):
        geometry.export_design(record, fmt="stl", settings=settings, catalog=catalog, part="roof")
    with pytest.raises(Exception, match="unknown mesh format 'obj'"):
        geometry.export_design(record, fmt="obj", settings=settings, catalog=catalog)


def test_a_record_from_another_catalog_version_is_refused(catalog, record):
    stale = record.model_copy(update={"catalog_hash": "0" * 64})
    geometry.clear_memory_cache()
    with pytest.raises(GeometryError, match="another version of catalog 'enclosure'"):
        geometry.build_design(catalog, stale)


def test_failed_check_blocks_export_with_the_documented_error(catalog, record):
    geometry.clear_memory_cache()
    values = geometry.design_values(catalog, record)
    values["volume"] *= 1.05  # the catalog's formula disagrees with the mesh
    parts = geometry.build_design(catalog, values, design_id="bad", check=False)
    report = geometry.check_parts(catalog, parts)
    assert report.passed["volume"] is False
    with pytest.raises(MeshCheckError, match=r"^design bad: mesh check 'volume' failed"):
        geometry.export_parts(parts, "stl")
    with pytest.raises(MeshCheckError, match="design bad: mesh check 'volume' failed"):
        geometry.build_design(catalog, values, design_id="bad")


def test_catalog_check_finds_a_wrong_volume_formula(tmp_path, capsys):
    text = ENCLOSURE.read_text()
    wrong = text.replace(
        "  + pi * boss_diameter ** 2 * standoff", "  + pi * boss_diameter ** 2 / 4 * standoff"
    )
    assert wrong != text
    path = tmp_path / "enclosure.yaml"
    path.write_text(wrong)
    volume_line = next(
        i for i, line in enumerate(wrong.splitlines(), start=1) if line.startswith("volume:")
    )
    problems = catalog_check.check_catalog_meshes(load_catalog(path), samples=3, seed=0)
    assert problems and all(p.line == volume_line for p in problems)
    assert "mesh check 'volume' failed" in problems[0].message
    assert main(["catalog", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:{volume_line}:1: mesh check 'volume' failed" in out
    assert main(["catalog", "check", str(ENCLOSURE)]) == 0


def test_mesh_manifest_is_plain_json(catalog, record):
    parts = geometry.build_design(catalog, record)
    data = geometry.mesh_manifest(parts)
    assert json.loads(json.dumps(data)) == data
