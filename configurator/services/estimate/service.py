"""The estimate service: a design or mesh -> print seconds, grams and price.

Used by the web results and orders (through the design book) and so by the farm router,
which routes on the ``est_seconds`` the orders carry.

Which model: a refit from the farm's history under ``data_dir/estimate/`` when one exists
(``configurator estimate train --from-history``), else the model shipped in the package.

Which slicer profile: the model has one estimator per FDM profile (PLA, PETG, ASA).
* a material with its own profile uses it;
* another FDM material (e.g. PEEK) uses the profile of the nearest filament density as a
  stand-in, grams scaled by the density ratio;
* a non-FDM material (e.g. Ti-6Al-4V on SLM) has no slicer ground truth here: the time is
  the reference profile's (PLA) FDM estimate — a placeholder that keeps routing
  proportional to part size — and grams are the solid part's ``volume × density``.
``PrintEstimate.method`` says which rule applied. A design's parts (e.g. base + lid) are
laid out on one plate and estimated together, as the farm prints one piece.

Optimization: :func:`catalog_estimator` wraps the model in use as the
:class:`~configurator.core.design.estimator.PrintEstimator` a catalog's host functions
(``print_seconds``, ``print_grams``) call, with the same profile rule; its identity is
``"learned:" + the model's sha256[:16]``.

Price: :mod:`configurator.core.estimate.pricing` with the catalog material's ``cost_per_kg``,
``Settings.machine_rate_per_hour[technology]`` and ``Settings.setup_cost``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import model_store as persist
from configurator.core.estimate.features import FEATURE_NAMES, mesh_features
from configurator.core.estimate.pricing import Price, price
from configurator.core.geometry.layout import plate_mesh
from configurator.engines.fitting.model import EstimateModel
from configurator.errors import ConfiguratorError, EstimateError

CURRENCY = "EUR"
REFERENCE_PROFILE = "PLA"
FDM = "FDM"


# ---------------------------------------------------------------------------- model
def refit_dir(settings: Any) -> Path:
    """Where ``train --from-history`` writes its refit: ``data_dir/estimate``."""
    return Path(settings.data_dir) / "estimate"


def model_dir(settings: Any | None = None) -> Path:
    """The refit directory when it holds a model, else the packaged model's directory."""
    if settings is not None and (refit_dir(settings) / persist.META_FILE).is_file():
        return refit_dir(settings)
    return persist.DATA_DIR


def get_model(settings: Any | None = None) -> EstimateModel:
    """The model in use (cached; a rewritten refit is picked up by its new mtime)."""
    directory = model_dir(settings)
    meta = directory / persist.META_FILE
    stamp = os.stat(meta).st_mtime_ns if meta.exists() else 0
    return _cached(str(directory), stamp)


_CACHE: dict[tuple[str, int], EstimateModel] = {}


def _cached(directory: str, stamp: int) -> EstimateModel:
    key = (directory, stamp)
    if key not in _CACHE:
        persist.load_model.cache_clear()
        _CACHE.clear()
        _CACHE[key] = persist.load_model(directory)
    return _CACHE[key]


# ---------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class ProfileChoice:
    """The profile estimating a material: ``profile``, ``method``, grams rule."""

    profile: str
    method: str  # "profile" | "stand-in" | "non-FDM placeholder"
    grams_scale: float = 1.0  # multiply the profile's grams (density ratio)
    solid_grams: bool = False  # grams = volume x density instead


def choose_profile(
    model: EstimateModel, *, material: str, technology: str, density: float
) -> ProfileChoice:
    """Map a catalog material onto one of ``model``'s profiles (see the module docstring)."""
    if not model.materials:
        raise EstimateError("the estimator has no trained materials")
    if technology.upper() != FDM:
        ref = REFERENCE_PROFILE if REFERENCE_PROFILE in model.materials else model.materials[0]
        return ProfileChoice(ref, "non-FDM placeholder", solid_grams=True)
    if material in model.materials:
        return ProfileChoice(material, "profile")
    known = {m: model.densities.get(m) for m in model.materials if model.densities.get(m)}
    if not known or not (density and density > 0):
        return ProfileChoice(model.materials[0], "stand-in")
    nearest = min(sorted(known), key=lambda m: abs(known[m] - density))
    return ProfileChoice(nearest, "stand-in", grams_scale=float(density) / float(known[nearest]))


def predict(
    model: EstimateModel,
    X: np.ndarray,
    *,
    material: str,
    technology: str,
    density: float,
) -> tuple[np.ndarray, np.ndarray, ProfileChoice]:
    """Vectorized ``(seconds (n,), grams (n,), choice)`` for features ``X`` (n, 13)."""
    choice = choose_profile(model, material=material, technology=technology, density=density)
    seconds, grams = model.predict(choice.profile, X)
    volume = X[:, FEATURE_NAMES.index("volume")]
    return seconds, profile_grams(choice, grams, volume=volume, density=density), choice


def profile_grams(
    choice: ProfileChoice, grams: np.ndarray, *, volume: np.ndarray, density: float
) -> np.ndarray:
    """Grams for the material from the profile's prediction ``grams`` (n,): scaled by the
    density ratio for a stand-in profile, or the solid ``volume`` (mm³, (n,)) × ``density``
    (g/cm³) for a non-FDM material."""
    if choice.solid_grams:
        return np.broadcast_to(np.asarray(volume, float), np.shape(grams)) * float(density) / 1e3
    return grams * choice.grams_scale


# ---------------------------------------------------------------------------- optimizer
LEARNED_PREFIX = "learned:"


class LearnedEstimator:
    """The learned model as a catalog's :class:`~configurator.core.design.estimator.PrintEstimator`.

    Holds the model directory, the model's sha256 and the catalog's materials
    (name -> (technology, density g/cm³)); the model itself is loaded on the first
    ``predict`` in each process, so the object pickles small (a process-pool or Dask run
    carries it) and a worker loads the same model. If the directory's model changed since
    (another sha256), ``predict`` raises :class:`EstimateError` rather than mix two models
    under one identity. Profiles: :func:`choose_profile` (stand-in / placeholder rules).
    """

    def __init__(
        self, directory: str | Path, *, sha256: str, materials: Mapping[str, tuple[str, float]]
    ):
        self.directory = str(directory)
        self.sha256 = str(sha256)
        self.materials = {k: (str(t), float(d)) for k, (t, d) in materials.items()}
        self.identity = LEARNED_PREFIX + self.sha256[:16]
        self._model: EstimateModel | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    def __repr__(self) -> str:
        return f"LearnedEstimator({self.identity!r}, directory={self.directory!r})"

    def model(self) -> EstimateModel:
        """The model (loaded once per process and object; checked against ``sha256``)."""
        if self._model is None:
            meta = persist.read_metadata(self.directory)
            if meta.get("model_sha256") != self.sha256:
                raise EstimateError(
                    f"the print-time model in {self.directory} changed while in use "
                    f"(expected {self.identity}); start the run again"
                )
            meta_path = Path(self.directory) / persist.META_FILE
            self._model = _cached(str(Path(self.directory)), os.stat(meta_path).st_mtime_ns)
        return self._model

    def predict(
        self,
        material: str,
        *,
        volume: np.ndarray,
        area: np.ndarray,
        bbox_x: np.ndarray,
        bbox_y: np.ndarray,
        height: np.ndarray,
        **optional: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(seconds (n,), grams (n,))`` of whole plates from closed-form quantities
        (:func:`~configurator.engines.fitting.model.predict_from_features` on the profile
        :func:`choose_profile` picks, grams as in :func:`profile_grams`)."""
        from configurator.engines.fitting.model import predict_from_features

        if material not in self.materials:
            raise EstimateError(
                f"material {material!r} is not one of the catalog's ({', '.join(self.materials)})"
            )
        technology, density = self.materials[material]
        model = self.model()
        choice = choose_profile(model, material=material, technology=technology, density=density)
        seconds, grams = predict_from_features(
            model,
            material=choice.profile,
            volume=volume,
            area=area,
            bbox_x=bbox_x,
            bbox_y=bbox_y,
            height=height,
            **optional,
        )
        return seconds, profile_grams(choice, grams, volume=volume, density=density)


def learned_estimator(directory: str | Path, catalog: Any) -> LearnedEstimator:
    """A :class:`LearnedEstimator` for ``catalog``'s materials over the model saved in
    ``directory`` (its ``model.json`` gives the identity; the model loads lazily)."""
    meta = persist.read_metadata(directory)
    sha = meta.get("model_sha256")
    if not isinstance(sha, str) or len(sha) < 16:
        raise EstimateError(f"{Path(directory) / persist.META_FILE} has no model_sha256")
    materials = {
        name: (str(m.technology), float(m.density)) for name, m in catalog.materials.items()
    }
    return LearnedEstimator(directory, sha256=sha, materials=materials)


def catalog_estimator(settings: Any, catalog: Any) -> LearnedEstimator:
    """The estimator the optimizer uses for ``catalog``: the model in use (a refit under
    ``settings.data_dir`` when there is one, else the shipped model; :func:`model_dir`)."""
    return learned_estimator(model_dir(settings), catalog)


# ---------------------------------------------------------------------------- estimates
@dataclass(frozen=True)
class PrintEstimate:
    """One piece (all its parts): seconds on a speed-1 node, grams, price (currency units)."""

    seconds: float
    grams: float
    price: float
    breakdown: Price
    currency: str
    material: str
    technology: str
    profile: str
    method: str
    parts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _material_spec(material: Any) -> tuple[float, float, str]:
    try:
        return float(material.density), float(material.cost_per_kg), str(material.technology)
    except AttributeError as exc:
        raise EstimateError(f"material needs density, cost_per_kg and technology: {exc}") from exc


def estimate_meshes(
    meshes: Mapping[str, Any],
    *,
    material: str,
    spec: Any,
    settings: Any,
    model: EstimateModel | None = None,
) -> PrintEstimate:
    """Estimate one piece made of ``meshes`` (part -> trimesh, mm, print orientation),
    printed together on one plate (:func:`plate_mesh`), as the farm prints a piece.

    ``spec`` is the catalog's material (``density`` g/cm³, ``cost_per_kg``, ``technology``).
    """
    if not meshes:
        raise EstimateError("nothing to estimate: no meshes")
    model = model if model is not None else get_model(settings)
    density, cost_per_kg, technology = _material_spec(spec)
    feats = mesh_features(plate_mesh(meshes), layer_height=model.layer_height)
    X = np.array([[feats[f] for f in FEATURE_NAMES]])
    seconds, grams, choice = predict(
        model, X, material=material, technology=technology, density=density
    )
    total_s, total_g = float(seconds.sum()), float(grams.sum())
    cost = price(
        grams=total_g,
        seconds=total_s,
        cost_per_kg=cost_per_kg,
        technology=technology,
        rates=settings.machine_rate_per_hour,
        setup_cost=settings.setup_cost,
    )
    return PrintEstimate(
        seconds=round(total_s, 1),
        grams=round(total_g, 2),
        price=cost.total,
        breakdown=cost,
        currency=CURRENCY,
        material=material,
        technology=technology,
        profile=choice.profile,
        method=choice.method,
        parts=tuple(meshes),
    )


def estimate_design(
    record: Any,
    *,
    material: str | None = None,
    settings: Any,
    model: EstimateModel | None = None,
    catalog: Any = None,
    meshes: Mapping[str, Any] | None = None,
) -> PrintEstimate:
    """Estimate a design record in ``material`` (default: the record's).

    The catalog (for the material's density, cost and technology) is looked up by the
    record's ``catalog_id`` in ``settings.catalog_dir`` unless given; the meshes come from
    the geometry service (cached by design id) unless given.
    """
    material = material or record.material
    if catalog is None:
        from configurator.services.catalogs import resolve_catalog

        catalog = resolve_catalog(record.catalog_id, catalog_dir=settings.catalog_dir)
    if material not in catalog.materials:
        raise EstimateError(
            f"material {material!r} is not offered by catalog {catalog.id!r} "
            f"(offered: {', '.join(sorted(catalog.materials))})"
        )
    if meshes is None:
        from configurator.services import geometry

        meshes = geometry.build_meshes(record, settings=settings)
    return estimate_meshes(
        meshes, material=material, spec=catalog.materials[material], settings=settings, model=model
    )


# ---------------------------------------------------------------------------- training
def train_from_dataset(
    *,
    dataset_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    folds: int = 5,
    seed: int = 0,
    evaluate: bool = True,
) -> dict[str, Any]:
    """Fit the model on the slicer data set, cross-validate it, save it; returns the report.

    ``out_dir`` defaults to the package's data directory (the shipped model).
    """
    from configurator.adapters.dataset import DATASET_PATH, METADATA_PATH, load_dataset
    from configurator.adapters.slicer import SlicerProfile
    from configurator.engines.fitting.evaluate import cross_validate
    from configurator.engines.fitting.model import PrintRegressor, fit_estimate_model

    path = Path(dataset_path) if dataset_path else DATASET_PATH
    ds = load_dataset(path)
    densities = {}
    for m in sorted(set(ds.material.tolist())):
        try:
            densities[m] = float(SlicerProfile.bundled(m).settings()["filament_density"])
        except (EstimateError, KeyError, ValueError):
            continue
    targets = {"seconds": ds.seconds, "grams": ds.grams}
    report: dict[str, Any] = {}
    if evaluate:
        report = cross_validate(
            ds.X,
            targets,
            groups=ds.group,
            materials=ds.material,
            labels={"catalog": ds.catalog, "source": ds.source},
            estimator=PrintRegressor(random_state=seed),
            folds=folds,
            seed=seed,
        )
    model = fit_estimate_model(
        ds.X, targets, ds.material, estimator=PrintRegressor(random_state=seed), densities=densities
    )
    slicer_meta: dict[str, Any] = {}
    meta_path = path.with_suffix(".json") if dataset_path else METADATA_PATH
    if meta_path.is_file():
        import json

        slicer_meta = json.loads(meta_path.read_text(encoding="utf-8"))
    training = {
        "source": "slicer data set",
        "dataset": path.name,
        "sha256": ds.sha256,
        "rows": len(ds),
        "prusa_slicer_version": slicer_meta.get("prusa_slicer_version"),
    }
    persist.save_model(model, out_dir or persist.DATA_DIR, training=training, report=report)
    return {"training": training, "report": report, "materials": list(model.materials)}


@dataclass(frozen=True)
class HistoryReport:
    """What ``train --from-history`` did."""

    jobs: int
    used_for_refit: int
    problems: list[str]
    speeds: dict[str, Any]
    applied_speeds: bool
    prior_mape: float | None  # packaged model vs speed-normalised actual, on the jobs
    refit_mape: float | None  # refitted model on the same jobs (in-sample)
    model_dir: str

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
    """Refit on the farm's completed jobs with the slicer data as prior; calibrate speeds.

    1. completed jobs (actual seconds, grams used, node) come from the farm store and their
       features from their mesh files;
    2. each node's speed = median(prior estimate / actual) over its jobs (``min_jobs``);
    3. actual durations are normalised to speed 1 (× the node's speed) and appended to the
       slicer data set (weight ``history_weight`` each, slicer rows 1) for the materials the
       model has a profile for; the refit goes to ``data_dir/estimate`` and is used from then on;
    4. with ``apply_speeds`` the new speeds are written to the farm's nodes.

    ``prior_dir`` / ``dataset_path`` default to the shipped model and data set.
    """
    from configurator.adapters.dataset import load_dataset
    from configurator.adapters.db.history import job_features, read_completed_jobs
    from configurator.engines.fitting.calibrate import (
        DEFAULT_HISTORY_WEIGHT,
        DEFAULT_MIN_JOBS,
        prior_weights,
        speed_factors,
    )
    from configurator.engines.fitting.model import PrintRegressor, fit_estimate_model, mape

    hw = DEFAULT_HISTORY_WEIGHT if history_weight is None else history_weight
    mj = DEFAULT_MIN_JOBS if min_jobs is None else min_jobs
    own_store = store is None
    if own_store:
        from configurator.adapters.db.store import Store

        store = Store(settings.resolved_database_url)
    try:
        jobs, current = read_completed_jobs(store)
        kept, Xh, problems = job_features(jobs)
        if not kept:
            raise EstimateError(
                f"no completed jobs with readable files in the farm store ({len(jobs)} done)"
            )
        prior = persist.load_model(prior_dir or persist.DATA_DIR)
        est = np.empty(len(kept))
        densities = _catalog_densities(settings)
        for i, job in enumerate(kept):
            s, _, _ = predict(
                prior,
                Xh[i : i + 1],
                material=job.material,
                technology=job.technology,
                density=densities.get(job.material, 0.0),
            )
            est[i] = s[0]
        nodes = np.array([j.node_id for j in kept])
        actual = np.array([j.actual_seconds for j in kept])
        factors = speed_factors(nodes, est, actual, current=current, min_jobs=mj)
        norm = actual * np.array([factors[n].speed for n in nodes])
        refit_rows = np.array([j.material in prior.materials for j in kept])

        ds = load_dataset(dataset_path) if dataset_path else load_dataset()
        hist_grams = np.ones(len(kept))
        for i, job in enumerate(kept):
            if job.grams_used and job.grams_used > 0:
                hist_grams[i] = job.grams_used
            elif refit_rows[i]:  # no reported usage: keep the prior's figure
                hist_grams[i] = prior.predict(job.material, Xh[i : i + 1])[1][0]
        X = np.vstack([ds.X, Xh[refit_rows]])
        targets = {
            "seconds": np.r_[ds.seconds, norm[refit_rows]],
            "grams": np.r_[ds.grams, hist_grams[refit_rows]],
        }
        materials = np.r_[ds.material, np.array([j.material for j in kept])[refit_rows]]
        weights = prior_weights(len(ds), int(refit_rows.sum()), history_weight=hw)
        model = fit_estimate_model(
            X,
            targets,
            materials,
            estimator=PrintRegressor(random_state=seed),
            densities=prior.densities,
            sample_weight=weights,
        )
        prior_err = refit_err = None
        if refit_rows.any():
            idx = np.flatnonzero(refit_rows)
            p0 = np.array([prior.predict(kept[i].material, Xh[i : i + 1])[0][0] for i in idx])
            p1 = np.array([model.predict(kept[i].material, Xh[i : i + 1])[0][0] for i in idx])
            prior_err, refit_err = mape(norm[idx], p0), mape(norm[idx], p1)
        out = refit_dir(settings)
        persist.save_model(
            model,
            out,
            training={
                "source": "slicer data set + farm history",
                "sha256": ds.sha256,
                "rows": len(ds),
                "history_jobs": int(refit_rows.sum()),
                "history_weight": hw,
            },
            report={"history": {"prior_mape": prior_err, "refit_mape_in_sample": refit_err}},
        )
        applied = False
        changed = {n: f for n, f in factors.items() if f.changed and n in current}
        if apply_speeds and changed:
            from configurator.services.farm.service import FarmService

            farm = FarmService(store, settings)
            for node_id, f in sorted(changed.items()):
                farm.update_node(node_id, speed=round(f.speed, 4))
            applied = True
        return HistoryReport(
            jobs=len(jobs),
            used_for_refit=int(refit_rows.sum()),
            problems=problems,
            speeds={n: asdict(f) for n, f in factors.items()},
            applied_speeds=applied,
            prior_mape=prior_err,
            refit_mape=refit_err,
            model_dir=str(out),
        )
    finally:
        if own_store:
            store.dispose()


def _catalog_densities(settings: Any) -> dict[str, float]:
    """Material name -> density (g/cm³) over every catalog (first catalog wins)."""
    from configurator.adapters.catalog_yaml import load_catalogs

    out: dict[str, float] = {}
    try:
        catalogs = load_catalogs(Path(settings.catalog_dir))
    except ConfiguratorError:  # a broken catalog must not stop retraining
        return out
    for cid in sorted(catalogs):
        for name, mat in catalogs[cid].materials.items():
            out.setdefault(name, float(mat.density))
    return out
