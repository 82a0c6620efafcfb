from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree as ET

import numpy as np
import pytest
import trimesh

from configurator.core.export.threemf import CONFIGURATOR_NS, CORE_NS, mesh_threemf_bytes
from configurator.core.geometry import registry
from configurator.errors import ExportError
from configurator.settings import REPO_ROOT


def catalog_values(catalog_id: str) -> dict:
    """The resolved values of a catalog's default design (real catalog, real DesignSpace)."""
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.core.design.space import DesignSpace

    space = DesignSpace(load_catalog(REPO_ROOT / "catalogs" / f"{catalog_id}.yaml"))
    return space.values(space.default_x())


NS = {"m": CORE_NS}


def read_3mf(data: bytes):
    """An independent reader (zipfile + ElementTree): -> (model element, {name: Trimesh})."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert "[Content_Types].xml" in zf.namelist() and "_rels/.rels" in zf.namelist()
        rels = ET.fromstring(zf.read("_rels/.rels"))
        target = rels[0].get("Target").lstrip("/")
        root = ET.fromstring(zf.read(target))
    meshes = {}
    for obj in root.iterfind("m:resources/m:object", NS):
        verts = np.array(
            [
                [float(v.get(k)) for k in "xyz"]
                for v in obj.iterfind("m:mesh/m:vertices/m:vertex", NS)
            ]
        )
        tris = np.array(
            [
                [int(t.get(k)) for k in ("v1", "v2", "v3")]
                for t in obj.iterfind("m:mesh/m:triangles/m:triangle", NS)
            ]
        )
        meshes[obj.get("name")] = trimesh.Trimesh(verts, tris, process=False)
    return root, meshes


@pytest.fixture(scope="module")
def parts():
    return registry.generate("enclosure", catalog_values("enclosure"), design_id="ab" * 32)


def test_round_trip_keeps_triangles_and_volume(parts):
    data = mesh_threemf_bytes(parts, design_id="ab" * 32, material="PETG")
    root, meshes = read_3mf(data)
    assert root.get("unit") == "millimeter"
    assert list(meshes) == ["base", "lid"]
    for name, mesh in parts.items():
        back = meshes[name]
        assert len(back.faces) == len(mesh.faces)
        assert back.is_watertight
        assert back.volume == pytest.approx(mesh.volume, rel=1e-6)
    assert len(root.findall("m:build/m:item", NS)) == 2


def test_metadata_carries_design_id_and_material(parts):
    root, _ = read_3mf(mesh_threemf_bytes(parts, design_id="ab" * 32, material="PETG"))
    meta = {m.get("name"): m.text for m in root.iterfind("m:metadata", NS)}
    assert meta["configurator:design_id"] == "ab" * 32
    assert meta["configurator:material"] == "PETG"
    assert meta["configurator:parts"] == "base,lid"
    assert f'xmlns:configurator="{CONFIGURATOR_NS}"'.encode() in zipfile.ZipFile(
        io.BytesIO(mesh_threemf_bytes(parts, design_id="x"))
    ).read("3D/3dmodel.model")


def test_same_design_gives_identical_bytes_and_fixed_zip_dates(parts):
    a = mesh_threemf_bytes(parts, design_id="x", material="PLA")
    b = mesh_threemf_bytes(dict(parts), design_id="x", material="PLA")
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        assert [i.filename for i in zf.infolist()] == [
            "[Content_Types].xml",
            "_rels/.rels",
            "3D/3dmodel.model",
        ]
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert mesh_threemf_bytes(parts, design_id="y", material="PLA") != a


def test_empty_input_is_an_export_error():
    with pytest.raises(ExportError, match="at least one part"):
        mesh_threemf_bytes({}, design_id="x")
