"""Saving and loading the model: round trip, determinism, version and integrity checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from configurator.adapters import model_store as persist
from configurator.core.estimate.fdm import FDM_FEATURES, FDM_TERMS
from configurator.engines.fitting.model import PrintRegressor, fit_estimate_model
from configurator.errors import EstimateError

VOL = FDM_FEATURES.index("volume")


def _fit(X, targets, mats, n_estimators, densities=None):
    return fit_estimate_model(
        X,
        targets,
        mats,
        technology="FDM",
        feature_names=FDM_FEATURES,
        estimator=PrintRegressor(n_terms=len(FDM_TERMS), n_estimators=n_estimators),
        layer_height=0.2,
        densities=densities,
    )


@pytest.fixture(scope="module")
def small_model(solids_data):
    X, y, _ = solids_data
    mats = np.array(["PLA", "PETG"] * 60)
    return _fit(
        X, {"seconds": y, "grams": 0.00124 * X[:, VOL] + 1}, mats, 20, {"PLA": 1.24, "PETG": 1.27}
    )


def test_round_trip(tmp_path, small_model, solids_data) -> None:
    X = solids_data[0]
    model_path, meta_path = persist.save_model(small_model, tmp_path, training={"rows": 120})
    loaded = persist.load_model(tmp_path)
    for m in ("PLA", "PETG"):
        np.testing.assert_array_equal(loaded.predict(m, X)[0], small_model.predict(m, X)[0])
    meta = json.loads(meta_path.read_text())
    assert meta["materials"] == ["PETG", "PLA"]
    assert meta["training"] == {"rows": 120}
    assert meta["model_bytes"] == model_path.stat().st_size
    assert model_path.stat().st_size < 2_000_000


def test_same_fit_same_bytes(solids_data) -> None:
    X, y, _ = solids_data
    mats = np.full(len(y), "PLA")
    blobs = {
        persist.dumps_model(_fit(X, {"seconds": y, "grams": y / 100}, mats, 10)) for _ in range(2)
    }
    assert len(blobs) == 1


def test_other_sklearn_version_is_refused(tmp_path, small_model) -> None:
    _, meta_path = persist.save_model(small_model, tmp_path, training={})
    meta = json.loads(meta_path.read_text())
    meta["sklearn_version"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    persist.load_model.cache_clear()
    with pytest.raises(EstimateError, match=r"scikit-learn 0\.24\.2.*configurator estimate train"):
        persist.load_model(tmp_path)


def test_corrupted_model_is_refused(tmp_path, small_model) -> None:
    model_path, _ = persist.save_model(small_model, tmp_path, training={})
    model_path.write_bytes(model_path.read_bytes()[:-10] + b"0123456789")
    persist.load_model.cache_clear()
    with pytest.raises(EstimateError, match="does not match"):
        persist.load_model(tmp_path)


def test_missing_model_and_changed_features(tmp_path, small_model) -> None:
    with pytest.raises(EstimateError, match="no trained estimator"):
        persist.load_model(tmp_path / "nowhere")
    _, meta_path = persist.save_model(small_model, tmp_path, training={})
    meta = json.loads(meta_path.read_text())
    meta["feature_names"] = ["volume"]
    meta_path.write_text(json.dumps(meta))
    persist.load_model.cache_clear()
    with pytest.raises(EstimateError, match="features differ"):
        persist.load_model(tmp_path)


@pytest.mark.parametrize(
    ("tech", "profiles", "layer"),
    [
        ("FDM", {"PLA", "PETG", "ASA"}, 0.2),
        ("SLA", {"Resin", "Resin-nosupports"}, 0.05),
        ("SLM", {"Ti-6Al-4V"}, 0.03),
    ],
)
def test_shipped_models_load_and_are_small(tech, profiles, layer) -> None:
    meta = persist.read_metadata(persist.DATA_DIR, tech)
    assert meta["model_bytes"] < 2_000_000 and meta["technology"] == tech
    model = persist.load_model(persist.DATA_DIR, tech)
    assert set(model.materials) == profiles and model.technology == tech
    assert model.layer_height == pytest.approx(layer)


def test_technologies_have_their_own_files(tmp_path, small_model) -> None:
    assert persist.model_files("FDM") == ("model.joblib", "model.json")
    assert persist.model_files("slm") == ("model_slm.joblib", "model_slm.json")
    persist.save_model(small_model, tmp_path, training={})
    assert persist.has_model(tmp_path, "FDM") and not persist.has_model(tmp_path, "SLA")
    with pytest.raises(EstimateError, match="unknown technology"):
        persist.model_files("SLS")
