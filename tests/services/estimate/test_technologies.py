"""Every registered technology is reachable: from the CLI (``estimate mesh --material M``)
and from the quote path (``estimate_design``), with its own model and price parts."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import trimesh

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.space import DesignSpace
from configurator.core.estimate.families import on_bed
from configurator.entrypoints.cli import main
from configurator.services.estimate import service
from configurator.services.estimate.technologies import TECHNOLOGIES, technology
from configurator.settings import REPO_ROOT, Settings

#: a material of every registered technology
MATERIAL_OF = {"FDM": "PLA", "SLA": "Resin", "SLM": "Ti-6Al-4V"}
#: every material of every catalog, plus the committed resin
ALL_MATERIALS = ["PLA", "PETG", "ASA", "PEEK", "Resin", "Ti-6Al-4V", "316L"]


def test_the_registry_covers_every_technology_the_farm_runs() -> None:
    assert set(TECHNOLOGIES) == set(MATERIAL_OF)
    for name in TECHNOLOGIES:
        tech = technology(name)
        assert tech.profiles() and tech.layer_height() > 0
        assert service.get_model(None, name).technology == name


@pytest.fixture(scope="module")
def stl(tmp_path_factory):
    path = tmp_path_factory.mktemp("parts") / "bracket.stl"
    mesh = on_bed(trimesh.creation.box((20, 12, 6)))
    path.write_bytes(mesh.export(file_type="stl"))
    return path


@pytest.mark.parametrize("material", ALL_MATERIALS)
def test_cli_mesh_estimates_every_material(capsys, stl, material) -> None:
    code = main(["estimate", "mesh", str(stl), "--material", material, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    est = json.loads(out.out)
    spec = service.material_spec(material, Settings())
    assert est["technology"] == spec.technology
    assert est["seconds"] > 0 and est["grams"] > 0 and est["price"] > 0
    code = main(["estimate", "mesh", str(stl), "--material", material])
    text = capsys.readouterr().out
    assert code == 0 and spec.technology in text and "post-processing" in text


def test_cli_unknown_material_is_one_line_exit_2(capsys, stl) -> None:
    code = main(["estimate", "mesh", str(stl), "--material", "Unobtainium"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown material 'Unobtainium'" in err


@pytest.mark.parametrize(
    ("catalog_id", "material", "tech"),
    [
        ("enclosure", "PLA", "FDM"),
        ("bone-plate", "Ti-6Al-4V", "SLM"),
        ("cranial-patch", "PEEK", "FDM"),
    ],
)
def test_quote_path_uses_the_materials_technology(tmp_path, catalog_id, material, tech) -> None:
    catalog = load_catalog(REPO_ROOT / "catalogs" / f"{catalog_id}.yaml")
    space = DesignSpace(catalog, material=material)
    record = space.record(space.default_x())
    est = service.estimate_design(record, settings=Settings(data_dir=tmp_path), catalog=catalog)
    assert est.technology == tech and est.seconds > 0 and est.price == est.breakdown.total


def test_quote_path_reaches_sla(tmp_path) -> None:
    """No catalog offers a resin yet: a catalog-like object offering one goes the same way."""
    mesh = on_bed(trimesh.creation.box((20, 12, 6)))
    catalog = SimpleNamespace(
        id="resin-parts", materials={"Resin": service.material_spec("Resin", Settings())}
    )
    record = SimpleNamespace(material="Resin", catalog_id="resin-parts")
    est = service.estimate_design(
        record, settings=Settings(data_dir=tmp_path), catalog=catalog, meshes={"part": mesh}
    )
    assert est.technology == "SLA" and est.profile == "Resin"
    assert est.breakdown.post_processing == Settings().post_processing_cost["SLA"]
