"""The estimate service on real catalog designs with the shipped models (and a real slice)."""

from __future__ import annotations

import shutil

import pytest
import trimesh

from configurator.adapters.catalog_yaml import load_catalog
from configurator.adapters.profiles import profile_density, slicer_profile
from configurator.adapters.slicer import slice_sla, slice_stl
from configurator.core.design.space import DesignSpace
from configurator.errors import EstimateError
from configurator.services import geometry
from configurator.services.estimate import service
from configurator.services.estimate.technologies import technology
from configurator.settings import REPO_ROOT, Settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(data_dir=tmp_path_factory.mktemp("data"))


def design(catalog_id: str, material: str, **requirements):
    catalog = load_catalog(REPO_ROOT / "catalogs" / f"{catalog_id}.yaml")
    space = DesignSpace(catalog, requirements=requirements, material=material)
    return catalog, space.record(space.default_x())


def test_enclosure_in_pla_by_profile(settings) -> None:
    catalog, record = design("enclosure", "PLA", board_length=60, board_width=40)
    est = service.estimate_design(record, settings=settings)
    assert est.method == "profile" and est.profile == "PLA" and est.material == "PLA"
    assert est.technology == "FDM" and est.parts == ("base", "lid")
    assert 600 < est.seconds < 48 * 3600 and 1 < est.grams < 1000
    b = est.breakdown
    cost = catalog.materials["PLA"].cost_per_kg
    assert b.material == round(cost * est.grams * (1 + settings.material_waste["FDM"]) / 1000, 2)
    assert b.machine == round(settings.machine_rate_per_hour["FDM"] * est.seconds / 3600, 2)
    assert b.setup == settings.build_setup_cost["FDM"] and b.post_processing == 0
    assert est.price == b.total
    petg = service.estimate_design(record, material="PETG", settings=settings)
    assert petg.profile == "PETG" and petg.grams > est.grams


def test_each_material_goes_through_its_own_technology(settings) -> None:
    catalog, record = design("bone-plate", "PEEK")
    peek = service.estimate_design(record, settings=settings)
    assert peek.technology == "FDM" and peek.method == "stand-in" and peek.profile == "PETG"
    plate = service.plate_mesh(geometry.build_meshes(record, settings=settings))
    X = technology("FDM").features(plate, "PETG")
    petg_grams = service.get_model(settings, "FDM").predict("PETG", X)[1][0]
    assert peek.grams == pytest.approx(petg_grams * 1.30 / 1.27, abs=0.01)

    ti = service.estimate_design(record, material="Ti-6Al-4V", settings=settings)
    assert ti.technology == "SLM" and ti.profile == "Ti-6Al-4V" and ti.method == "profile"
    layers = plate.extents[2] / 0.03
    assert ti.seconds > layers * 10.0  # at least the recoats: hours, not minutes
    assert ti.grams >= plate.volume * 4.43 / 1000 * 0.97  # the part, plus its supports
    b = ti.breakdown
    assert b.post_processing == settings.post_processing_cost["SLM"]
    assert b.setup == settings.build_setup_cost["SLM"]
    assert ti.price == b.total and ti.price > 10 * peek.price
    steel = service.estimate_design(record, material="316L", settings=settings)
    assert steel.method == "stand-in" and steel.seconds == ti.seconds
    assert steel.grams == pytest.approx(ti.grams * 7.99 / 4.43, rel=1e-3)
    with pytest.raises(EstimateError, match="not offered"):
        service.estimate_design(record, material="PLA", settings=settings)


def test_unknown_material_is_one_error(settings) -> None:
    with pytest.raises(EstimateError, match="unknown material 'Unobtainium'; known: .*Resin"):
        service.material_spec("Unobtainium", settings)
    resin = service.material_spec("Resin", settings)
    assert resin.technology == "SLA" and resin.density == 1.1


@pytest.mark.skipif(shutil.which("prusa-slicer") is None, reason="prusa-slicer missing")
def test_estimate_is_close_to_a_real_slice_of_a_new_design(settings, tmp_path) -> None:
    _, record = design("enclosure", "PETG", board_length=97, board_width=53)
    meshes = geometry.build_meshes(record, settings=settings)
    stl = tmp_path / "plate.stl"
    stl.write_bytes(service.plate_mesh(meshes).export(file_type="stl"))
    truth = slice_stl(stl, profile="PETG", workdir=tmp_path)
    est = service.estimate_design(record, settings=settings)
    # a design the data set never had: measured 20 % off in time (the enclosure family's
    # held-out MAPE is 9.7 %)
    assert est.seconds == pytest.approx(truth.seconds, rel=0.25)
    assert est.grams == pytest.approx(truth.filament_g, rel=0.25)


@pytest.mark.skipif(shutil.which("prusa-slicer") is None, reason="prusa-slicer missing")
def test_resin_estimate_is_close_to_a_real_sla_export(settings, tmp_path) -> None:
    """A block the SLA data set never had, supports + pad on, against ``--export-sla``."""
    mesh = trimesh.creation.box((20, 12, 6))
    mesh.apply_translation([0, 0, 3])
    stl = tmp_path / "block.stl"
    stl.write_bytes(mesh.export(file_type="stl"))
    truth = slice_sla(stl, profile=slicer_profile("SLA", "Resin"), workdir=tmp_path)
    est = service.estimate_meshes(
        {"block": mesh},
        material="Resin",
        spec=service.material_spec("Resin", settings),
        settings=settings,
    )
    assert est.technology == "SLA" and est.profile == "Resin"
    # measured: 1314 s vs 1322 s (0.6 %; held-out SLA time MAPE 0.5 %), 2.29 g vs 2.58 g
    # (11 % low: the resin in supports and pad; held-out SLA grams MAPE 5.8 %)
    assert est.seconds == pytest.approx(truth.seconds, rel=0.05)
    assert est.grams == pytest.approx(truth.ml * profile_density("SLA", "Resin"), rel=0.2)
