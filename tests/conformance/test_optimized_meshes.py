"""Optimized designs sit on constraint boundaries, where near-tangent features hide: for every
catalog, the designs NSGA-II returns for seeded random requirements all pass every mesh check.

(Seeded samples and hypothesis in test_meshes.py cover the interior of the space; this covers
the boundary the optimizer pushes designs onto.)
"""

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import catalog_paths, load_catalog
from configurator.services import geometry
from configurator.services.design.service import design
from configurator.settings import REPO_ROOT

CATALOGS = {p.stem: load_catalog(p) for p in catalog_paths(REPO_ROOT / "catalogs")}


def _random_requirements(catalog, rng: np.random.Generator) -> dict:
    out = {}
    for name, field in catalog.requirements.items():
        if field.type == "real":
            out[name] = float(np.round(rng.uniform(field.min, field.max), 1))
        elif field.type == "int":
            out[name] = int(rng.integers(field.min, field.max + 1))
    return out


@pytest.mark.parametrize("catalog_id", sorted(CATALOGS))
def test_optimized_designs_pass_every_mesh_check(catalog_id):
    catalog = CATALOGS[catalog_id]
    rng = np.random.default_rng(11)
    checked = 0
    for seed in range(2):
        requirements = _random_requirements(catalog, rng)
        result = design(
            str(catalog.path),
            requirements=requirements,
            objectives=list(catalog.objectives)[:2],
            algorithm="nsga2",
            evals=1000,
            seed=seed,
            top=6,
        )
        for record in result.records:  # infeasible requirements return none: fine
            parts = geometry.build_design(catalog, record)  # MeshCheckError names the check
            assert parts.report.passed
            checked += 1
    assert checked > 0, "no feasible design for two random requirement sets"
