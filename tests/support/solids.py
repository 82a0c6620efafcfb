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


def fdm_matrix(meshes: list[trimesh.Trimesh]) -> np.ndarray:
    """``(n, len(FDM_FEATURES))`` print-path features at the default FDM profile."""
    from configurator.core.estimate.fdm import FDM_FEATURES, FdmParams, fdm_features

    p = FdmParams()
    rows = [fdm_features(m.vertices, m.faces, p) for m in meshes]
    return np.array([[r[n] for n in FDM_FEATURES] for r in rows])


def synthetic_seconds(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slicer-like time from FDM features (``fdm_matrix``): path terms at fixed speeds, a
    minimum layer time, 2 % noise."""
    from configurator.core.estimate.fdm import FDM_FEATURES

    c = {n: X[:, i] for i, n in enumerate(FDM_FEATURES)}
    work = (
        c["outer_wall_mm"] / 25
        + c["inner_wall_mm"] / 45
        + c["solid_mm2"] / 0.45 / 80
        + c["sparse_mm2"] * 0.15 / 0.45 / 80
        + 0.5 * c["loops"]
        + 1.5 * c["layers"]
        + 60.0
    )
    slowed = np.maximum(work / c["layers"], 8.0) * c["layers"]  # a minimum layer time
    return slowed * rng.lognormal(0.0, 0.02, len(X))
