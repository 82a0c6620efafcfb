"""Learning from the farm: a real SQLite farm store with completed jobs, refit and speeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from configurator.adapters import model_store as persist
from configurator.adapters.dataset import dumps
from configurator.adapters.db.store import Store
from configurator.core.estimate.fdm import FDM_FEATURES
from configurator.core.estimate.features import mesh_features
from configurator.engines.fitting.calibrate import prior_weights, speed_factors
from configurator.errors import EstimateError
from configurator.services.estimate import service, training
from configurator.services.estimate.technologies import technology
from configurator.services.farm.service import FarmService
from configurator.settings import Settings
from tests.support.solids import random_solids, synthetic_seconds

TRUE_SPEED = {"fast": 1.25, "slow": 0.5}


def test_speed_factor_is_the_median_ratio() -> None:
    nodes = np.array(["a", "a", "a", "b", "b"])
    est = np.array([100.0, 200.0, 300.0, 100.0, 100.0])
    act = np.array([50.0, 100.0, 600.0, 100.0, 100.0])  # a: ratios 2, 2, 0.5 -> median 2
    f = speed_factors(nodes, est, act, current={"a": 1.0, "b": 0.8, "c": 1.1}, min_jobs=3)
    assert f["a"].speed == 2.0 and f["a"].changed and f["a"].jobs == 3
    assert f["b"].speed == 0.8 and not f["b"].changed  # only 2 jobs: kept
    assert f["c"].speed == 1.1 and f["c"].jobs == 0
    with pytest.raises(EstimateError):
        speed_factors(nodes, est, -act, current={})
    np.testing.assert_array_equal(prior_weights(2, 3, history_weight=4.0), [1, 1, 4, 4, 4])


@pytest.fixture
def prior_dir(tmp_path):
    """A small slicer-like data set and a model trained on it (the 'shipped' prior)."""
    meshes = random_solids(60, seed=11)
    rng = np.random.default_rng(12)
    rows = []
    fdm = technology("FDM")
    names = list(FDM_FEATURES)
    for i, m in enumerate(meshes):
        x = fdm.features(m, "PLA")
        f = {**mesh_features(m), **dict(zip(names, x[0], strict=True))}
        for mat, k in (("PLA", 1.0), ("PETG", 1.2)):
            rows.append(
                {
                    "source": "family",
                    "catalog": "",
                    "family": ("box", "cylinder", "tube")[i % 3],
                    "design_id": f"d{i}",
                    "part": "p",
                    "group": f"g{i}",
                    "design_material": "",
                    "material": mat,
                    **f,
                    "seconds": float(k * synthetic_seconds(x, rng)[0]),
                    "filament_mm": f["volume"] / 2.4,
                    "grams": 0.3 + 0.0005 * f["volume"],
                }
            )
    csv = tmp_path / "slicer.csv"
    csv.write_text(dumps(rows))
    out = tmp_path / "prior"
    training.train_from_dataset(dataset_path=csv, out_dir=out, evaluate=False)
    return out, csv


def test_refit_from_a_real_farm_store(tmp_path, prior_dir) -> None:
    prior_path, csv = prior_dir
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'farm.db'}"
    )
    store = Store(settings.resolved_database_url)
    store.migrate()
    try:
        farm = FarmService(store, settings, admin_key="k")
        nodes = {
            name: farm.register_node(
                name=name,
                technology="FDM",
                build_volume=(300, 300, 300),
                materials={"PLA": 1e5},
                speed=1.0,
                auto_clear=True,
                setup_s=0.0,
            )[0].id
            for name in TRUE_SPEED
        }
        prior = persist.load_model(prior_path)
        for i, mesh in enumerate(random_solids(14, seed=21)):
            mesh.apply_translation(-mesh.bounds[0])
            farm.submit_job(
                design_id=f"job{i}",
                material="PLA",
                bbox=tuple(mesh.extents),
                est_seconds=600.0,
                grams=10.0,
                file_bytes=mesh.export(file_type="stl"),
                file_name=f"job{i}.stl",
            )
        done = {n: 0 for n in nodes}
        for _ in range(40):  # each node prints its queue; actual = prior estimate / true speed
            progressed = False
            for name, node_id in nodes.items():
                job = farm.claim(node_id)
                if job is None:
                    continue
                mesh = trimesh.load(job.file_path, force="mesh")
                est, grams = prior.predict("PLA", technology("FDM").features(mesh, "PLA"))
                farm.complete(
                    node_id,
                    job.id,
                    actual_seconds=float(est[0] / TRUE_SPEED[name]),
                    grams_used=float(grams[0]) * 1.1,
                )
                done[name] += 1
                progressed = True
            if not progressed:
                break
        assert sum(done.values()) == 14 and min(done.values()) >= 3

        report = training.retrain_from_history(
            settings, store=store, prior_dir=prior_path, dataset_path=csv, min_jobs=3
        )
    finally:
        store.dispose()

    assert report.jobs == 14 and report.used_for_refit == 14 and not report.problems
    assert report.technologies == {"FDM": 14}
    for name, node_id in nodes.items():
        assert report.speeds[node_id]["speed"] == pytest.approx(TRUE_SPEED[name], rel=1e-6)
    assert report.applied_speeds
    store = Store(settings.resolved_database_url)
    try:
        speeds = {n.id: n.speed for n in FarmService(store, settings).list_nodes()}
    finally:
        store.dispose()
    assert speeds[nodes["slow"]] == pytest.approx(0.5, rel=1e-3)
    # the refit lives under data_dir/estimate and is the one the service now uses
    assert service.model_dir(settings) == tmp_path / "data" / "estimate"
    meta = json.loads((tmp_path / "data" / "estimate" / "model.json").read_text())
    assert meta["training"]["history_jobs"] == 14
    refit = service.get_model(settings)
    # grams were reported 10 % above the prior: the refit moves towards them
    X = np.vstack([technology("FDM").features(m, "PLA") for m in random_solids(14, seed=21)])
    assert (refit.predict("PLA", X)[1] > prior.predict("PLA", X)[1]).mean() > 0.7


def test_no_completed_jobs_is_a_clear_error(tmp_path, prior_dir) -> None:
    settings = Settings(data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path / 'f.db'}")
    store = Store(settings.resolved_database_url)
    store.migrate()
    try:
        with pytest.raises(EstimateError, match="no completed jobs"):
            training.retrain_from_history(settings, store=store, prior_dir=prior_dir[0])
    finally:
        store.dispose()
