"""The price formula against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from configurator.core.estimate.pricing import Price, price, price_parts
from configurator.errors import EstimateError

RATES = {"FDM": 2.0, "SLM": 60.0}


def test_price_by_hand() -> None:
    # 120 g at 25/kg = 3.00; 2 h 30 min at 2/h = 5.00; setup 3.00
    p = price(grams=120, seconds=9000, cost_per_kg=25, technology="FDM", rates=RATES, setup_cost=3)
    assert p == Price(material=3.0, machine=5.0, setup=3.0, total=11.0)
    assert p.as_dict()["total"] == 11.0


def test_breakdown_adds_up_after_rounding() -> None:
    p = price(
        grams=33.333,
        seconds=1234,
        cost_per_kg=27.5,
        technology="FDM",
        rates=RATES,
        setup_cost=2.999,
    )
    assert p.material == 0.92 and p.machine == 0.69 and p.setup == 3.0
    assert p.total == round(p.material + p.machine + p.setup, 2)


def test_vectorized_parts() -> None:
    material, machine, total = price_parts(
        grams=np.array([0.0, 1000.0]),
        seconds=np.array([3600.0, 0.0]),
        cost_per_kg=30.0,
        rate_per_hour=np.array([2.0, 60.0]),
        setup_cost=1.5,
    )
    np.testing.assert_allclose(material, [0.0, 30.0])
    np.testing.assert_allclose(machine, [2.0, 0.0])
    np.testing.assert_allclose(total, [3.5, 31.5])


def test_unknown_technology_and_bad_numbers_are_refused() -> None:
    with pytest.raises(EstimateError, match="SLA"):
        price(grams=1, seconds=1, cost_per_kg=1, technology="SLA", rates=RATES, setup_cost=0)
    with pytest.raises(EstimateError, match="grams"):
        price(grams=-1, seconds=1, cost_per_kg=1, technology="FDM", rates=RATES, setup_cost=0)
    with pytest.raises(EstimateError, match="setup"):
        price(
            grams=1,
            seconds=1,
            cost_per_kg=1,
            technology="FDM",
            rates=RATES,
            setup_cost=float("nan"),
        )
