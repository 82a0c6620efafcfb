"""Gallery thumbnails: a shaded isometric picture of a design's meshes, as PNG bytes.

Pure rendering (no files): the triangles are projected isometrically (Z up, camera from
the front-right-top), shaded by a fixed light (Lambert + ambient) and painted back to
front with matplotlib's Agg backend. Same meshes -> same bytes (PNG metadata stripped).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import storage
from configurator.core.design.space import DesignSpace
from configurator.core.geometry.layout import PLATE_GAP, merged, plate_layout
from configurator.services.geometry import build_design

#: camera direction (from the object towards the viewer) and light direction, unit vectors
_VIEW = np.array([1.0, -1.25, 0.9])
_VIEW /= np.linalg.norm(_VIEW)
_LIGHT = np.array([0.35, -0.6, 1.0])
_LIGHT /= np.linalg.norm(_LIGHT)
_BASE_RGB = np.array([0.18, 0.45, 0.82])


def _camera_axes() -> tuple[np.ndarray, np.ndarray]:
    """Screen right and up vectors for the fixed view (Z stays up on screen)."""
    right = np.cross(np.array([0.0, 0.0, 1.0]), _VIEW)
    right /= np.linalg.norm(right)
    up = np.cross(_VIEW, right)
    return right, up


def render_thumbnail(
    meshes: Mapping[str, object],
    *,
    width: int = 320,
    height: int = 240,
    gap_mm: float = PLATE_GAP,
    max_triangles: int = 60_000,
) -> bytes:
    """PNG bytes of the parts of one design laid side by side along X.

    ``meshes``: part name -> ``trimesh.Trimesh`` (mm), laid out as on the print plate
    (:func:`~configurator.core.geometry.layout.plate_layout`, ``gap_mm`` apart). Triangles facing
    away from the camera are culled; at most ``max_triangles`` are drawn (evenly sampled).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    tris_all, normals_all = [], []
    laid = plate_layout({n: m for n, m in meshes.items() if len(m.faces)}, gap=gap_mm)
    if laid:
        v_all, _ = merged(laid)
        lo, hi = v_all.min(axis=0), v_all.max(axis=0)
        centre = np.array([-lo[0], -(lo[1] + hi[1]) / 2, -lo[2]])
        for name, (v, f) in laid.items():
            tris_all.append(v[f] + centre)
            normals_all.append(np.asarray(meshes[name].face_normals, dtype=float))
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    fig.patch.set_alpha(0.0)
    if tris_all:
        tris = np.concatenate(tris_all)
        normals = np.concatenate(normals_all)
        facing = normals @ _VIEW > 1e-9
        tris, normals = tris[facing], normals[facing]
        if len(tris) > max_triangles:
            keep = np.linspace(0, len(tris) - 1, max_triangles).astype(np.int64)
            tris, normals = tris[keep], normals[keep]
        right, up = _camera_axes()
        xy = np.stack([tris @ right, tris @ up], axis=-1)  # (n, 3, 2)
        depth = (tris @ _VIEW).mean(axis=1)
        order = np.argsort(depth, kind="stable")  # far (small) first
        shade = 0.35 + 0.65 * np.clip(normals @ _LIGHT, 0.0, 1.0)
        colors = np.clip(_BASE_RGB[None, :] * shade[:, None] + 0.08, 0, 1)
        coll = PolyCollection(
            xy[order], facecolors=colors[order], edgecolors=colors[order], linewidths=0.3
        )
        ax.add_collection(coll)
        pts = xy.reshape(-1, 2)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = hi - lo
        aspect = width / height
        # fit with a margin, keeping 1:1 scale
        sx, sy = span[0] * 1.12 or 1.0, span[1] * 1.12 or 1.0
        if sx / sy < aspect:
            sx = sy * aspect
        else:
            sy = sx / aspect
        c = (lo + hi) / 2
        ax.set_xlim(c[0] - sx / 2, c[0] + sx / 2)
        ax.set_ylim(c[1] - sy / 2, c[1] + sy / 2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, transparent=True, metadata={"Software": None})
    return buf.getvalue()


_LOCK = threading.Lock()


def default_design(catalog: Any) -> Any:
    """The design record of the catalog's defaults (requirements and parameters)."""
    space = DesignSpace(catalog)
    return space.record(space.default_x())


def catalog_thumbnail(catalog: Any, *, data_dir: Path) -> bytes:
    """PNG of the catalog's default design, cached as ``data_dir/thumbnails/<hash>.png``
    (the catalog's content hash: a changed catalog gets a new picture)."""
    path = Path(data_dir) / "thumbnails" / f"{catalog.id}-{catalog.content_hash[:16]}.png"
    with _LOCK:  # one render per catalog even when the gallery asks for all at once
        try:
            return storage.read_bytes(path)
        except FileNotFoundError:
            pass
        record = default_design(catalog)
        parts = build_design(catalog, record, check=False)
        png = render_thumbnail(parts.meshes)
        storage.write_bytes_atomic(path, png)
        return png
