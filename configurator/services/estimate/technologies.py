"""The estimate technologies registry: the one place a technology is added.

:data:`TECHNOLOGIES` maps a technology (``FDM``, ``SLA``, ``SLM``) to its
:class:`Technology`: how a material picks one of its committed profiles, the features of a
mesh and the closed-form features of the host functions (pure, in
:mod:`configurator.core.estimate`), the estimator it fits (engines) and its saved model
(adapters). To add a technology: write its feature module in ``core/estimate`` (features,
terms, params, closed form), list it in ``core/estimate/technologies.py``, give it
profiles in ``adapters/profiles.py`` and a data-set runner in
``scripts/make_slicer_dataset.py``, and register it here.

Which profile estimates a material (:meth:`Technology.choose_profile`):
* a material with its own profile uses it (PLA, PETG, ASA; the SLA resin);
* another material of the technology uses the profile whose material density is nearest
  (PEEK -> PETG; 316L -> the Ti-6Al-4V SLM process), grams scaled by the density ratio —
  the time is the profile's (same process), the mass follows the material.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import model_store
from configurator.adapters.profiles import profile_density, profile_names, profile_params
from configurator.core.catalog.expressions import HOST_ARGS
from configurator.core.estimate.features import FEATURE_NAMES
from configurator.core.estimate.technologies import (
    FDM,
    SLA,
    SLM,
    feature_names,
    n_terms,
    technology_analytic,
    technology_features,
)
from configurator.engines.fitting.model import EstimateModel, NaiveBaseline, PrintRegressor
from configurator.errors import EstimateError

#: trees of the learned correction per (technology, target), chosen on held-out shape
#: families (docs/estimate.md): FDM print time generalises better on the physical prior
#: alone (8.3 % vs 8.8 % MAPE with 100 trees), its grams with a correction (7.5 vs 7.9 %).
CORRECTION_TREES = {("FDM", "seconds"): 0, ("FDM", "grams"): 100}


@dataclass(frozen=True)
class ProfileChoice:
    """The profile estimating a material: ``profile``, ``method``, grams scale."""

    profile: str
    method: str  # "profile" | "stand-in"
    grams_scale: float = 1.0


@dataclass(frozen=True)
class Technology:
    """One printing technology's estimator (see the module docstring).

    ``default_profile`` is the profile a material of the technology uses when it has none
    of its own and no density to match (SLA: supports + pad on).
    """

    name: str
    default_profile: str | None = None

    # ---------------------------------------------------------------- profiles
    def profiles(self) -> list[str]:
        """The committed profiles (one regressor each in the model)."""
        return profile_names(self.name)

    def params(self, profile: str) -> Any:
        """The pure parameter object of a profile (layer height, speeds, ...)."""
        return profile_params(self.name, profile)

    def choose_profile(
        self, model: EstimateModel, *, material: str, density: float
    ) -> ProfileChoice:
        """The profile of ``model`` estimating ``material`` (density g/cm³)."""
        if not model.materials:
            raise EstimateError(f"the {self.name} estimator has no trained profiles")
        if material in model.materials:
            return ProfileChoice(material, "profile")
        default = self.default_profile if self.default_profile in model.materials else None
        known = {m: model.densities.get(m) for m in model.materials if model.densities.get(m)}
        if default is not None:
            known = {default: known.get(default)} if known.get(default) else {}
        if not known or not (density and density > 0):
            return ProfileChoice(default or model.materials[0], "stand-in")
        nearest = min(sorted(known), key=lambda m: abs(known[m] - density))
        return ProfileChoice(nearest, "stand-in", float(density) / float(known[nearest]))

    # ---------------------------------------------------------------- features
    def features(self, mesh: Any, profile: str) -> np.ndarray:
        """``(1, k)`` features of a mesh (trimesh, mm, print orientation) for ``profile``."""
        row = technology_features(self.name, mesh.vertices, mesh.faces, self.params(profile))
        return np.array([[row[n] for n in feature_names(self.name)]])

    def analytic(self, profile: str, **quantities: Any) -> np.ndarray:
        """``(n, k)`` features from the host functions' closed-form quantities."""
        return technology_analytic(self.name, self.params(profile), **quantities)

    def closed_form_rows(self, shape: np.ndarray, profiles: np.ndarray) -> np.ndarray:
        """``(n, k)`` closed-form features of data-set rows from their shape descriptors
        (``shape`` (n, 13) in :data:`~configurator.core.estimate.features.FEATURE_NAMES`
        order), each with its row's profile: what the host functions would compute."""
        col = {n: shape[:, i] for i, n in enumerate(FEATURE_NAMES)}
        out = np.zeros((len(shape), len(feature_names(self.name))))
        for prof in sorted(set(np.asarray(profiles).tolist())):
            rows = np.asarray(profiles) == prof
            out[rows] = self.analytic(prof, **{k: col[k][rows] for k in HOST_ARGS})
        return out

    # ---------------------------------------------------------------- fitting
    def estimator(self, seed: int = 0) -> dict[str, PrintRegressor]:
        """The estimators fitted per profile, by target (physical terms first), with the
        correction's size from :data:`CORRECTION_TREES`. SLM grams are the part's metal,
        ``volume × density`` exactly: the volume term alone."""
        k = n_terms(self.name)
        out = {
            t: PrintRegressor(
                n_terms=k,
                n_estimators=CORRECTION_TREES.get((self.name, t), 100),
                random_state=seed,
            )
            for t in ("seconds", "grams")
        }
        if self.name == SLM:
            volume = (feature_names(self.name).index("volume"),)
            out["grams"] = PrintRegressor(terms=volume, n_estimators=0, random_state=seed)
        return out

    def baseline(self) -> NaiveBaseline:
        """``volume / flow + layers × overhead`` on this technology's columns."""
        names = feature_names(self.name)
        return NaiveBaseline(volume_index=names.index("volume"), layers_index=names.index("layers"))

    def densities(self) -> dict[str, float]:
        """Material density of every profile, g/cm³."""
        return {p: profile_density(self.name, p) for p in self.profiles()}

    def layer_height(self) -> float:
        return float(self.params(self.profiles()[0]).layer_height)

    # ---------------------------------------------------------------- models
    def has_model(self, directory: str | Path) -> bool:
        return model_store.has_model(directory, self.name)

    def model_sha(self, directory: str | Path) -> str:
        """The sha256 of the saved model in ``directory``."""
        sha = model_store.read_metadata(directory, self.name).get("model_sha256")
        if not isinstance(sha, str) or len(sha) < 16:
            raise EstimateError(f"the {self.name} model in {directory} has no model_sha256")
        return sha


TECHNOLOGIES: dict[str, Technology] = {
    FDM: Technology(FDM),
    SLA: Technology(SLA, default_profile="Resin"),
    SLM: Technology(SLM),
}


def technology(name: str) -> Technology:
    """The registered :class:`Technology` (EstimateError naming the known ones)."""
    try:
        return TECHNOLOGIES[str(name).upper()]
    except KeyError:
        raise EstimateError(
            f"no estimator for technology {name!r}; registered: {', '.join(TECHNOLOGIES)}"
        ) from None
