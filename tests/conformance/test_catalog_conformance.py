"""Catalog-level conformance, parametrized over every catalog in catalogs/.

A new family (one YAML file + one registered generator) is covered automatically: it must
load, its defaults must be valid and feasible, seeded random designs must evaluate to finite
numbers in one vectorized call, and its documented hand-computed example must match.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import catalog_paths, load_catalog
from configurator.core.design.space import DesignSpace
from configurator.core.geometry import registry

REPO = Path(__file__).resolve().parents[2]
PATHS = catalog_paths(REPO / "catalogs")


@pytest.fixture(scope="module", params=PATHS, ids=[p.stem for p in PATHS])
def catalog(request):
    return load_catalog(request.param)


def test_there_are_catalogs():
    assert len(PATHS) >= 2


def test_loads_and_matches_its_generator(catalog):
    assert catalog.generator in registry.names()
    assert set(catalog.parameters) == set(registry.parameters_of(catalog.generator))
    assert catalog.id == catalog.path.stem


def test_defaults_are_valid_and_feasible(catalog):
    space = DesignSpace(catalog)
    x = space.default_x()
    decoded = space.decode(x)
    for name, spec in catalog.parameters.items():
        if spec.default is not None:
            assert decoded[name] == (str(spec.default) if spec.type == "choice" else spec.default)
    ev = space.evaluate(x)
    bad = [k for k, m in ev.margins.items() if m[0] < 0]
    assert ev.feasible[0], f"defaults violate {bad}"
    assert space.record(x).feasible


def test_seeded_random_samples_are_finite(catalog):
    space = DesignSpace(catalog)
    rng = np.random.default_rng(20240601)
    X = rng.uniform(space.xl, space.xu, size=(2000, space.n_var))
    ev = space.evaluate(X)
    for group in (ev.derived, ev.objectives, ev.margins):
        for name, arr in group.items():
            assert arr.shape == (2000,)
            assert np.all(np.isfinite(arr)), f"{name} is not finite for some designs"
    assert np.isfinite(ev.F).all() and np.isfinite(ev.G).all()
    assert np.all(ev.derived["volume"] > 0), "volume must be positive for every design"
    assert ev.feasible.any(), "random sampling should find some feasible designs"


def test_random_requirements_are_finite(catalog):
    """Requirements drawn across their bounds keep every value finite too."""
    rng = np.random.default_rng(5)
    for _ in range(10):
        req = {}
        for name, spec in catalog.requirements.items():
            if spec.type in ("real", "int"):
                v = rng.uniform(spec.min, spec.max)
                req[name] = round(v) if spec.type == "int" else v
        space = DesignSpace(catalog, requirements=req)
        ev = space.evaluate(rng.uniform(space.xl, space.xu, size=(200, space.n_var)))
        assert np.isfinite(ev.F).all() and np.isfinite(ev.G).all()


def test_documented_example_matches_hand_computation(catalog):
    assert catalog.examples, "every catalog documents at least one hand-computed case"
    for example in catalog.examples:
        space = DesignSpace(
            catalog,
            requirements=example.requirements,
            locks=example.parameters,
            material=example.material,
        )
        values = space.values(space.default_x())
        values.update({k: v for k, v in space.record(space.default_x()).objectives.items()})
        for name, expected in example.expect.items():
            got = values[name].value if hasattr(values[name], "value") else values[name]
            assert got == pytest.approx(expected, rel=example.tolerance), f"{example.name}: {name}"


def test_every_objective_and_constraint_is_documented(catalog):
    for name, objective in catalog.objectives.items():
        assert objective.unit is not None and (objective.label or objective.help), name
    for constraint in catalog.constraints:
        assert constraint.message.strip(), constraint.name
