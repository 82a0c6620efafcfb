"""DesignRecord: content-hash identity, determinism, JSON round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.record import DesignRecord, MeshInfo, MeshPart, round_sig
from configurator.core.design.space import DesignSpace

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def space():
    return DesignSpace(load_catalog(REPO / "catalogs" / "enclosure.yaml"))


def test_record_fields(space):
    rec = space.record(space.default_x())
    assert rec.catalog_id == "enclosure" and rec.generator == "enclosure"
    assert rec.catalog_hash == space.catalog.content_hash
    assert rec.parameters["wall"].value == 2.0 and rec.parameters["wall"].unit == "mm"
    assert rec.parameters["screw"].value == "M3"
    assert rec.material == "PLA"
    assert rec.objectives["mass"].unit == "g" and rec.objectives["mass"].sense == "min"
    assert rec.constraints["bosses fit"].satisfied is True
    assert rec.feasible is True
    assert rec.mesh is None and rec.files == {}
    assert len(rec.design_id) == 64 and rec.verify()


def test_same_design_same_id_and_bytes(space):
    x = space.default_x()
    a, b = space.record(x), space.record(x.copy())
    assert a.design_id == b.design_id
    assert a.model_dump_json() == b.model_dump_json()
    # a fresh space from the same file gives the same id
    other = DesignSpace(load_catalog(REPO / "catalogs" / "enclosure.yaml"))
    assert other.record(x).design_id == a.design_id


def test_id_changes_with_parameters_requirements_and_material(space):
    x = space.default_x()
    base = space.record(x).design_id
    y = x.copy()
    y[0] += 0.1
    assert space.record(y).design_id != base
    y = x.copy()
    y[-1] = 1  # material PETG
    assert space.record(y).design_id != base
    longer = DesignSpace(space.catalog, requirements={"board_length": 81})
    assert longer.record(x).design_id != base


def test_mesh_and_files_are_not_part_of_the_identity(space):
    rec = space.record(space.default_x())
    with_mesh = rec.model_copy(
        update={
            "mesh": MeshInfo(
                parts={"base": MeshPart(triangles=10, volume_mm3=1.0)}, checks={"watertight": True}
            ),
            "files": {"stl": "x.stl"},
        }
    )
    assert with_mesh.verify()
    tampered = rec.model_copy(update={"feasible": not rec.feasible})
    assert not tampered.verify()


def test_json_round_trip(space):
    rec = space.record(space.default_x())
    again = DesignRecord.model_validate_json(rec.model_dump_json())
    assert again == rec and again.verify()


def test_numbers_are_rounded_to_12_significant_digits():
    assert round_sig(0.1 + 0.2) == 0.3
    assert round_sig(-0.0) == 0.0 and str(round_sig(-0.0)) == "0.0"
    assert round_sig(123456.7890123456) == 123456.789012
    assert np.isinf(round_sig(float("inf")))
