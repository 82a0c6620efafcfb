"""The price formula: pure, works on scalars and numpy arrays alike.

::

    material = cost_per_kg × grams / 1000 × (1 + waste)   (the catalog material's cost per
               kg; waste: powder / resin / filament lost per kg printed, per technology)
    machine  = rate_per_hour[technology] × seconds / 3600   (Settings.machine_rate_per_hour)
    setup    = per-build setup of the technology (build-plate preparation, inerting; shared
               by the parts of one build once plates are batched)
    post     = post-processing of the technology (SLA wash + cure; SLM stress relief,
               plate removal, support removal)
    total    = material + machine + setup + post

All amounts are in the catalog's currency units; :class:`Price` rounds each to cents
(half-even) and the total is the sum of the rounded parts, so a shown breakdown always adds up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from configurator.errors import EstimateError


@dataclass(frozen=True)
class Price:
    """A price breakdown in currency units (rounded to 0.01)."""

    material: float
    machine: float
    setup: float
    total: float
    post_processing: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def machine_rate(rates: Mapping[str, float], technology: str) -> float:
    """The hourly rate of ``technology`` (EstimateError naming the known ones if absent)."""
    try:
        rate = float(rates[technology])
    except KeyError:
        raise EstimateError(
            f"no machine rate for technology {technology!r}; settings have {sorted(rates)}"
        ) from None
    if not (np.isfinite(rate) and rate >= 0):
        raise EstimateError(f"machine rate for {technology!r} must be >= 0, got {rate}")
    return rate


def price_parts(
    *,
    grams: np.ndarray | float,
    seconds: np.ndarray | float,
    cost_per_kg: np.ndarray | float,
    rate_per_hour: np.ndarray | float,
    setup_cost: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorized ``(material, machine, total)`` (unrounded, broadcast shapes)."""
    g, s, c, r = (
        np.asarray(a, dtype=np.float64) for a in (grams, seconds, cost_per_kg, rate_per_hour)
    )
    for name, a in (("grams", g), ("seconds", s), ("cost_per_kg", c), ("rate", r)):
        if not (np.isfinite(a).all() and (a >= 0).all()):
            raise EstimateError(f"{name} must be finite and non-negative")
    if not (np.isfinite(setup_cost) and setup_cost >= 0):
        raise EstimateError("setup cost must be finite and non-negative")
    material = c * g / 1000.0
    machine = r * s / 3600.0
    return material, machine, material + machine + float(setup_cost)


def price(
    *,
    grams: float,
    seconds: float,
    cost_per_kg: float,
    technology: str,
    rates: Mapping[str, float],
    setup_cost: float,
    waste: float = 0.0,
    post_processing: float = 0.0,
) -> Price:
    """The price of one print: ``grams`` of a material at ``cost_per_kg`` (plus ``waste``
    as a fraction of it), ``seconds`` of machine time on a ``technology`` node at
    ``rates[technology]`` per hour, the build's ``setup_cost`` and ``post_processing``."""
    for name, v in (("waste", waste), ("post-processing cost", post_processing)):
        if not (np.isfinite(v) and v >= 0):
            raise EstimateError(f"{name} must be finite and non-negative, got {v}")
    material, machine, _ = price_parts(
        grams=grams * (1.0 + float(waste)),
        seconds=seconds,
        cost_per_kg=cost_per_kg,
        rate_per_hour=machine_rate(rates, technology),
        setup_cost=setup_cost,
    )
    m, t, s = round(float(material), 2), round(float(machine), 2), round(float(setup_cost), 2)
    pp = round(float(post_processing), 2)
    return Price(material=m, machine=t, setup=s, total=round(m + t + s + pp, 2), post_processing=pp)
