"""The print-estimator seam in the core: the analytic fallback and the record identity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.estimator import AnalyticEstimator, PrintEstimator
from configurator.core.design.record import IDENTITY_FIELDS
from configurator.core.design.space import DesignSpace
from configurator.settings import REPO_ROOT

CATALOGS = REPO_ROOT / "catalogs"


@pytest.fixture(scope="module")
def enclosure():
    return load_catalog(CATALOGS / "enclosure.yaml")


@dataclass(frozen=True)
class Renamed:
    """The analytic estimator under another identity (same predictions)."""

    inner: AnalyticEstimator
    identity: str = "renamed-v1"

    def predict(self, material, **kw):
        return self.inner.predict(material, **kw)


def test_analytic_fallback_by_hand():
    est = AnalyticEstimator(densities={"PLA": 1.24, "X": 2.0}, flows={"PLA": 8.0})
    assert isinstance(est, PrintEstimator) and est.identity == "analytic-v1"
    one = np.array([1.0])
    # 8000 mm^3 at 8 mm^3/s = 1000 s; height 1.0 mm = 5 layers x 4 s
    s, g = est.predict("PLA", volume=8000 * one, area=one, bbox_x=one, bbox_y=one, height=one)
    assert s.tolist() == [1020.0] and g.tolist() == pytest.approx([9.92])
    # no flow for X: 6 mm^3/s; height 0.3 mm -> 2 layers
    s, g = est.predict("X", volume=600 * one, area=one, bbox_x=one, bbox_y=one, height=0.3 * one)
    assert s.tolist() == [108.0] and g.tolist() == [1.2]
    other = AnalyticEstimator(densities={"PLA": 1.24}, layer_overhead=5.0)
    assert other.identity != est.identity


def test_records_carry_the_identity_and_it_is_part_of_the_id(enclosure):
    space = DesignSpace(enclosure)
    x = space.default_x()
    rec = space.record(x)
    assert rec.estimator == "analytic-v1" and rec.verify()
    assert rec.identity()["estimator"] == "analytic-v1"
    again = DesignSpace(enclosure, estimator=AnalyticEstimator.for_catalog(enclosure)).record(x)
    assert again.design_id == rec.design_id and again.model_dump_json() == rec.model_dump_json()
    renamed = DesignSpace(enclosure, estimator=Renamed(AnalyticEstimator.for_catalog(enclosure)))
    other = renamed.record(x)
    assert other.objectives == rec.objectives  # the same figures ...
    assert other.estimator == "renamed-v1" and other.design_id != rec.design_id  # ... another id


@pytest.mark.parametrize("catalog_id", ["bone-plate", "cranial-patch"])
def test_catalogs_without_host_calls_keep_their_ids(catalog_id, tmp_path):
    # the implant catalogs call print_seconds in print_time (issue 13): without it
    text = (CATALOGS / f"{catalog_id}.yaml").read_text(encoding="utf-8")
    start = text.index("  print_time:\n")
    path = tmp_path / f"{catalog_id}.yaml"
    path.write_text(text[:start] + text[text.index("\nconstraints:", start) + 1 :])
    catalog = load_catalog(path)
    space = DesignSpace(catalog, estimator=AnalyticEstimator(layer_overhead=9.0))
    assert space.estimator is None and space.estimator_identity is None
    rec = space.record(space.default_x())
    assert rec.estimator is None and "estimator" not in rec.identity()
    # the id is the hash of exactly the pre-existing identity fields
    data = {k: rec.identity()[k] for k in IDENTITY_FIELDS}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    assert rec.design_id == hashlib.sha256(text.encode()).hexdigest()


def test_a_locked_material_folds_host_calls_once(enclosure):
    locked = DesignSpace(enclosure, material="PETG", locks={"wall": 2.0})
    free = DesignSpace(enclosure, locks={"wall": 2.0})
    x = free.encode({"material": "PETG"})
    a = locked.evaluate(locked.default_x()).objectives["print_time"]
    b = free.evaluate(x).objectives["print_time"]
    assert a.tolist() == b.tolist()
