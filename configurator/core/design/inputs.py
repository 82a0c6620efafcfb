"""A customer's input checked against a catalog: requirements, locks, bounds, objectives,
weights and material — every bad field at once, as
:class:`~configurator.errors.RequirementsError` ``fields``.

Values may be numbers, booleans or text (``"80"``, ``"true"``, ``"M3"``), as they come from a
command line or a web form; :func:`coerce` turns one into the field's type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from configurator.core.catalog.model import Catalog, FieldSpec
from configurator.core.design.variables import MATERIAL, fmt_number


def material_spec(catalog: Catalog) -> FieldSpec:
    return FieldSpec(
        type="choice", options=list(catalog.materials), default=catalog.default_material
    )


def _range(spec: FieldSpec) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    return f"between {fmt_number(spec.min)} and {fmt_number(spec.max)}{unit}"  # type: ignore[arg-type]


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce(spec: FieldSpec, raw: Any) -> tuple[Any, str | None]:
    """(value, None) or (None, readable reason). Values: float, int, bool or option label."""
    if spec.type == "choice":
        if isinstance(raw, bool):
            return None, f"must be one of {', '.join(spec.options or [])}"
        label = _label(raw)
        if label not in (spec.options or []):
            return None, f"must be one of {', '.join(spec.options or [])} (got {raw!r})"
        return label, None
    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw), None
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE, None
        return None, f"must be true or false (got {raw!r})"
    if isinstance(raw, bool):
        return None, f"must be a number (got {raw!r})"
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None, f"must be a number (got {raw!r})"
    elif isinstance(raw, int | float | np.integer | np.floating):
        value = float(raw)
    else:
        return None, f"must be a number (got {type(raw).__name__})"
    if not math.isfinite(value):
        return None, "must be a finite number"
    if spec.type == "int" and value != round(value):
        return None, f"must be a whole number (got {fmt_number(value)})"
    if not spec.min <= value <= spec.max:  # type: ignore[operator]
        return None, f"must be {_range(spec)} (got {fmt_number(value)})"
    return (int(round(value)) if spec.type == "int" else value), None


def _label(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(raw)
    return str(raw).strip() if isinstance(raw, str) else str(raw)


def default_value(spec: FieldSpec) -> Any:
    if spec.default is not None:
        if spec.type == "choice":
            return str(spec.default)
        if spec.type == "int":
            return int(spec.default)
        if spec.type == "real":
            return float(spec.default)
        return spec.default
    if spec.type == "choice":
        return (spec.options or [""])[0]
    if spec.type == "bool":
        return False
    mid = (spec.min + spec.max) / 2  # type: ignore[operator]
    return int(round(mid)) if spec.type == "int" else mid


def resolve_requirements(
    catalog: Catalog, given: Mapping[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in given:
        if name not in catalog.requirements:
            hint = ", ".join(catalog.requirements) or "none"
            errors[name] = f"unknown requirement (known: {hint})"
    for name, spec in catalog.requirements.items():
        if name in given and given[name] is not None and given[name] != "":
            value, reason = coerce(spec, given[name])
            if reason:
                errors[name] = reason
            else:
                out[name] = value
        elif spec.default is not None:
            out[name] = default_value(spec)
        else:
            errors[name] = "required"
    return out


def resolve_locks(
    catalog: Catalog, given: Mapping[str, Any], material: str | None, errors: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in given.items():
        if name == MATERIAL:
            spec = material_spec(catalog)
        elif name in catalog.parameters:
            spec = catalog.parameters[name]
        else:
            errors[f"locks.{name}"] = "unknown parameter" + (
                " (it is a requirement)" if name in catalog.requirements else ""
            )
            continue
        value, reason = coerce(spec, raw)
        if reason:
            errors[f"locks.{name}"] = reason
        else:
            out[name] = value
    if material is not None:
        if material not in catalog.materials:
            errors[MATERIAL] = (
                f"unknown material {material!r} (known: {', '.join(catalog.materials)})"
            )
        elif MATERIAL in out and out[MATERIAL] != material:
            errors[MATERIAL] = f"conflicts with locks.material = {out[MATERIAL]!r}"
        else:
            out[MATERIAL] = material
    return out


def resolve_bounds(
    catalog: Catalog,
    given: Mapping[str, Sequence[Any]],
    locks: Mapping[str, Any],
    errors: dict[str, str],
) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for name, pair in given.items():
        key = f"bounds.{name}"
        spec = catalog.parameters.get(name)
        if spec is None:
            errors[key] = "unknown parameter"
            continue
        if spec.type not in ("real", "int"):
            errors[key] = (
                f"only real and int parameters take bounds ({name} is a {spec.type}; lock it instead)"
            )
            continue
        if name in locks:
            errors[key] = "is also locked"
            continue
        try:
            lo_raw, hi_raw = pair
        except (TypeError, ValueError):
            errors[key] = "must be a pair (low, high)"
            continue
        lo, r1 = coerce(spec, lo_raw)
        hi, r2 = coerce(spec, hi_raw)
        if r1 or r2:
            errors[key] = f"low {r1}" if r1 else f"high {r2}"
            continue
        if lo > hi:
            errors[key] = f"low ({fmt_number(lo)}) is greater than high ({fmt_number(hi)})"
            continue
        out[name] = (float(lo), float(hi))
    return out


def resolve_objectives(
    catalog: Catalog, given: Sequence[str] | None, errors: dict[str, str]
) -> list[str]:
    if given is None:
        return list(catalog.objectives)
    if isinstance(given, str):
        given = [given]
    names = list(given)
    if not names:
        errors["objectives"] = "choose at least one objective"
        return []
    unknown = [n for n in names if n not in catalog.objectives]
    if unknown:
        errors["objectives"] = (
            f"unknown objective(s) {', '.join(map(str, unknown))} (known: {', '.join(catalog.objectives)})"
        )
    elif len(set(names)) != len(names):
        errors["objectives"] = "an objective is listed twice"
    return names


def resolve_weights(
    weights: Sequence[float] | None, n_obj: int, errors: dict[str, str]
) -> list[float] | None:
    if weights is None:
        return None
    try:
        w = [float(x) for x in weights]
    except (TypeError, ValueError):
        errors["weights"] = "must be numbers"
        return None
    if len(w) != n_obj:
        errors["weights"] = f"expected {n_obj} weight(s), one per objective, got {len(w)}"
    elif any(not math.isfinite(x) or x < 0 for x in w):
        errors["weights"] = "must be finite and >= 0"
    elif sum(w) <= 0:
        errors["weights"] = "at least one weight must be > 0"
    return w
