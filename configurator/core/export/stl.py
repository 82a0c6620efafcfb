"""Binary STL export (pure: returns bytes).

Layout: 80-byte header (``<design id> <part> mm configurator``, space padded, no timestamp),
uint32 little-endian triangle count, then 50-byte records: normal (3 x float32), vertices
(9 x float32, mm), uint16 attribute 0. Normals are the unit normals of the float32 triangles
(counter-clockwise seen from outside). The record array is built with numpy in one pass, so
~1M triangles take tens of milliseconds; the same mesh always gives the same bytes.
"""

from __future__ import annotations

import numpy as np

from configurator.errors import ExportError

STL_RECORD = np.dtype(
    [("normal", "<f4", (3,)), ("vertices", "<f4", (9,)), ("attr", "<u2")], align=False
)
HEADER_BYTES = 80


def stl_header(*, design_id: str | None, part: str | None) -> bytes:
    """80-byte header: ``<design id> <part> mm configurator`` (cut at 80; never ``solid``)."""
    text = f"{design_id or '-'} {part or '-'} mm configurator"
    raw = text.encode("ascii", "replace")[:HEADER_BYTES]
    return raw.ljust(HEADER_BYTES, b" ")


def stl_bytes(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    design_id: str | None = None,
    part: str | None = None,
) -> bytes:
    """Binary STL of a triangle mesh: ``vertices`` (V, 3) mm, ``faces`` (F, 3) indices."""
    verts = np.asarray(vertices)
    tri_idx = np.asarray(faces)
    if verts.ndim != 2 or verts.shape[1] != 3 or tri_idx.ndim != 2 or tri_idx.shape[1] != 3:
        raise ExportError(
            f"STL export needs (V,3) vertices and (F,3) faces, got "
            f"{verts.shape} and {tri_idx.shape}"
        )
    n = len(tri_idx)
    if n >= 2**32:
        raise ExportError(f"STL cannot hold {n} triangles")
    if n and (tri_idx.min() < 0 or tri_idx.max() >= len(verts)):
        raise ExportError("STL export: face index out of range")
    v32 = np.ascontiguousarray(verts, dtype=np.float32)
    out = np.empty(HEADER_BYTES + 4 + n * STL_RECORD.itemsize, dtype=np.uint8)
    out[:HEADER_BYTES] = np.frombuffer(stl_header(design_id=design_id, part=part), np.uint8)
    out[HEADER_BYTES : HEADER_BYTES + 4] = np.frombuffer(
        np.uint32(n).astype("<u4").tobytes(), np.uint8
    )
    if n:
        body = out[HEADER_BYTES + 4 :].reshape(n, STL_RECORD.itemsize)
        tri = np.take(v32, tri_idx, axis=0).reshape(n, 9)  # one gather, contiguous
        body[:, 12:48] = tri.view(np.uint8).reshape(n, 36)
        body[:, 0:12] = _unit_normals(tri).view(np.uint8).reshape(n, 12)
        body[:, 48:50] = 0
    return out.tobytes()


def _unit_normals(tri: np.ndarray) -> np.ndarray:
    """(n, 9) float32 triangles -> (n, 3) float32 unit normals (zero for degenerate)."""
    a = tri[:, 0:3]
    u = tri[:, 3:6] - a
    v = tri[:, 6:9] - a
    normal = np.cross(u, v)
    length = np.sqrt(np.einsum("ij,ij->i", normal, normal))
    np.divide(normal, length[:, None], out=normal, where=length[:, None] > 0)
    normal[length == 0] = 0.0
    return normal


def mesh_stl_bytes(mesh, *, design_id: str | None = None, part: str | None = None) -> bytes:
    """:func:`stl_bytes` for a ``trimesh.Trimesh`` (design id / part default to metadata)."""
    meta = getattr(mesh, "metadata", {}) or {}
    return stl_bytes(
        mesh.vertices,
        mesh.faces,
        design_id=design_id if design_id is not None else meta.get("design_id"),
        part=part if part is not None else meta.get("part"),
    )
