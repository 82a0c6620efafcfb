"""Cross-sections of a triangle mesh at every print layer, vectorized (pure numpy).

A printer builds a part layer by layer; what each layer costs depends on its cross-section:
the area to fill, the length of its contours (perimeters / walls / laser contours) and how
many separate loops it has (travel moves, retractions, jumps). :func:`layer_profile` cuts
the mesh with horizontal planes at the middle of every layer, ``z_i = (i + ½) · layer_height``
above the mesh's lowest point, exactly as a slicer does, and returns per-layer:

``area``       mm², the section's enclosed area (holes subtracted; shoelace over segments)
``perimeter``  mm, the total length of all section contours (outer and hole loops)
``islands``    count of outer loops (separate regions printed one after another)
``holes``      count of hole loops
``hole_area``  mm², the area enclosed by hole loops
``corners``    count of contour vertices turning by more than :data:`CORNER_DEG` (where a
               printhead or a laser slows down)

Everything runs in one numpy pass over (face × plane) pairs: a face spanning ``k`` planes
yields ``k`` segments, oriented so the material lies on their left (outer loops
counter-clockwise) using the face normal; loops are the connected components of the
segments sharing an edge crossing point (a vectorized union-find). Parts taller than
``max_layers`` layers are sampled every ``stride``-th layer; :attr:`LayerProfile.stride`
says so and sums over layers are to be multiplied by it (:meth:`LayerProfile.total`).

A point exactly on a plane counts as above it, so faces lying in a plane and vertices at
layer heights never produce degenerate segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from configurator.errors import EstimateError

#: layers sliced at most per part; taller parts are sampled (the sums scale by the stride)
DEFAULT_MAX_LAYERS = 200
#: a contour vertex turning by more than this many degrees counts as a corner
CORNER_DEG = 30.0


@dataclass(frozen=True)
class LayerProfile:
    """Per-layer section figures of one mesh (arrays of length ``len(z)``).

    ``layers`` is the full layer count ``ceil(height / layer_height)``; ``z`` (mm above the
    lowest point) holds the sampled planes, one every ``stride`` layers.
    """

    layer_height: float
    layers: int
    stride: int
    z: np.ndarray
    area: np.ndarray
    perimeter: np.ndarray
    islands: np.ndarray
    holes: np.ndarray
    hole_area: np.ndarray
    corners: np.ndarray

    def total(self, per_layer: np.ndarray) -> float:
        """Σ over all layers of a per-sampled-layer quantity (× stride when sampled)."""
        return float(np.sum(per_layer)) * self.stride


def _check(vertices: np.ndarray, faces: np.ndarray, layer_height: float) -> tuple:
    lh = float(layer_height)
    if not (math.isfinite(lh) and lh > 0):
        raise EstimateError(f"layer height must be a positive number of mm, got {layer_height!r}")
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise EstimateError("a mesh needs (V, 3) vertices and at least one (F, 3) face")
    if not np.isfinite(v).all():
        raise EstimateError("mesh vertices contain NaN or infinity")
    if f.min() < 0 or f.max() >= len(v):
        raise EstimateError("mesh faces index missing vertices")
    return v, f, lh


def _edge_keys(f: np.ndarray, n_vertices: int) -> np.ndarray:
    """(F, 3) keys of the undirected edges (0-1, 1-2, 2-0) of every face (shared faces of an
    edge get the same key)."""
    a = f
    b = f[:, [1, 2, 0]]
    return np.minimum(a, b) * n_vertices + np.maximum(a, b)


def _cycle_labels(nxt: np.ndarray) -> np.ndarray:
    """Label (smallest member) of the cycle of every element of the permutation ``nxt``,
    by pointer doubling: log2(longest cycle) vectorized passes."""
    lab = np.arange(len(nxt))
    step = nxt.copy()
    span = 1
    while span < len(nxt):
        lab = np.minimum(lab, lab[step])
        step = step[step]
        span *= 2
        if np.array_equal(step, np.arange(len(nxt))):
            break
    return lab


def layer_profile(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    layer_height: float,
    max_layers: int = DEFAULT_MAX_LAYERS,
) -> LayerProfile:
    """Section the mesh (``vertices`` (V, 3) mm, ``faces`` (F, 3), print orientation, +z up)
    at the middle of every layer of ``layer_height`` mm; see the module docstring."""
    v, f, lh = _check(vertices, faces, layer_height)
    tri = v[f]  # (F, 3, 3)
    z0 = float(tri[:, :, 2].min())
    height = float(tri[:, :, 2].max()) - z0
    layers = max(1, math.ceil(height / lh - 1e-9))
    stride = max(1, math.ceil(layers / max(1, int(max_layers))))
    planes = z0 + (np.arange(0, layers, stride) + 0.5) * lh
    n_planes = len(planes)

    # outward normal (sign from the mesh's signed volume: inside-out meshes are flipped)
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vol6 = float(np.einsum("ij,ij->i", tri[:, 0], cross).sum())
    if vol6 < 0:
        cross = -cross
    fz = tri[:, :, 2]
    first = np.searchsorted(planes, fz.min(axis=1), side="right")
    last = np.searchsorted(planes, fz.max(axis=1), side="right")
    count = np.clip(last - first, 0, None)
    total = int(count.sum())
    zeros = np.zeros(n_planes)
    if total == 0:
        return LayerProfile(
            lh, layers, stride, planes - z0, zeros, zeros, zeros, zeros, zeros, zeros
        )

    face = np.repeat(np.arange(len(f)), count)
    offs = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    plane = np.repeat(first, count) + offs
    zp = planes[plane]
    t = tri[face]  # (S, 3, 3)
    above = t[:, :, 2] >= zp[:, None]  # (S, 3)
    a_idx = np.array([0, 1, 2])
    b_idx = np.array([1, 2, 0])
    crosses = above[:, a_idx] != above[:, b_idx]  # (S, 3), exactly two true per row
    # the two crossed edges: the ones after the uncrossed edge k, i.e. k+1 and k+2 (mod 3)
    k = np.where(~crosses[:, 0], 0, np.where(~crosses[:, 1], 1, 2))
    order = np.stack([(k + 1) % 3, (k + 2) % 3], axis=1)  # (S, 2) edge numbers
    pa = t[np.arange(total)[:, None], a_idx[order]]  # (S, 2, 3)
    pb = t[np.arange(total)[:, None], b_idx[order]]
    w = (zp[:, None] - pa[:, :, 2]) / (pb[:, :, 2] - pa[:, :, 2])
    pts = pa[:, :, :2] + w[:, :, None] * (pb[:, :, :2] - pa[:, :, :2])  # (S, 2, 2)
    p, q = pts[:, 0], pts[:, 1]
    d = q - p
    n_xy = cross[face, :2]
    flip = (d[:, 1] * n_xy[:, 0] - d[:, 0] * n_xy[:, 1]) < 0  # material must lie on the left
    p2 = np.where(flip[:, None], q, p)
    q2 = np.where(flip[:, None], p, q)
    shoelace = 0.5 * (p2[:, 0] * q2[:, 1] - q2[:, 0] * p2[:, 1])
    length = np.hypot(d[:, 0], d[:, 1])

    area = np.bincount(plane, weights=shoelace, minlength=n_planes)
    perimeter = np.bincount(plane, weights=length, minlength=n_planes)

    # loops: a segment's end point (an edge crossing on its plane) is the next one's start
    ekey = _edge_keys(f, len(v))[face[:, None], order]  # (S, 2) crossing points' edges
    ekey = ekey * n_planes + plane[:, None]
    start = np.where(flip, ekey[:, 1], ekey[:, 0])
    end = np.where(flip, ekey[:, 0], ekey[:, 1])
    by_start = np.argsort(start, kind="stable")
    pos = np.searchsorted(start[by_start], end)
    pos = np.clip(pos, 0, total - 1)
    nxt = by_start[pos]
    nxt = np.where(start[nxt] == end, nxt, np.arange(total))  # open mesh: a loose end
    seg_loop = _cycle_labels(nxt)
    d2 = q2 - p2
    dn = d2[nxt]
    norm = np.hypot(d2[:, 0], d2[:, 1]) * np.hypot(dn[:, 0], dn[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_turn = np.where(norm > 0, (d2 * dn).sum(axis=1) / norm, 1.0)
    sharp = (cos_turn < np.cos(np.radians(CORNER_DEG))) & (nxt != np.arange(total))
    corners = np.bincount(plane[sharp], minlength=n_planes).astype(np.float64)
    loops, loop_of_seg = np.unique(seg_loop, return_inverse=True)
    loop_area = np.bincount(loop_of_seg, weights=shoelace, minlength=len(loops))
    loop_plane = np.zeros(len(loops), dtype=np.int64)
    loop_plane[loop_of_seg] = plane
    keep = np.abs(loop_area) > 1e-9  # open fragments of non-closed meshes carry no area
    islands = np.bincount(loop_plane[keep & (loop_area > 0)], minlength=n_planes)
    is_hole = keep & (loop_area < 0)
    holes = np.bincount(loop_plane[is_hole], minlength=n_planes)
    hole_area = np.bincount(loop_plane[is_hole], weights=-loop_area[is_hole], minlength=n_planes)
    return LayerProfile(
        layer_height=lh,
        layers=layers,
        stride=stride,
        z=planes - z0,
        area=np.clip(area, 0.0, None),
        perimeter=perimeter,
        islands=islands.astype(np.float64),
        holes=holes.astype(np.float64),
        hole_area=hole_area,
        corners=corners,
    )


def mesh_layer_profile(
    mesh, *, layer_height: float, max_layers: int = DEFAULT_MAX_LAYERS
) -> LayerProfile:
    """:func:`layer_profile` of a ``trimesh.Trimesh`` (print orientation, mm)."""
    try:
        vertices, faces = mesh.vertices, mesh.faces
    except AttributeError:
        raise EstimateError(f"expected a mesh, got {type(mesh).__name__}") from None
    return layer_profile(vertices, faces, layer_height=layer_height, max_layers=max_layers)
