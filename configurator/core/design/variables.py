"""Search variables: what the optimizer varies, and the one encoding GA, PSO and NSGA-II share.

Choices (``material`` included) and bools are integer indices ``0..k-1``; ints are
integers; reals may sit on a ``step`` grid anchored at ``origin``. :func:`build_variables`
makes them from a catalog and the resolved locks and bounds; :func:`encode_value` /
:func:`decode_value` convert one natural value to and from its real coordinate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from configurator.core.catalog.model import Catalog, FieldSpec

MATERIAL = "material"
#: decimals kept when snapping to a step (removes float noise like 1.9000000000000001)
SNAP_DECIMALS = 9


def fmt_number(v: float) -> str:
    """A number as a customer reads it (``%g``)."""
    return f"{v:g}"


@dataclass(frozen=True)
class Variable:
    """One searched variable. ``kind``: real | int | choice | bool.

    ``lower``/``upper`` are the encoded bounds (choice and bool: ``0 .. k-1``); ``options``
    are the labels of a choice (bool: ``(False, True)``); ``step`` the grid of a real/int
    (``None``: continuous for real, 1 for int); ``origin`` the grid origin (catalog min).
    """

    name: str
    kind: str
    lower: float
    upper: float
    options: tuple[Any, ...] | None = None
    step: float | None = None
    origin: float = 0.0
    unit: str | None = None


def build_variables(
    catalog: Catalog,
    locks: Mapping[str, Any],
    bounds: Mapping[str, tuple[float, float]],
    errors: dict[str, str],
    *,
    materials: tuple[str, ...] | None = None,
) -> list[Variable]:
    """The searched variables; ``materials``: the materials the search may pick (default:
    every material of the catalog, in catalog order)."""
    out: list[Variable] = []
    for name, spec in catalog.parameters.items():
        if name in locks:
            continue
        if spec.type == "choice":
            opts = tuple(spec.options or ())
            out.append(
                Variable(name, "choice", 0.0, float(len(opts) - 1), options=opts, unit=spec.unit)
            )
            continue
        if spec.type == "bool":
            out.append(Variable(name, "bool", 0.0, 1.0, options=(False, True), unit=spec.unit))
            continue
        lo, hi = bounds.get(name, (spec.min, spec.max))
        origin = float(spec.min)  # type: ignore[arg-type]
        step = spec.step if spec.type == "real" else (spec.step or 1.0)
        if step:
            lo = origin + math.ceil(round((lo - origin) / step, 9)) * step
            hi = origin + math.floor(round((hi - origin) / step, 9)) * step
            lo, hi = round(lo, SNAP_DECIMALS), round(hi, SNAP_DECIMALS)
            if lo > hi:
                errors[f"bounds.{name}"] = f"contains no value on the {fmt_number(step)} grid"
                continue
        out.append(
            Variable(
                name, spec.type, float(lo), float(hi), step=spec.step, origin=origin, unit=spec.unit
            )
        )
    if MATERIAL not in locks:
        opts = tuple(catalog.materials) if materials is None else tuple(materials)
        out.append(Variable(MATERIAL, "choice", 0.0, float(len(opts) - 1), options=opts))
    return out


def encode_value(v: Variable, value: Any) -> float:
    if v.kind == "choice":
        return float(v.options.index(value))  # type: ignore[union-attr]
    if v.kind == "bool":
        return 1.0 if value else 0.0
    return float(value)


def decode_value(v: Variable, x: float) -> Any:
    if v.kind == "choice":
        return v.options[int(round(x))]  # type: ignore[index]
    if v.kind == "bool":
        return bool(round(x))
    if v.kind == "int":
        return int(round(x))
    return float(x)


def env_value(spec: FieldSpec, value: Any) -> Any:
    if spec.type == "choice":
        return np.intp((spec.options or []).index(value))
    return np.float64(float(value))


def natural(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
