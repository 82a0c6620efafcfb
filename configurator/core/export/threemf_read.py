"""Read the triangle meshes of a 3MF package (pure: bytes in, arrays out; stdlib XML).

Enough of the 3MF core spec for print-job files: every ``<object>`` with a ``<mesh>`` in
``3D/3dmodel.model``, placed by the ``<build><item>`` elements (with their optional
``transform``, a 3 x 4 affine matrix in the spec's column order). Components, other
model parts and extensions are refused with an :class:`ExportError`. Used to nest job
files onto one plate (``configurator.services.farm.batches``) without trimesh's 3MF
loader, which needs lxml.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

import numpy as np

from configurator.errors import ExportError

MODEL_PATH = "3D/3dmodel.model"
_NS = "{http://schemas.microsoft.com/3dmanufacturing/core/2015/02}"


def _transform(text: str | None) -> np.ndarray:
    """4 x 4 matrix of a 3MF ``transform`` attribute (identity when absent)."""
    out = np.eye(4)
    if not text:
        return out
    try:
        m = [float(v) for v in text.split()]
    except ValueError:
        raise ExportError(f"3MF: bad transform {text!r}") from None
    if len(m) != 12:
        raise ExportError(f"3MF: a transform has 12 numbers, got {len(m)}")
    # spec order: m00 m01 m02 m10 m11 m12 m20 m21 m22 m30 m31 m32, row vectors: p' = p M
    out[:3, :3] = np.array(m[:9]).reshape(3, 3).T
    out[:3, 3] = m[9:12]
    return out


def read_threemf(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """All build items of a 3MF as one mesh: (vertices (V, 3) mm, faces (F, 3))."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            model = zf.read(MODEL_PATH)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ExportError(f"3MF: not a 3MF package ({exc})") from None
    try:
        root = ElementTree.fromstring(model)
    except ElementTree.ParseError as exc:
        raise ExportError(f"3MF: bad model XML ({exc})") from None
    scale = {"millimeter": 1.0, "centimeter": 10.0, "meter": 1000.0, "inch": 25.4}
    unit = scale.get(root.get("unit", "millimeter"))
    if unit is None:
        raise ExportError(f"3MF: unknown unit {root.get('unit')!r}")
    meshes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for obj in root.iter(f"{_NS}object"):
        mesh = obj.find(f"{_NS}mesh")
        if mesh is None:
            raise ExportError("3MF: objects made of components are not supported")
        v = np.array(
            [
                [float(e.get("x")), float(e.get("y")), float(e.get("z"))]
                for e in mesh.iter(f"{_NS}vertex")
            ]
        ).reshape(-1, 3)
        f = np.array(
            [
                [int(e.get("v1")), int(e.get("v2")), int(e.get("v3"))]
                for e in mesh.iter(f"{_NS}triangle")
            ]
        ).reshape(-1, 3)
        if len(f) and (f.min() < 0 or f.max() >= len(v)):
            raise ExportError("3MF: a triangle refers to a missing vertex")
        meshes[obj.get("id", "")] = (v * unit, f)
    items = list(root.iter(f"{_NS}item")) or [None]
    verts, faces, offset = [], [], 0
    for item in items:
        ids = [item.get("objectid", "")] if item is not None else list(meshes)
        t = _transform(item.get("transform") if item is not None else None)
        for oid in ids:
            if oid not in meshes:
                raise ExportError(f"3MF: build item names unknown object {oid!r}")
            v, f = meshes[oid]
            verts.append(v @ t[:3, :3].T + t[:3, 3] * unit)
            faces.append(f + offset)
            offset += len(v)
    if not verts or offset == 0:
        raise ExportError("3MF: no mesh in the package")
    return np.concatenate(verts), np.concatenate(faces)
