"""File storage under ``Settings.data_dir`` (adapter): the one module that writes files.

Writes are atomic (temporary file in the same directory, fsync, ``os.replace``), so a
crash leaves either the old file or the new one, never half a file.
"""

from __future__ import annotations

import hashlib
import os
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
