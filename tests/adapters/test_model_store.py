"""Saving and loading the model: round trip, determinism, version and integrity checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from configurator.adapters import model_store as persist
from configurator.engines.fitting.model import PrintRegressor, fit_estimate_model
from configurator.errors import EstimateError


@pytest.fixture(scope="module")
def small_model(solids_data):
    X, y, _ = solids_data
    mats = np.array(["PLA", "PETG"] * 60)
    return fit_estimate_model(
        X,
        {"seconds": y, "grams": 0.00124 * X[:, 0] + 1},
        mats,
        estimator=PrintRegressor(n_estimators=20),
        densities={"PLA": 1.24, "PETG": 1.27},
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
        persist.dumps_model(
            fit_estimate_model(
                X, {"seconds": y, "grams": y / 100}, mats, estimator=PrintRegressor(n_estimators=10)
            )
        )
        for _ in range(2)
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


def test_shipped_model_loads_and_is_small() -> None:
    meta = persist.read_metadata()
    assert meta["model_bytes"] < 2_000_000
    model = persist.load_model()
    assert {"PLA", "PETG", "ASA"} <= set(model.materials)
    assert model.layer_height == pytest.approx(0.2)
