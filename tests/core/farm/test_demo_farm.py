"""The farm, the demo nodes and the catalogs agree on material names and technologies, and
``serve --demo-nodes 6`` can make every material of every shipped catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.adapters.catalog_yaml import catalog_paths, load_catalog
from configurator.core.design.farm_fit import FARM_CONSTRAINT
from configurator.core.design.space import DesignSpace
from configurator.core.farm.capability import FarmProfile
from configurator.core.farm.demo import demo_node
from configurator.core.farm.models import (
    MATERIAL_TECHNOLOGY,
    NodeSnapshot,
    Technology,
    technology_of,
)

REPO = Path(__file__).resolve().parents[3]
CATALOGS = {p.stem: load_catalog(p) for p in catalog_paths(REPO / "catalogs")}
DEMO = [demo_node(i) for i in range(6)]


def demo_profile() -> FarmProfile:
    return FarmProfile.of(
        [
            NodeSnapshot(
                name, Technology(spec.technology), spec.build_volume, spec.materials, name=name
            )
            for name, spec in DEMO
        ]
    )


@pytest.mark.parametrize("catalog_id", sorted(CATALOGS))
def test_catalog_materials_are_the_farms(catalog_id):
    for name, material in CATALOGS[catalog_id].materials.items():
        assert name in MATERIAL_TECHNOLOGY, f"{catalog_id}: {name} unknown to the farm"
        assert material.technology == MATERIAL_TECHNOLOGY[name].value, (catalog_id, name)


def test_demo_nodes_use_the_farms_names_and_cover_the_issue_line_up():
    for name, spec in DEMO:
        for material in spec.materials:
            assert technology_of(material) == Technology(spec.technology), (name, material)
    fdm = set().union(*(s.materials for _, s in DEMO if s.technology == "FDM"))
    assert {"PLA", "PETG", "ASA", "ABS", "PEEK"} <= fdm
    assert any(s.technology == "SLA" for _, s in DEMO)
    assert any(s.technology == "SLM" and {"Ti-6Al-4V", "316L"} <= set(s.materials) for _, s in DEMO)
    assert [n for n, _ in DEMO] == [f"demo-{s.model}-{i + 1}" for i, (_, s) in enumerate(DEMO)]


@pytest.mark.parametrize("catalog_id", sorted(CATALOGS))
def test_six_demo_nodes_make_every_material_of_every_catalog(catalog_id):
    catalog, farm = CATALOGS[catalog_id], demo_profile()
    for material, spec in catalog.materials.items():
        assert farm.availability(material, spec.technology).available, (catalog_id, material)
        space = DesignSpace(catalog, material=material, farm=farm)
        ev = space.evaluate(space.default_x()[None, :])
        assert ev.margins[FARM_CONSTRAINT][0] >= 0, f"{catalog_id} default in {material}"
