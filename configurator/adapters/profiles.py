"""The committed process profiles of every technology, as the estimators need them.

``profile_names(technology)`` lists them and ``profile_params(technology, name)`` reads one
into the pure parameter object its features take
(:class:`~configurator.core.estimate.fdm.FdmParams`,
:class:`~configurator.core.estimate.sla.SlaParams`,
:class:`~configurator.core.estimate.slm.SlmParams`):

* FDM: ``profiles/fdm_base.ini`` + ``profiles/<filament>.ini`` (PLA, PETG, ASA);
* SLA: ``profiles/sla/base.ini`` + ``<resin>.ini`` + ``supports.ini`` (profile ``Resin``)
  or ``nosupports.ini`` (profile ``Resin-nosupports``);
* SLM: ``profiles/slm/process.json`` (one process; profile named after its material).

``profile_density`` is the material density the profile's ground truth used (g/cm³).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from configurator.adapters.pyslm import load_profile as load_slm_profile
from configurator.adapters.slicer import (
    SLA_SUPPORT_VARIANTS,
    SlicerProfile,
    bundled_materials,
    sla_materials,
    sla_profile,
)
from configurator.core.estimate.technologies import FDM, PARAMS, SLA, SLM, feature_names
from configurator.errors import EstimateError


def profile_names(technology: str) -> list[str]:
    """The committed profiles of ``technology``."""
    tech = technology.upper()
    feature_names(tech)
    if tech == FDM:
        return bundled_materials()
    if tech == SLA:
        return [
            m if v == "supports" else f"{m}-{v}"
            for m in sla_materials()
            for v in SLA_SUPPORT_VARIANTS
        ]
    return [str(load_slm_profile()["material"])]


def slicer_profile(technology: str, name: str) -> SlicerProfile:
    """The PrusaSlicer profile (INI files) of an FDM or SLA profile name."""
    tech = technology.upper()
    if tech == FDM:
        return SlicerProfile.bundled(name)
    if tech == SLA:
        material, _, variant = name.partition("-")
        return sla_profile(material, supports=variant or "supports")
    raise EstimateError(f"{technology} has no PrusaSlicer profile")


@cache
def profile_settings(technology: str, name: str) -> dict[str, Any]:
    """The merged settings of a profile (INI keys, or the SLM JSON)."""
    tech = technology.upper()
    if name not in profile_names(tech):
        raise EstimateError(
            f"no {tech} profile {name!r}; committed: {', '.join(profile_names(tech))}"
        )
    if tech == SLM:
        return dict(load_slm_profile())
    return slicer_profile(tech, name).settings()


def profile_params(technology: str, name: str) -> Any:
    """The parameter object of a committed profile (see the module docstring)."""
    tech = technology.upper()
    return PARAMS[tech].from_settings(profile_settings(tech, name))


def profile_density(technology: str, name: str) -> float:
    """Density of the profile's material, g/cm³."""
    conf = profile_settings(technology, name)
    key = {FDM: "filament_density", SLA: "material_density", SLM: "density_g_cm3"}
    try:
        return float(conf[key[technology.upper()]])
    except (KeyError, ValueError):
        raise EstimateError(
            f"{technology} profile {name!r} has no {key[technology.upper()]}"
        ) from None
