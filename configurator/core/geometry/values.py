"""Reading resolved design values inside generators, with readable errors.

``values`` is ``DesignSpace.values(x)``: requirements, parameters, derived values and table
lookups (``"screw.hole"``). Values may be numpy scalars or 0-d arrays; these helpers return
plain Python numbers so geometry never depends on the array type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from configurator.errors import GeometryError


def number(values: Mapping[str, Any], name: str, *, family: str) -> float:
    """``values[name]`` as a finite float; GeometryError naming the family when absent/bad."""
    try:
        raw = values[name]
    except KeyError:
        raise GeometryError(f"{family}: missing value {name!r}") from None
    try:
        out = float(np.asarray(raw).reshape(-1)[0]) if not isinstance(raw, int | float) else raw
        out = float(out)
    except (TypeError, ValueError, IndexError):
        raise GeometryError(f"{family}: value {name!r} is not a number: {raw!r}") from None
    if not math.isfinite(out):
        raise GeometryError(f"{family}: value {name!r} is not finite: {out}")
    return out


def integer(values: Mapping[str, Any], name: str, *, family: str) -> int:
    """``values[name]`` rounded to an int (GeometryError when not integral within 1e-6)."""
    x = number(values, name, family=family)
    n = round(x)
    if abs(n - x) > 1e-6:
        raise GeometryError(f"{family}: value {name!r} must be an integer, got {x}")
    return int(n)


def positive(values: Mapping[str, Any], name: str, *, family: str) -> float:
    """Like :func:`number` but the value must be > 0."""
    x = number(values, name, family=family)
    if x <= 0:
        raise GeometryError(f"{family}: value {name!r} must be positive, got {x}")
    return x
