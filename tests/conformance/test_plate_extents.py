"""Every catalog declares its print plate's extents (``plate:``), and they are the
generated meshes' (laid out as the farm prints them): what the optimizer's farm constraint
checks is what the order's job carries to the router."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import catalog_paths, load_catalog
from configurator.core.design.space import DesignSpace
from configurator.core.geometry.layout import plate_extents
from configurator.services import geometry

REPO = Path(__file__).resolve().parents[2]
CATALOGS = {p.stem: load_catalog(p) for p in catalog_paths(REPO / "catalogs")}
#: relative and absolute tolerance (tessellated curves sit within a few µm of the surface)
REL, ABS = 1e-3, 0.02


def feasible_designs(space: DesignSpace, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = space.repair(space.xl + rng.random((400, space.n_var)) * (space.xu - space.xl))
    ok = X[space.evaluate(X).feasible]
    return np.vstack([space.default_x()[None, :], ok[:n]])


@pytest.mark.parametrize("catalog_id", sorted(CATALOGS))
def test_plate_expressions_match_the_meshes(catalog_id):
    catalog = CATALOGS[catalog_id]
    assert catalog.plate is not None, f"{catalog_id} declares no plate: extents"
    space = DesignSpace(catalog)
    for x in feasible_designs(space, 3, seed=5):
        declared = space.plate_extents(x)[0]
        parts = geometry.build_design(catalog, space.values(x), check=False)
        meshed = np.array(plate_extents(parts.meshes))
        np.testing.assert_allclose(declared, meshed, rtol=REL, atol=ABS, err_msg=catalog_id)
