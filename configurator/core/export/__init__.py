"""Mesh exporters (pure: they return bytes; :mod:`configurator.adapters.storage` writes files).

:data:`EXPORTERS` is the registry — the one place to add a file format: each
:class:`Exporter` turns named parts (``name -> (vertices (V, 3) mm, faces (F, 3))``, laid
out as they will be printed) into the bytes of one file. The geometry service, the
``designs`` API routes (one ``/designs/{id}.{format}`` route per entry) and the
``--format`` flag of ``configurator design`` read it.

* ``stl`` — binary STL (:func:`configurator.core.export.stl.stl_bytes`): all parts merged
  into one triangle soup (the header names the design and parts).
* ``3mf`` — 3MF (:func:`configurator.core.export.threemf.threemf_bytes`): one object per
  part, mm, design id + material metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from configurator.core.export.stl import stl_bytes
from configurator.core.export.threemf import threemf_bytes
from configurator.core.geometry.layout import merged
from configurator.errors import ExportError

Parts = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _stl(parts: Parts, *, design_id: str | None, material: str | None) -> bytes:
    verts, faces = merged(dict(parts))
    label = next(iter(parts)) if len(parts) == 1 else "+".join(parts)
    return stl_bytes(verts, faces, design_id=design_id, part=label)


def _threemf(parts: Parts, *, design_id: str | None, material: str | None) -> bytes:
    return threemf_bytes(parts, design_id=design_id, material=material)


@dataclass(frozen=True)
class Exporter:
    """One file format: ``name`` (file extension, API/CLI value), ``label``,
    ``media_type`` (HTTP) and ``encode(parts, *, design_id, material) -> bytes``."""

    name: str
    label: str
    media_type: str
    encode: Callable[..., bytes]


#: the exporter registry (format name -> exporter)
EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter("stl", "binary STL (all parts, mm)", "model/stl", _stl),
        Exporter("3mf", "3MF (one object per part, mm)", "model/3mf", _threemf),
    )
}
#: the registered format names
FORMATS: tuple[str, ...] = tuple(EXPORTERS)


def exporter(fmt: str) -> Exporter:
    """The exporter for ``fmt`` (case and a leading dot ignored); ExportError naming the
    known formats otherwise."""
    name = str(fmt).lower().lstrip(".")
    found = EXPORTERS.get(name)
    if found is None:
        raise ExportError(f"unknown mesh format {fmt!r} (known: {', '.join(FORMATS)})")
    return found


def export_part_bytes(
    mesh: Any,
    fmt: str,
    *,
    design_id: str | None = None,
    part: str | None = None,
    material: str | None = None,
) -> bytes:
    """One part (a ``trimesh.Trimesh``, mm) as ``fmt`` bytes; ExportError for other formats."""
    spec = exporter(fmt)
    name = part or (mesh.metadata.get("part") if hasattr(mesh, "metadata") else None) or "part"
    return spec.encode({name: (mesh.vertices, mesh.faces)}, design_id=design_id, material=material)
