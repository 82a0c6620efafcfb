"""Fitting the estimate models: from the ground-truth data sets, and from the farm's history.

* :func:`train_from_dataset` fits one technology's model on its data set (per profile and
  target), evaluates it on held-out shape families and saves it (default: the package).
* :func:`evaluate_technology` is that held-out evaluation alone (``estimate evaluate``).
* :func:`retrain_from_history` refits, per technology, on the farm's completed jobs with
  the data set as prior, and calibrates each node's speed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import model_store as persist
from configurator.adapters.dataset import DATASET_PATHS, load_dataset
from configurator.adapters.db.history import CompletedJob, job_meshes, read_completed_jobs
from configurator.adapters.db.store import Store
from configurator.core.estimate.features import FEATURE_NAMES, mesh_features
from configurator.core.estimate.technologies import feature_names
from configurator.engines.fitting.calibrate import (
    DEFAULT_HISTORY_WEIGHT,
    DEFAULT_MIN_JOBS,
    prior_weights,
    speed_factors,
)
from configurator.engines.fitting.evaluate import evaluate_families
from configurator.engines.fitting.model import fit_estimate_model, mape
from configurator.errors import EstimateError
from configurator.services.estimate.service import (
    MaterialSpec,
    known_materials,
    load,
    predict_mesh,
    refit_dir,
)
from configurator.services.estimate.technologies import TECHNOLOGIES, technology
from configurator.services.farm.service import FarmService


def evaluate_technology(
    tech_name: str, *, dataset_path: str | Path | None = None, seed: int = 0
) -> dict[str, Any]:
    """Held-out-family MAPE of ``tech_name``'s estimator vs the naive baseline."""
    tech = technology(tech_name)
    ds = load_dataset(dataset_path, technology=tech.name)
    targets = {"seconds": ds.seconds, "grams": ds.grams}
    common = {
        "families": ds.family,
        "profiles": ds.material,
        "parts": ds.part,
        "estimator": tech.estimator(seed),
        "baseline": tech.baseline(),
    }
    report = evaluate_families(ds.features, targets, **common)
    host = evaluate_families(tech.closed_form_rows(ds.X, ds.material), targets, **common)
    report["closed_form"] = {
        t: {k: host[t]["model"][k] for k in ("mape", "p90_ape", "max_ape", "worst_part")}
        for t in ("seconds", "grams")
    }
    report["technology"] = tech.name
    report["dataset"] = {
        "path": str(Path(dataset_path or DATASET_PATHS[tech.name]).name),
        "sha256": ds.sha256,
        "rows": len(ds),
    }
    return report


def train_from_dataset(
    *,
    technology_name: str = "FDM",
    dataset_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    seed: int = 0,
    evaluate: bool = True,
) -> dict[str, Any]:
    """Fit ``technology_name``'s model on its data set, evaluate it on held-out families,
    save it (``out_dir`` defaults to the package's data directory); returns the report."""
    tech = technology(technology_name)
    path = Path(dataset_path) if dataset_path else DATASET_PATHS[tech.name]
    ds = load_dataset(path, technology=tech.name)
    report = evaluate_technology(tech.name, dataset_path=path, seed=seed) if evaluate else {}
    model = fit_estimate_model(
        ds.features,
        {"seconds": ds.seconds, "grams": ds.grams},
        ds.material,
        technology=tech.name,
        feature_names=_names(tech.name),
        estimator=tech.estimator(seed),
        layer_height=tech.layer_height(),
        densities=tech.densities(),
        X_closed=tech.closed_form_rows(ds.X, ds.material),
    )
    meta_path = path.with_suffix(".json")
    tools = (
        json.loads(meta_path.read_text(encoding="utf-8")).get("tools", {})
        if meta_path.is_file()
        else {}
    )
    training = {
        "source": f"{tech.name} data set",
        "dataset": path.name,
        "sha256": ds.sha256,
        "rows": len(ds),
        "tools": tools,
    }
    persist.save_model(model, out_dir or persist.DATA_DIR, training=training, report=report)
    return {
        "technology": tech.name,
        "training": training,
        "report": report,
        "materials": list(model.materials),
    }


def _names(tech_name: str) -> tuple[str, ...]:
    return feature_names(tech_name)


@dataclass(frozen=True)
class HistoryReport:
    """What ``train --from-history`` did (all technologies together)."""

    jobs: int
    used_for_refit: int
    problems: list[str]
    speeds: dict[str, Any]
    applied_speeds: bool
    prior_mape: float | None  # shipped models vs speed-normalised actual, on the jobs
    refit_mape: float | None  # refitted models on the same jobs (in-sample)
    model_dir: str
    technologies: dict[str, int]  # jobs refitted per technology

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retrain_from_history(
    settings: Any,
    *,
    store: Any = None,
    history_weight: float | None = None,
    min_jobs: int | None = None,
    apply_speeds: bool = True,
    seed: int = 0,
    prior_dir: str | Path | None = None,
    dataset_path: str | Path | None = None,
) -> HistoryReport:
    """Refit per technology on the farm's completed jobs with the data sets as prior.

    1. completed jobs (actual seconds, grams used, node, technology) come from the farm
       store and their meshes from their files;
    2. each node's speed = median(prior estimate / actual) over its jobs (``min_jobs``);
    3. actual durations are normalised to speed 1 (× the node's speed) and, per technology,
       appended to that technology's data set (weight ``history_weight`` each, data-set
       rows 1) for the jobs whose material maps onto one of its profiles; the refits go to
       ``data_dir/estimate`` and are used from then on;
    4. with ``apply_speeds`` the new speeds are written to the farm's nodes.

    ``prior_dir`` defaults to the shipped models; ``dataset_path`` (FDM only) to the
    committed data set.
    """
    hw = DEFAULT_HISTORY_WEIGHT if history_weight is None else history_weight
    mj = DEFAULT_MIN_JOBS if min_jobs is None else min_jobs
    own_store = store is None
    store = Store(settings.resolved_database_url) if own_store else store
    prior_dir = Path(prior_dir or persist.DATA_DIR)
    try:
        jobs, current = read_completed_jobs(store)
        kept, meshes, problems = job_meshes(jobs)
        if not kept:
            raise EstimateError(
                f"no completed jobs with readable files in the farm store ({len(jobs)} done)"
            )
        materials = known_materials(settings)
        rows: list[tuple[CompletedJob, Any, MaterialSpec]] = []
        for job, mesh in zip(kept, meshes, strict=True):
            spec = materials.get(job.material)
            tech = str(job.technology).upper()
            if tech not in TECHNOLOGIES:
                problems.append(f"job {job.job_id}: no estimator for technology {tech}")
                continue
            density = spec.density if spec else 0.0
            rows.append((job, mesh, MaterialSpec(density, 0.0, tech)))
        est = np.empty(len(rows))
        feats: list[np.ndarray] = []
        shapes: list[list[float]] = []
        profiles: list[str] = []
        for i, (job, mesh, spec) in enumerate(rows):
            model = load(prior_dir, spec.technology)
            s, _, _, choice = predict_mesh(
                mesh, material=job.material, spec=spec, settings=settings, model=model
            )
            est[i] = s
            feats.append(technology(spec.technology).features(mesh, choice.profile))
            row = mesh_features(mesh)
            shapes.append([row[n] for n in FEATURE_NAMES])
            profiles.append(choice.profile if choice.method == "profile" else "")
        nodes = np.array([j.node_id for j, _, _ in rows])
        actual = np.array([j.actual_seconds for j, _, _ in rows])
        factors = speed_factors(nodes, est, actual, current=current, min_jobs=mj)
        norm = actual * np.array([factors[n].speed for n in nodes])
        out = refit_dir(settings)
        per_tech: dict[str, int] = {}
        p0_all, p1_all, y_all = [], [], []
        for tech_name in sorted({spec.technology for _, _, spec in rows}):
            idx = [
                i
                for i, (_, _, spec) in enumerate(rows)
                if spec.technology == tech_name and profiles[i]
            ]
            if not idx:
                continue
            tech = technology(tech_name)
            prior = load(prior_dir, tech_name)
            ds = load_dataset(dataset_path if tech_name == "FDM" else None, technology=tech_name)
            Xh = np.vstack([feats[i] for i in idx])
            gh = np.array(
                [
                    rows[i][0].grams_used
                    if rows[i][0].grams_used and rows[i][0].grams_used > 0
                    else prior.predict(profiles[i], feats[i])[1][0]
                    for i in idx
                ]
            )
            model = fit_estimate_model(
                np.vstack([ds.features, Xh]),
                {"seconds": np.r_[ds.seconds, norm[idx]], "grams": np.r_[ds.grams, gh]},
                np.r_[ds.material, np.array([profiles[i] for i in idx])],
                technology=tech_name,
                feature_names=_names(tech_name),
                estimator=tech.estimator(seed),
                layer_height=prior.layer_height,
                densities=prior.densities,
                sample_weight=prior_weights(len(ds), len(idx), history_weight=hw),
                X_closed=np.vstack(
                    [
                        tech.closed_form_rows(ds.X, ds.material),
                        tech.closed_form_rows(
                            np.array([shapes[i] for i in idx]), np.array([profiles[i] for i in idx])
                        ),
                    ]
                ),
            )
            p0 = np.array([prior.predict(profiles[i], feats[i])[0][0] for i in idx])
            p1 = np.array([model.predict(profiles[i], feats[i])[0][0] for i in idx])
            p0_all += p0.tolist()
            p1_all += p1.tolist()
            y_all += norm[idx].tolist()
            persist.save_model(
                model,
                out,
                training={
                    "source": f"{tech_name} data set + farm history",
                    "sha256": ds.sha256,
                    "rows": len(ds),
                    "history_jobs": len(idx),
                    "history_weight": hw,
                },
                report={
                    "history": {
                        "prior_mape": mape(norm[idx], p0),
                        "refit_mape_in_sample": mape(norm[idx], p1),
                    }
                },
            )
            per_tech[tech_name] = len(idx)
        applied = False
        changed = {n: f for n, f in factors.items() if f.changed and n in current}
        if apply_speeds and changed:
            farm = FarmService(store, settings)
            for node_id, f in sorted(changed.items()):
                farm.update_node(node_id, speed=round(f.speed, 4))
            applied = True
        return HistoryReport(
            jobs=len(jobs),
            used_for_refit=sum(per_tech.values()),
            problems=problems,
            speeds={n: asdict(f) for n, f in factors.items()},
            applied_speeds=applied,
            prior_mape=mape(np.array(y_all), np.array(p0_all)) if y_all else None,
            refit_mape=mape(np.array(y_all), np.array(p1_all)) if y_all else None,
            model_dir=str(out),
            technologies=per_tech,
        )
    finally:
        if own_store:
            store.dispose()
