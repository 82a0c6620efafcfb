"""3MF export (pure: returns bytes).

A 3MF is a zip (OPC package) with ``[Content_Types].xml``, ``_rels/.rels`` and
``3D/3dmodel.model``. The model is in ``unit="millimeter"`` and carries
``<metadata>``: ``Title`` plus ``configurator:design_id``, ``configurator:material`` and
``configurator:part`` (namespace :data:`CONFIGURATOR_NS`). One object per part, each placed
by a ``<build><item>``. Deterministic bytes: fixed entry order, fixed timestamps
(1980-01-01), fixed permissions, fixed deflate level, fixed number formatting (``%.6f`` mm).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

import numpy as np

from configurator.errors import ExportError

CORE_NS = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
CONFIGURATOR_NS = "urn:configurator:3mf:2025"
MODEL_PATH = "3D/3dmodel.model"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="model" '
    'ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>'
    "</Types>\n"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Target="/{MODEL_PATH}" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>'
    "</Relationships>\n"
)


def threemf_bytes(
    parts: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    design_id: str | None = None,
    material: str | None = None,
) -> bytes:
    """3MF package of ``parts`` (name -> (vertices (V,3) mm, faces (F,3))) as bytes."""
    if not parts:
        raise ExportError("3MF export needs at least one part")
    return _zip(
        [
            ("[Content_Types].xml", CONTENT_TYPES.encode()),
            ("_rels/.rels", RELS.encode()),
            (MODEL_PATH, model_xml(parts, design_id=design_id, material=material)),
        ]
    )


def mesh_threemf_bytes(
    meshes: Mapping[str, object], *, design_id: str | None = None, material: str | None = None
) -> bytes:
    """:func:`threemf_bytes` for ``trimesh.Trimesh`` parts."""
    return threemf_bytes(
        {name: (m.vertices, m.faces) for name, m in meshes.items()},  # type: ignore[attr-defined]
        design_id=design_id,
        material=material,
    )


def model_xml(
    parts: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    design_id: str | None,
    material: str | None,
) -> bytes:
    """The ``3D/3dmodel.model`` document (UTF-8 bytes)."""
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f'<model unit="millimeter" xml:lang="en-US" xmlns="{CORE_NS}" '
        f'xmlns:configurator="{CONFIGURATOR_NS}">\n'
    )
    title = f"configurator design {design_id or '-'}"
    meta = [("Title", title), ("Application", "configurator")]
    meta += [("configurator:design_id", design_id or ""), ("configurator:material", material or "")]
    meta += [("configurator:parts", ",".join(parts))]
    for name, value in meta:
        out.write(f"<metadata name={quoteattr(name)}>{_text(value)}</metadata>\n")
    out.write("<resources>\n")
    for oid, (name, (vertices, faces)) in enumerate(parts.items(), start=1):
        verts = np.asarray(vertices, dtype=np.float64)
        tris = np.asarray(faces, dtype=np.int64)
        if verts.ndim != 2 or verts.shape[1] != 3 or tris.ndim != 2 or tris.shape[1] != 3:
            raise ExportError(f"3MF export: part {name!r} is not a triangle mesh")
        if len(tris) == 0:
            raise ExportError(f"3MF export: part {name!r} has no triangles")
        out.write(f'<object id="{oid}" type="model" name={quoteattr(name)}>\n<mesh>\n<vertices>\n')
        np.savetxt(out, verts, fmt='<vertex x="%.6f" y="%.6f" z="%.6f"/>')
        out.write("</vertices>\n<triangles>\n")
        np.savetxt(out, tris, fmt='<triangle v1="%d" v2="%d" v3="%d"/>')
        out.write("</triangles>\n</mesh>\n</object>\n")
    out.write("</resources>\n<build>\n")
    for oid in range(1, len(parts) + 1):
        out.write(f'<item objectid="{oid}"/>\n')
    out.write("</build>\n</model>\n")
    return out.getvalue().replace("-0.000000", "0.000000").encode("utf-8")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buf.getvalue()
