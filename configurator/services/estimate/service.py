"""The estimate service: a design or mesh -> print seconds, grams and price, per technology.

Used by the web results and orders (through the design book) and so by the farm router,
which routes on the ``est_seconds`` the orders carry.

Which estimator: the material's technology (``FDM``, ``SLA``, ``SLM``) picks a
:class:`~configurator.services.estimate.technologies.Technology` of the registry, which
picks one of its profiles (own profile, or the nearest-density stand-in with grams scaled).
Which model: per technology, a refit from the farm's history under ``data_dir/estimate/``
when one exists (``configurator estimate train --from-history``), else the model shipped in
the package. A design's parts are laid out on one plate and estimated together, as the farm
prints a piece.

Optimization: :func:`catalog_estimator` wraps the models in use as the
:class:`~configurator.core.design.estimator.PrintEstimator` a catalog's host functions
(``print_seconds``, ``print_grams``) call, each material through its own technology.

Price: :func:`configurator.core.estimate.pricing.price` with the catalog material's
``cost_per_kg`` and the technology's machine rate, waste, build setup and post-processing
from :class:`~configurator.settings.Settings`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import model_store as persist
from configurator.adapters.catalog_yaml import load_catalogs
from configurator.adapters.profiles import profile_density, profile_settings
from configurator.core.estimate.pricing import Price, price
from configurator.core.geometry.layout import plate_mesh
from configurator.engines.fitting.model import EstimateModel
from configurator.errors import ConfiguratorError, EstimateError
from configurator.services import geometry
from configurator.services.catalogs import resolve_catalog
from configurator.services.estimate.technologies import TECHNOLOGIES, Technology, technology

CURRENCY = "EUR"
LEARNED_PREFIX = "learned:"
FDM = "FDM"
__all__ = ["plate_mesh"]  # re-exported: one plate layout for data sets and estimates


# ---------------------------------------------------------------------------- models
def refit_dir(settings: Any) -> Path:
    """Where ``train --from-history`` writes its refits: ``data_dir/estimate``."""
    return Path(settings.data_dir) / "estimate"


def model_dir(settings: Any | None = None) -> Path:
    """The refit directory when it holds a model, else the packaged model's directory
    (technologies without a refit there fall back to the packaged model; :func:`resolve_dir`)."""
    if settings is not None and any(
        t.has_model(refit_dir(settings)) for t in TECHNOLOGIES.values()
    ):
        return refit_dir(settings)
    return persist.DATA_DIR


def resolve_dir(directory: str | Path, tech: str) -> Path:
    """``directory`` when it holds ``tech``'s model, else the packaged model directory."""
    return Path(directory) if technology(tech).has_model(directory) else persist.DATA_DIR


_CACHE: dict[tuple[str, str, int], EstimateModel] = {}


def load(directory: str | Path, tech: str) -> EstimateModel:
    """``tech``'s model in ``directory`` (or the packaged one), cached by file mtime."""
    d = resolve_dir(directory, tech)
    meta = d / persist.model_files(tech)[1]
    stamp = os.stat(meta).st_mtime_ns if meta.exists() else 0
    key = (str(d), tech.upper(), stamp)
    if key not in _CACHE:
        persist.load_model.cache_clear()
        for k in [k for k in _CACHE if k[:2] == key[:2]]:
            del _CACHE[k]
        _CACHE[key] = persist.load_model(d, tech)
    return _CACHE[key]


def get_model(settings: Any | None = None, tech: str = FDM) -> EstimateModel:
    """The model in use for ``tech`` (refit under ``settings.data_dir``, else shipped)."""
    return load(model_dir(settings), tech)


# ---------------------------------------------------------------------------- materials
@dataclass(frozen=True)
class MaterialSpec:
    """A material as the estimates need it: density g/cm³, cost per kg, technology."""

    density: float
    cost_per_kg: float
    technology: str


def known_materials(settings: Any) -> dict[str, MaterialSpec]:
    """Every material the estimate can price: the catalogs' (first catalog wins), then the
    committed profiles' own materials (FDM filaments, the SLA resin)."""
    out: dict[str, MaterialSpec] = {}
    try:
        catalogs = load_catalogs(Path(settings.catalog_dir))
    except ConfiguratorError:
        catalogs = {}
    for cid in sorted(catalogs):
        for name, m in catalogs[cid].materials.items():
            out.setdefault(
                name, MaterialSpec(float(m.density), float(m.cost_per_kg), str(m.technology))
            )
    for tech in TECHNOLOGIES.values():
        for prof in tech.profiles():
            base = prof.split("-")[0] if tech.name == "SLA" else prof
            if base in out:
                continue
            conf = profile_settings(tech.name, prof)
            density = profile_density(tech.name, prof)
            if tech.name == FDM:
                cost = float(conf.get("filament_cost", 0.0))
            elif tech.name == "SLA":  # bottle price per ml -> per kg
                cost = float(conf["bottle_cost"]) / float(conf["bottle_volume"]) * 1000 / density
            else:
                continue
            out[base] = MaterialSpec(density, cost, tech.name)
    return out


def material_spec(name: str, settings: Any) -> MaterialSpec:
    """The :class:`MaterialSpec` of ``name`` (one readable EstimateError when unknown)."""
    known = known_materials(settings)
    if name not in known:
        raise EstimateError(f"unknown material {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


# ---------------------------------------------------------------------------- optimizer
class LearnedEstimator:
    """The learned models as a catalog's :class:`~configurator.core.design.estimator.PrintEstimator`.

    Holds the model directory, each used technology's model sha256 and the catalog's
    materials (name -> (technology, density g/cm³)); models load on the first ``predict`` in
    each process, so the object pickles small and a worker loads the same models. If a
    model changed since (another sha256), ``predict`` raises :class:`EstimateError`.
    ``identity`` is ``"learned:"`` + the FDM model's sha256[:16] for an FDM-only catalog,
    else + sha256 of every used technology's sha, [:16].
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        shas: Mapping[str, str],
        materials: Mapping[str, tuple[str, float]],
    ):
        self.directory = str(directory)
        self.shas = dict(sorted(shas.items()))
        self.materials = {k: (str(t).upper(), float(d)) for k, (t, d) in materials.items()}
        if list(self.shas) == [FDM]:
            self.identity = LEARNED_PREFIX + self.shas[FDM][:16]
        else:
            joined = ",".join(f"{t}={s}" for t, s in self.shas.items())
            self.identity = LEARNED_PREFIX + hashlib.sha256(joined.encode()).hexdigest()[:16]
        self._models: dict[str, EstimateModel] = {}

    @property
    def sha256(self) -> str:
        """The FDM model's sha256 (or the first technology's)."""
        return self.shas.get(FDM) or next(iter(self.shas.values()))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_models": {}}

    def __repr__(self) -> str:
        return f"LearnedEstimator({self.identity!r}, directory={self.directory!r})"

    def model(self, tech: str = FDM) -> EstimateModel:
        """``tech``'s model (loaded once per process and object; checked against its sha)."""
        tech = tech.upper()
        if tech not in self._models:
            d = resolve_dir(self.directory, tech)
            if technology(tech).model_sha(d) != self.shas.get(tech):
                raise EstimateError(
                    f"the {tech} print-time model in {d} changed while in use "
                    f"(expected {self.identity}); start the run again"
                )
            self._models[tech] = load(self.directory, tech)
        return self._models[tech]

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
        """``(seconds (n,), grams (n,))`` of whole plates from closed-form quantities,
        through the material's technology and profile."""
        if material not in self.materials:
            raise EstimateError(
                f"material {material!r} is not one of the catalog's ({', '.join(self.materials)})"
            )
        tech_name, density = self.materials[material]
        tech = technology(tech_name)
        model = self.model(tech_name)
        choice = tech.choose_profile(model, material=material, density=density)
        X = tech.analytic(
            choice.profile,
            volume=volume,
            area=area,
            bbox_x=bbox_x,
            bbox_y=bbox_y,
            height=height,
            **optional,
        )
        seconds, grams = model.predict_closed_form(choice.profile, X)
        return seconds, grams * choice.grams_scale


def learned_estimator(directory: str | Path, catalog: Any) -> LearnedEstimator:
    """A :class:`LearnedEstimator` for ``catalog``'s materials over the models in
    ``directory`` (technologies without a model there: the packaged one)."""
    materials = {
        name: (str(m.technology).upper(), float(m.density)) for name, m in catalog.materials.items()
    }
    shas = {}
    for tech_name in sorted({t for t, _ in materials.values()}):
        tech = technology(tech_name)
        shas[tech.name] = tech.model_sha(resolve_dir(directory, tech.name))
    return LearnedEstimator(directory, shas=shas, materials=materials)


def catalog_estimator(settings: Any, catalog: Any) -> LearnedEstimator:
    """The estimator the optimizer uses for ``catalog``: the models in use (refits under
    ``settings.data_dir`` when there are, else the shipped ones; :func:`model_dir`)."""
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
    support_grams: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _material_spec(material: Any) -> MaterialSpec:
    try:
        return MaterialSpec(
            float(material.density), float(material.cost_per_kg), str(material.technology).upper()
        )
    except AttributeError as exc:
        raise EstimateError(f"material needs density, cost_per_kg and technology: {exc}") from exc


def predict_mesh(
    mesh: Any,
    *,
    material: str,
    spec: MaterialSpec,
    settings: Any,
    model: EstimateModel | None = None,
) -> tuple[float, float, float, Any]:
    """``(seconds, grams, support grams, profile choice)`` of one plate mesh (mm).

    SLM grams add the support rule's metal (``support_mm3 × support_fill × density``)."""
    tech: Technology = technology(spec.technology)
    model = model if model is not None else get_model(settings, tech.name)
    if model.technology.upper() != tech.name:
        raise EstimateError(f"a {model.technology} model cannot estimate {tech.name} material")
    choice = tech.choose_profile(model, material=material, density=spec.density)
    X = tech.features(mesh, choice.profile)
    seconds, grams = model.predict(choice.profile, X)
    support_g = 0.0
    if tech.name == "SLM":
        names = list(model.feature_names)
        fill = float(tech.params(choice.profile).support_fill)
        support_g = float(X[0, names.index("support_mm3")]) * fill * spec.density / 1000.0
    return float(seconds[0]), float(grams[0]) * choice.grams_scale, support_g, choice


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
    ms = _material_spec(spec)
    seconds, grams, support_g, choice = predict_mesh(
        plate_mesh(meshes), material=material, spec=ms, settings=settings, model=model
    )
    total_g = grams + support_g
    tech = ms.technology
    cost = price(
        grams=total_g,
        seconds=seconds,
        cost_per_kg=ms.cost_per_kg,
        technology=tech,
        rates=settings.machine_rate_per_hour,
        setup_cost=float(getattr(settings, "build_setup_cost", {}).get(tech, settings.setup_cost)),
        waste=float(getattr(settings, "material_waste", {}).get(tech, 0.0)),
        post_processing=float(getattr(settings, "post_processing_cost", {}).get(tech, 0.0)),
    )
    return PrintEstimate(
        seconds=round(seconds, 1),
        grams=round(total_g, 2),
        price=cost.total,
        breakdown=cost,
        currency=CURRENCY,
        material=material,
        technology=tech,
        profile=choice.profile,
        method=choice.method,
        parts=tuple(meshes),
        support_grams=round(support_g, 2),
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
        catalog = resolve_catalog(record.catalog_id, catalog_dir=settings.catalog_dir)
    if material not in catalog.materials:
        raise EstimateError(
            f"material {material!r} is not offered by catalog {catalog.id!r} "
            f"(offered: {', '.join(sorted(catalog.materials))})"
        )
    if meshes is None:
        meshes = geometry.build_meshes(record, settings=settings, catalog=catalog)
    return estimate_meshes(
        meshes, material=material, spec=catalog.materials[material], settings=settings, model=model
    )
