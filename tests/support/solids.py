"""Shared fixtures of the estimate tests: small real meshes and a synthetic slicer-like target."""

from __future__ import annotations

import numpy as np
import trimesh


def random_solids(n: int, seed: int) -> list[trimesh.Trimesh]:
    """Seeded boxes, cylinders and tubes of varied size (mm)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(trimesh.creation.box(rng.uniform([5, 5, 2], [120, 120, 60])))
        elif kind == 1:
            out.append(
                trimesh.creation.cylinder(
                    radius=rng.uniform(3, 50), height=rng.uniform(2, 80), sections=48
                )
            )
        else:
            r = rng.uniform(8, 50)
            out.append(
                trimesh.creation.annulus(
                    r_min=r - rng.uniform(1.5, 0.5 * r),
                    r_max=r,
                    height=rng.uniform(3, 60),
                    sections=48,
                )
            )
    return out


def synthetic_seconds(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slicer-like time: path terms at fixed speeds, a minimum layer time, 2 % noise."""
    from configurator.engines.fitting.model import physical_terms

    t = physical_terms(X, layer_height=0.2)
    shell, sparse, perimeter, skin, layers = (t[:, k] for k in range(5))
    work = 0.02 * shell + 0.004 * sparse + 0.05 * perimeter + 0.01 * skin + 1.5 * layers + 60.0
    slowed = np.maximum(work / layers, 8.0) * layers  # minimum layer time, like PrusaSlicer's
    return slowed * rng.lognormal(0.0, 0.02, len(X))
