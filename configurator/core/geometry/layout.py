"""The plate layout: how the parts of one piece sit together on a print plate (pure).

A design with several parts (an enclosure's base and lid) is printed as one piece: its
parts stand side by side along +x, :data:`PLATE_GAP` mm apart, the first one unmoved.
The whole-design STL/3MF, the print estimate of a piece and the bounding box a print job
carries all use this one layout, so what is estimated and routed is what is printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import trimesh

#: gap between parts laid out on one plate, mm
PLATE_GAP = 5.0

Laid = dict[str, tuple[np.ndarray, np.ndarray]]


def plate_layout(meshes: Mapping[str, Any], *, gap: float = PLATE_GAP) -> Laid:
    """Copies of ``meshes`` (part -> ``trimesh.Trimesh``, mm) moved along +x so they sit side
    by side ``gap`` mm apart, the first one unmoved. Returns part -> (vertices (V, 3) float64,
    faces (F, 3) int64)."""
    out: Laid = {}
    cursor = None
    for name, mesh in meshes.items():
        verts = np.asarray(mesh.vertices, dtype=np.float64)
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        shift = 0.0 if cursor is None else cursor + gap - lo[0]
        cursor = hi[0] + shift
        out[name] = (verts + np.array([shift, 0.0, 0.0]), np.asarray(mesh.faces, dtype=np.int64))
    return out


def merged(laid: Laid) -> tuple[np.ndarray, np.ndarray]:
    """One (vertices, faces) pair of every laid-out part (face indices offset)."""
    verts, faces, offset = [], [], 0
    for v, f in laid.values():
        verts.append(np.asarray(v, dtype=np.float64))
        faces.append(np.asarray(f, dtype=np.int64) + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def plate_mesh(meshes: Mapping[str, Any]) -> trimesh.Trimesh:
    """One mesh of every part as laid out on the plate (a one-part design is that part)."""
    if len(meshes) == 1:
        return next(iter(meshes.values()))
    v, f = merged(plate_layout(meshes))
    return trimesh.Trimesh(v, f, process=False)


def plate_extents(meshes: Mapping[str, Any]) -> tuple[float, float, float]:
    """(x, y, z) mm of the axis-aligned box around the laid-out parts (what a job carries
    as its bounding box; the router may turn it about z)."""
    v, _ = merged(plate_layout(meshes))
    ext = v.max(axis=0) - v.min(axis=0)
    return (float(ext[0]), float(ext[1]), float(ext[2]))
