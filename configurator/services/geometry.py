"""The geometry service: design record -> checked meshes -> STL / 3MF bytes and files.

What the rest of the product calls (all units mm, mm^3)::

    parts = build_design(catalog, record_or_values, design_id=None, check=True)
        # -> Parts(design_id, catalog_id, meshes {part: trimesh}, values, report)
        # check=True raises MeshCheckError (design + check named) when any check fails
    report = check_parts(catalog, parts)                  # CheckReport (never raises)
    blobs = export_parts(parts, "stl" | "3mf")            # {part: bytes}, refuses unchecked
    build_meshes(record, settings=...)                    # {part: trimesh}, cached
    export_design(record, fmt=..., settings=..., part=None)   # bytes of one file, cached
    records = attach_meshes(records, catalog=..., fmt=..., out_dir=...)
        # writes <out_dir>/<id12>-<part>.<fmt>, returns records with .mesh and .files
    problems = check_catalog_meshes(catalog, samples=3, seed=0)   # list[Problem]

Caching by design id: built :class:`Parts` live in an in-process LRU
(:data:`MEMORY_DESIGNS` designs); exported files are also cached under
``Settings.data_dir / "designs" / <design_id> / <part>.<fmt>`` with a ``mesh.json``
manifest (:mod:`configurator.adapters.storage`), so a restart serves files without rebuilding.
A design id is a content hash of everything that shapes the mesh (catalog hash included),
so a cache entry never goes stale; a record whose catalog changed since is refused.

A whole-design file (``part=None``) holds every part: the parts are laid out side by side
along +x with :data:`~configurator.core.geometry.layout.PLATE_GAP` mm between them (one print plate); for one-part families
it is just that part.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import storage
from configurator.core.design.record import MeshInfo, MeshPart
from configurator.core.design.space import DesignSpace
from configurator.core.export import exporter
from configurator.core.geometry import registry
from configurator.core.geometry.checks import CheckReport, CheckSpec, run_checks
from configurator.core.geometry.layout import plate_layout
from configurator.errors import GeometryError, MeshCheckError
from configurator.services.catalogs import resolve_catalog

#: designs whose built meshes are kept in memory (LRU)
MEMORY_DESIGNS = 64
#: seed of the sampled wall-thickness check (fixed: same design, same verdict)
CHECK_SEED = 0


@dataclass
class Parts:
    """A built design: ``meshes`` part name -> ``trimesh.Trimesh`` (mm), in generator order."""

    design_id: str
    catalog_id: str
    generator: str
    meshes: dict[str, Any]
    values: dict[str, Any]
    material: str | None = None
    report: CheckReport | None = None
    exports: dict[tuple[str, str | None], bytes] = field(default_factory=dict, repr=False)

    @property
    def triangles(self) -> dict[str, int]:
        return {name: int(len(m.faces)) for name, m in self.meshes.items()}

    @property
    def volumes(self) -> dict[str, float]:
        return {name: float(m.volume) for name, m in self.meshes.items()}


class _Lru:
    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[str, Parts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Parts | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: str, value: Parts) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_CACHE = _Lru(MEMORY_DESIGNS)


def clear_memory_cache() -> None:
    """Forget every built design (tests, benchmarks)."""
    _CACHE.clear()


# ---------------------------------------------------------------------------- values


def design_values(catalog: Any, record: Any) -> dict[str, Any]:
    """Everything the generator needs for ``record`` (a DesignRecord), recomputed through
    :class:`~configurator.core.design.space.DesignSpace` from its requirements, material and
    parameters. Raises GeometryError when the record does not belong to ``catalog``.

    No print estimator is bound: host functions (``print_seconds``...) may only appear in
    objectives and constraints (the catalog checks refuse them in derived values and the
    volume), so the values a generator reads never depend on one, and a mesh can be built
    even when the print-time model cannot be read."""
    if record.catalog_id != catalog.id:
        raise GeometryError(
            f"design {record.design_id} belongs to catalog {record.catalog_id!r}, "
            f"not {catalog.id!r}"
        )
    if record.catalog_hash and record.catalog_hash != catalog.content_hash:
        raise GeometryError(
            f"design {record.design_id} was made with another version of catalog "
            f"{catalog.id!r} (the catalog file changed since); make the design again"
        )
    params = {name: p.value for name, p in record.parameters.items()}
    space = DesignSpace(
        catalog, requirements=record.requirements, locks=params, material=record.material
    )
    return space.values(np.zeros(space.n_var))


def values_id(generator: str, values: Mapping[str, Any]) -> str:
    """A content hash for raw values (when there is no design record): sha256 hex."""
    plain = {k: _plain(v) for k, v in sorted(values.items())}
    blob = json.dumps([generator, plain], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _plain(v: Any) -> Any:
    item = getattr(v, "item", None)
    return item() if callable(item) else v


def check_spec(catalog: Any, values: Mapping[str, Any], *, seed: int = CHECK_SEED) -> CheckSpec:
    """The checks a catalog asks for: its ``volume`` formula (``values["volume"]``), volume
    tolerance, minimum wall, and the build volumes of its printers for the design's material
    technology (all printers when the material is unknown)."""
    material = values.get("material")
    tech = catalog.materials[material].technology if material in catalog.materials else None
    printers = {
        name: tuple(p.build_volume)
        for name, p in catalog.printers.items()
        if tech is None or p.technology == tech
    }
    expected = values.get("volume")
    return CheckSpec(
        expected_volume=None if expected is None else float(expected),
        volume_tolerance=float(catalog.mesh_checks.volume_tolerance),
        min_wall=float(catalog.mesh_checks.min_wall),
        printers=printers,
        seed=seed,
    )


# ---------------------------------------------------------------------------- build/check


def build_design(
    catalog: Any,
    record_or_values: Any,
    *,
    design_id: str | None = None,
    check: bool = True,
) -> Parts:
    """Build (or fetch from memory) the meshes of one design.

    ``record_or_values`` is a DesignRecord or the mapping ``DesignSpace.values(x)`` returns.
    With ``check`` the mesh checks run (once per design) and a failure raises
    :class:`~configurator.errors.MeshCheckError` naming the design and the check.
    """
    if isinstance(record_or_values, Mapping):
        values = dict(record_or_values)
        design_id = design_id or values_id(catalog.generator, values)
        material = values.get("material")
    else:
        record = record_or_values
        design_id = design_id or record.design_id
        material = record.material
        values = None
    parts = _CACHE.get(design_id)
    if parts is None:
        if values is None:
            values = design_values(catalog, record_or_values)
        meshes = registry.generate(catalog.generator, values, design_id=design_id)
        parts = Parts(
            design_id=design_id,
            catalog_id=catalog.id,
            generator=catalog.generator,
            meshes=meshes,
            values=values,
            material=None if material is None else str(material),
        )
        _CACHE.put(design_id, parts)
    if check:
        if parts.report is None:
            parts.report = check_parts(catalog, parts)
        parts.report.raise_for_failure()
    return parts


def rebuild_design(catalog: Any, record: Any) -> Parts:
    """Build a design record's meshes afresh — no memory or file cache — and check them
    (raises :class:`MeshCheckError`): what an exact reprint compares with the hashes
    recorded when the design was first made."""
    values = design_values(catalog, record)
    parts = Parts(
        design_id=record.design_id,
        catalog_id=catalog.id,
        generator=catalog.generator,
        meshes=registry.generate(catalog.generator, values, design_id=record.design_id),
        values=values,
        material=str(record.material),
    )
    check_parts(catalog, parts).raise_for_failure()
    return parts


def parts_sha256(parts: Parts) -> dict[str, str]:
    """sha256 hex of each part's STL file."""
    return {
        name: hashlib.sha256(data).hexdigest() for name, data in export_parts(parts, "stl").items()
    }


def check_parts(catalog: Any, parts: Parts, *, seed: int = CHECK_SEED) -> CheckReport:
    """Run every mesh check on ``parts`` against ``catalog``; the report is also stored on
    ``parts.report``. Never raises for a failed check (see ``report.raise_for_failure``)."""
    report = run_checks(
        parts.meshes, check_spec(catalog, parts.values, seed=seed), design_id=parts.design_id
    )
    parts.report = report
    return report


# ---------------------------------------------------------------------------- export


def export_parts(parts: Parts, fmt: str) -> dict[str, bytes]:
    """``{part: bytes}`` in ``fmt`` (``stl`` or ``3mf``); only checked, passing parts export."""
    fmt = _fmt(fmt)
    _require_checked(parts)
    out = {}
    for name, mesh in parts.meshes.items():
        key = (fmt, name)
        if key not in parts.exports:
            parts.exports[key] = _encode(fmt, {name: mesh}, parts)
        out[name] = parts.exports[key]
    return out


def export_whole(parts: Parts, fmt: str) -> bytes:
    """One file holding every part laid out side by side (see module doc)."""
    fmt = _fmt(fmt)
    _require_checked(parts)
    key = (fmt, None)
    if key not in parts.exports:
        if len(parts.meshes) == 1:
            parts.exports[key] = export_parts(parts, fmt)[next(iter(parts.meshes))]
        else:
            parts.exports[key] = _encode(fmt, plate_layout(parts.meshes), parts)
    return parts.exports[key]


def _encode(fmt: str, meshes: Mapping[str, Any], parts: Parts) -> bytes:
    pairs = {
        name: (m if isinstance(m, tuple) else (m.vertices, m.faces)) for name, m in meshes.items()
    }
    return exporter(fmt).encode(pairs, design_id=parts.design_id, material=parts.material)


def _fmt(fmt: str) -> str:
    return exporter(fmt).name


def _require_checked(parts: Parts) -> None:
    if parts.report is None:
        raise MeshCheckError(parts.design_id, "not checked", "export needs a checked mesh")
    parts.report.raise_for_failure()


# ---------------------------------------------------------------------------- records


def _catalog_for(record: Any, settings: Any, catalog: Any) -> Any:
    if catalog is not None:
        return catalog
    return resolve_catalog(record.catalog_id, catalog_dir=settings.catalog_dir)


def build_meshes(record: Any, *, settings: Any, catalog: Any = None) -> dict[str, Any]:
    """Part name -> checked ``trimesh.Trimesh`` for a design record (memory-cached)."""
    cat = _catalog_for(record, settings, catalog)
    return build_design(cat, record).meshes


def export_design(
    record: Any,
    *,
    fmt: str,
    settings: Any,
    catalog: Any = None,
    part: str | None = None,
) -> bytes:
    """Bytes of a design's file (``part=None``: every part on one plate; else that part).

    Served from ``data_dir/designs/<id>/`` when cached there; otherwise built, checked,
    exported and cached (memory + files).
    """
    fmt = _fmt(fmt)
    name = part or "design"
    data_dir = Path(settings.data_dir)
    cached = storage.load_mesh_file(data_dir, record.design_id, name, fmt)
    if cached is not None:
        return cached
    cat = _catalog_for(record, settings, catalog)
    parts = build_design(cat, record)
    if part is None:
        data = export_whole(parts, fmt)
    elif part in parts.meshes:
        data = export_parts(parts, fmt)[part]
    else:
        raise GeometryError(
            f"design {record.design_id} has no part {part!r} (parts: {', '.join(parts.meshes)})"
        )
    storage.store_mesh_file(data_dir, record.design_id, name, fmt, data)
    storage.store_mesh_manifest(data_dir, record.design_id, mesh_manifest(parts))
    return data


def mesh_manifest(parts: Parts) -> dict[str, Any]:
    """Plain data describing built parts: triangles, volumes, check results."""
    report = parts.report
    return {
        "design_id": parts.design_id,
        "catalog_id": parts.catalog_id,
        "generator": parts.generator,
        "parts": {
            n: {"triangles": parts.triangles[n], "volume_mm3": round(parts.volumes[n], 6)}
            for n in parts.meshes
        },
        "checks": dict(report.passed) if report else {},
    }


def mesh_filename(design_id: str, part: str, fmt: str) -> str:
    """File name of one part next to designs.json: ``<first 12 of id>-<part>.<fmt>``."""
    return f"{design_id[:12]}-{part}.{_fmt(fmt)}"


def attach_meshes(
    records: Sequence[Any],
    *,
    catalog: Any,
    fmt: str,
    out_dir: str | Path,
    settings: Any = None,
) -> list[Any]:
    """Build, check and write every part of every record into ``out_dir``; return copies
    of the records with ``mesh`` (triangles, volume, file per part; check results) and
    ``files`` (part -> file name) filled. A failed check raises MeshCheckError before any
    file of that design is written. With ``settings`` the files are also cached under
    ``settings.data_dir``.
    """
    fmt = _fmt(fmt)
    out = []
    for record in records:
        parts = build_design(catalog, record)
        blobs = export_parts(parts, fmt)
        files = {}
        mesh_parts = {}
        for name, data in blobs.items():
            filename = mesh_filename(record.design_id, name, fmt)
            storage.write_bytes_atomic(Path(out_dir) / filename, data)
            if settings is not None:
                storage.store_mesh_file(settings.data_dir, record.design_id, name, fmt, data)
            files[name] = filename
            mesh_parts[name] = MeshPart(
                triangles=parts.triangles[name],
                volume_mm3=round(parts.volumes[name], 6),
                file=filename,
            )
        if settings is not None:
            storage.store_mesh_manifest(settings.data_dir, record.design_id, mesh_manifest(parts))
        info = MeshInfo(parts=mesh_parts, checks=dict(parts.report.passed))
        out.append(record.model_copy(update={"mesh": info, "files": {**record.files, **files}}))
    return out
