"""File storage under ``Settings.data_dir`` (adapter): the one module that writes files.

Writes are atomic (temporary file in the same directory, fsync, ``os.replace``), so a
crash leaves either the old file or the new one, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path | str, data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_bytes(path: Path | str) -> bytes:
    """The bytes of ``path`` (``FileNotFoundError`` if absent)."""
    return Path(path).read_bytes()


def job_file_path(data_dir: Path | str, sha256: str, ext: str) -> Path:
    """Where a print-job file lives: ``data_dir/jobs/<sha256>.<ext>`` (content addressed,
    so the same part submitted twice is stored once)."""
    return Path(data_dir) / "jobs" / f"{sha256}.{ext.lower().lstrip('.')}"


def store_job_file(data_dir: Path | str, data: bytes, ext: str) -> tuple[Path, str]:
    """Store a job file; returns (path, sha256 hex). Skips the write if already present."""
    digest = hashlib.sha256(data).hexdigest()
    path = job_file_path(data_dir, digest, ext)
    if not (path.exists() and path.stat().st_size == len(data)):
        write_bytes_atomic(path, data)
    return path, digest


# ---------------------------------------------------------------------------- mesh cache
# Mesh files of a design live under ``data_dir/designs/<design_id>/``: one file per part
# and format (``<part>.<fmt>``) plus ``mesh.json`` (triangles, volumes, check results), so
# a restarted server serves a design's files without building the mesh again.

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _safe(kind: str, value: str) -> str:
    if not _SAFE_NAME.match(value) or ".." in value:
        raise ValueError(f"unsafe {kind} for a file name: {value!r}")
    return value


def design_mesh_dir(data_dir: Path | str, design_id: str) -> Path:
    """``data_dir/designs/<design_id>`` (the id must be a plain file-name token)."""
    return Path(data_dir) / "designs" / _safe("design id", design_id)


def mesh_file_path(data_dir: Path | str, design_id: str, part: str, fmt: str) -> Path:
    """Where one part's mesh file is cached: ``designs/<id>/<part>.<fmt>``."""
    fmt = _safe("format", fmt.lower().lstrip("."))
    return design_mesh_dir(data_dir, design_id) / f"{_safe('part name', part)}.{fmt}"


def store_mesh_file(data_dir: Path | str, design_id: str, part: str, fmt: str, data: bytes) -> Path:
    """Cache one part's mesh file (atomic; skipped when the same bytes are there)."""
    path = mesh_file_path(data_dir, design_id, part, fmt)
    if not (path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data):
        write_bytes_atomic(path, data)
    return path


def load_mesh_file(data_dir: Path | str, design_id: str, part: str, fmt: str) -> bytes | None:
    """A cached mesh file's bytes, or None when it is not cached."""
    try:
        return read_bytes(mesh_file_path(data_dir, design_id, part, fmt))
    except FileNotFoundError:
        return None


def store_mesh_manifest(data_dir: Path | str, design_id: str, manifest: dict) -> Path:
    """Write ``designs/<id>/mesh.json`` (sorted keys, so the bytes are stable)."""
    path = design_mesh_dir(data_dir, design_id) / "mesh.json"
    data = json.dumps(manifest, sort_keys=True, indent=1).encode()
    return write_bytes_atomic(path, data)


def load_mesh_manifest(data_dir: Path | str, design_id: str) -> dict | None:
    """The cached ``mesh.json`` of a design, or None (absent or unreadable)."""
    try:
        raw = read_bytes(design_mesh_dir(data_dir, design_id) / "mesh.json")
        out = json.loads(raw)
    except (FileNotFoundError, ValueError):
        return None
    return out if isinstance(out, dict) else None
