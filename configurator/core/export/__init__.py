"""Mesh exporters (pure: they return bytes; :mod:`configurator.adapters.storage` writes files).

* :func:`configurator.core.export.stl.stl_bytes` — binary STL, one part per file.
* :func:`configurator.core.export.threemf.threemf_bytes` — 3MF (mm, design id + material metadata).

``export_part_bytes(mesh, fmt, ...)`` picks by format name (``"stl"`` or ``"3mf"``).
"""

from __future__ import annotations

from configurator.errors import ExportError

FORMATS = ("stl", "3mf")


def export_part_bytes(
    mesh,
    fmt: str,
    *,
    design_id: str | None = None,
    part: str | None = None,
    material: str | None = None,
) -> bytes:
    """One part (a ``trimesh.Trimesh``, mm) as ``fmt`` bytes; ExportError for other formats."""
    from configurator.core.export.stl import mesh_stl_bytes
    from configurator.core.export.threemf import mesh_threemf_bytes

    fmt = fmt.lower().lstrip(".")
    if fmt == "stl":
        return mesh_stl_bytes(mesh, design_id=design_id, part=part)
    if fmt == "3mf":
        name = part or (mesh.metadata.get("part") if hasattr(mesh, "metadata") else None) or "part"
        return mesh_threemf_bytes({name: mesh}, design_id=design_id, material=material)
    raise ExportError(f"unknown mesh format {fmt!r} (known: {', '.join(FORMATS)})")
