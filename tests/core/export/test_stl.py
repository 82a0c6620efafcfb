from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh
from stl import mesh as npstl

from configurator.core.export import export_part_bytes
from configurator.core.export.stl import STL_RECORD, mesh_stl_bytes, stl_bytes
from configurator.core.geometry import registry
from configurator.errors import ExportError
from configurator.settings import REPO_ROOT


def catalog_values(catalog_id: str) -> dict:
    """The resolved values of a catalog's default design (real catalog, real DesignSpace)."""
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.core.design.space import DesignSpace

    space = DesignSpace(load_catalog(REPO_ROOT / "catalogs" / f"{catalog_id}.yaml"))
    return space.values(space.default_x())


@pytest.fixture(scope="module")
def parts():
    return registry.generate("enclosure", catalog_values("enclosure"), design_id="f" * 64)


def test_layout_header_count_and_records(parts):
    mesh = parts["lid"]
    data = mesh_stl_bytes(mesh)
    n = len(mesh.faces)
    assert len(data) == 84 + 50 * n
    assert data[:80].startswith(b"f" * 64 + b" lid mm")
    assert not data[:5].lower().startswith(b"solid")
    assert int.from_bytes(data[80:84], "little") == n
    rec = np.frombuffer(data, dtype=STL_RECORD, offset=84)
    assert np.allclose(rec["vertices"].reshape(n, 3, 3), mesh.vertices[mesh.faces], atol=1e-5)
    assert np.allclose(rec["normal"], mesh.face_normals, atol=1e-4)
    assert not rec["attr"].any()


def test_numpy_stl_reads_back_same_triangles_and_volume(parts):
    for name, mesh in parts.items():
        data = mesh_stl_bytes(mesh)
        back = npstl.Mesh.from_file(f"{name}.stl", fh=io.BytesIO(data))
        assert len(back.vectors) == len(mesh.faces)
        volume, _, _ = back.get_mass_properties()
        assert volume == pytest.approx(mesh.volume, rel=1e-5)


def test_trimesh_reads_back_a_watertight_mesh(parts):
    mesh = parts["base"]
    back = trimesh.load(io.BytesIO(mesh_stl_bytes(mesh)), file_type="stl")
    assert len(back.faces) == len(mesh.faces)
    assert back.is_watertight
    assert back.volume == pytest.approx(mesh.volume, rel=1e-5)


def test_same_design_gives_identical_bytes():
    a = registry.generate("enclosure", catalog_values("enclosure"), design_id="x")
    b = registry.generate("enclosure", catalog_values("enclosure"), design_id="x")
    assert mesh_stl_bytes(a["base"]) == mesh_stl_bytes(b["base"])
    assert export_part_bytes(a["lid"], "stl") == export_part_bytes(b["lid"], "STL")


def test_bad_input_is_an_export_error():
    with pytest.raises(ExportError, match="face index out of range"):
        stl_bytes(np.zeros((3, 3)), np.array([[0, 1, 5]]))
    with pytest.raises(ExportError, match=r"\(V,3\) vertices"):
        stl_bytes(np.zeros((3, 2)), np.array([[0, 1, 2]]))
    with pytest.raises(ExportError, match="unknown mesh format 'obj'"):
        export_part_bytes(trimesh.creation.box(), "obj")


def test_empty_mesh_is_a_valid_empty_stl():
    data = stl_bytes(np.zeros((0, 3)), np.zeros((0, 3), dtype=int), design_id="e")
    assert len(data) == 84 and data[80:84] == b"\0\0\0\0"
