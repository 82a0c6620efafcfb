"""Print-job files: which files a job may carry and a cheap plausibility check (pure)."""

from __future__ import annotations

#: the file types a print job may carry
JOB_FILE_EXTENSIONS = ("stl", "3mf")


def sniff_job_file(data: bytes, ext: str) -> str | None:
    """Why ``data`` is not a plausible STL/3MF file, or None if it is."""
    if not data:
        return "file is empty"
    if ext == "3mf":
        return None if data[:4] == b"PK\x03\x04" else "3MF file is not a ZIP container"
    if len(data) >= 84:
        n = int.from_bytes(data[80:84], "little")
        if len(data) == 84 + 50 * n and n > 0:
            return None
    if data[:5].lower() == b"solid" and b"facet" in data[:4096].lower():
        return None
    return "not an STL file (neither binary with a matching triangle count nor ASCII)"
