"""Manifold -> trimesh conversion with the metadata every generated part carries."""

from __future__ import annotations

import numpy as np
import trimesh
from manifold3d import Manifold

from configurator.errors import GeometryError


def to_trimesh(solid: Manifold, *, family: str, part: str) -> trimesh.Trimesh:
    """Convert a manifold3d solid to a ``trimesh.Trimesh`` (float64 vertices, int64 faces).

    ``metadata`` gets ``family`` and ``part``; :func:`configurator.core.geometry.registry.generate`
    adds ``parameters`` and ``design_id``. Raises GeometryError when manifold3d reports an
    error or the solid is empty.
    """
    status = solid.status()
    if str(status) not in ("Error.NoError", "NoError") and "NoError" not in str(status):
        raise GeometryError(f"{family}: part {part!r} is not a valid solid ({status})")
    if solid.is_empty():
        raise GeometryError(f"{family}: part {part!r} is empty")
    mesh = solid.to_mesh64()
    vertices = np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3]
    faces = np.asarray(mesh.tri_verts, dtype=np.int64)
    out = trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False)
    out.metadata["family"] = family
    out.metadata["part"] = part
    return out
