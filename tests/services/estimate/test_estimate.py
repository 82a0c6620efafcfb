"""The estimate service on real catalog designs with the shipped model (and a real slice)."""

from __future__ import annotations

import shutil

import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.space import DesignSpace
from configurator.core.estimate.features import FEATURE_NAMES, feature_matrix
from configurator.errors import EstimateError
from configurator.services import geometry
from configurator.services.estimate import service
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
    assert est.parts == ("base", "lid")
    assert 600 < est.seconds < 48 * 3600 and 1 < est.grams < 1000
    b = est.breakdown
    cost = catalog.materials["PLA"].cost_per_kg
    assert b.material == round(cost * est.grams / 1000, 2)
    assert b.machine == round(settings.machine_rate_per_hour["FDM"] * est.seconds / 3600, 2)
    assert b.setup == settings.setup_cost and est.price == b.total
    # a slower, heavier filament costs more time; the same design is estimated once per call
    petg = service.estimate_design(record, material="PETG", settings=settings)
    assert petg.seconds > est.seconds and petg.profile == "PETG"


def test_stand_in_and_non_fdm_rules(settings) -> None:
    catalog, record = design("bone-plate", "PEEK")
    peek = service.estimate_design(record, settings=settings)
    assert peek.method == "stand-in" and peek.profile == "PETG"
    plate = service.plate_mesh(geometry.build_meshes(record, settings=settings))
    X = feature_matrix([plate])
    petg_grams = service.get_model(settings).predict("PETG", X)[1][0]
    assert peek.grams == pytest.approx(petg_grams * 1.30 / 1.27, abs=0.01)
    ti = service.estimate_design(record, material="Ti-6Al-4V", settings=settings)
    assert ti.method == "non-FDM placeholder" and ti.technology == "SLM"
    volume = X[0, FEATURE_NAMES.index("volume")]
    assert ti.grams == pytest.approx(volume * 4.43 / 1000, abs=0.01)
    assert ti.breakdown.machine == round(40.0 * ti.seconds / 3600, 2)
    with pytest.raises(EstimateError, match="not offered"):
        service.estimate_design(record, material="PLA", settings=settings)


@pytest.mark.skipif(shutil.which("prusa-slicer") is None, reason="prusa-slicer missing")
def test_estimate_is_close_to_a_real_slice_of_a_new_design(settings, tmp_path) -> None:
    from configurator.adapters.slicer import slice_stl

    _, record = design("enclosure", "PETG", board_length=97, board_width=53)
    meshes = geometry.build_meshes(record, settings=settings)
    stl = tmp_path / "plate.stl"
    stl.write_bytes(service.plate_mesh(meshes).export(file_type="stl"))
    truth = slice_stl(stl, profile="PETG", workdir=tmp_path)
    est = service.estimate_design(record, settings=settings)
    assert est.seconds == pytest.approx(truth.seconds, rel=0.25)
    assert est.grams == pytest.approx(truth.filament_g, rel=0.25)
