"""Node-side slicing: a claimed job's mesh (STL/3MF) -> G-code for this printer, plus the
facts its production record keeps.

The node's profile is either the operator's INI files (``--slicer-profile``, loaded in
order; they must set ``filament_type``) or, by default, the committed FDM profile of the
job's material (``configurator/adapters/data/profiles``). The bed comes from the printer
(:class:`Bed`, e.g. OctoPrint's printer profile) through an extra INI loaded last, unless
the operator's profile sets ``bed_shape`` itself. Slicing is PrusaSlicer's CLI via
:func:`configurator.adapters.slicer.slice_stl`.

Per job a work dir ``<workdir>/<name>/`` keeps the mesh, the bed INI, the G-code and
``record.json`` (so a restarted agent still knows the grams and hashes of a print it
re-attaches to). Only the newest :data:`KEEP_JOBS` work dirs are kept.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from configurator.adapters.connectors.base import ConnectorError, PrintJob
from configurator.adapters.slicer import (
    SlicerProfile,
    bundled_materials,
    parse_gcode,
    slice_stl,
    slicer_version,
)
from configurator.errors import EstimateError, SettingsError

KEEP_JOBS = 20
_LOG_PREFIX = re.compile(r"\[[^\]]*\] \[0x[0-9a-f]+\] \[\w+\]\s+")


class JobRefusedError(ConnectorError):
    """The node cannot print this job (material or technology its profile does not
    match); raised before slicing."""


class SlicingError(ConnectorError):
    """PrusaSlicer failed on the job's mesh (part off the bed, invalid mesh...)."""


@dataclass(frozen=True)
class Bed:
    """The printable volume in mm; ``origin``: ``lowerleft`` or ``center`` (where 0,0 is);
    ``circular``: a round bed of diameter ``width_mm``."""

    width_mm: float
    depth_mm: float
    height_mm: float
    origin: str = "lowerleft"
    circular: bool = False

    @classmethod
    def from_octoprint(cls, profile: dict[str, Any]) -> Bed:
        """From an OctoPrint printer profile's ``volume``."""
        vol = profile.get("volume") or {}
        try:
            bed = cls(
                width_mm=float(vol["width"]),
                depth_mm=float(vol["depth"]),
                height_mm=float(vol["height"]),
                origin=str(vol.get("origin") or "lowerleft"),
                circular=vol.get("formFactor") == "circular",
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"the printer profile has no usable volume: {vol!r}") from exc
        if min(bed.width_mm, bed.depth_mm, bed.height_mm) <= 0:
            raise ConnectorError(f"the printer profile's volume is empty: {vol!r}")
        return bed

    def ini(self) -> str:
        """``bed_shape`` and ``max_print_height`` as PrusaSlicer INI lines."""
        w, d = self.width_mm, self.depth_mm
        if self.circular:
            pts = [
                (w / 2 * math.cos(2 * math.pi * i / 64), w / 2 * math.sin(2 * math.pi * i / 64))
                for i in range(64)
            ]
            if self.origin != "center":
                pts = [(x + w / 2, y + w / 2) for x, y in pts]
        else:
            x0, y0 = (-w / 2, -d / 2) if self.origin == "center" else (0.0, 0.0)
            pts = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + d), (x0, y0 + d)]
        shape = ",".join(f"{x:g}x{y:g}" for x, y in pts)
        return f"bed_shape = {shape}\nmax_print_height = {self.height_mm:g}\n"


@dataclass(frozen=True)
class SlicedJob:
    """One sliced job: the G-code file, its sha256, the filament mass (g) and print time
    (s) PrusaSlicer computed, how long slicing took (s), and the record facts."""

    gcode: Path
    sha256: str
    grams: float
    est_seconds: float
    slice_seconds: float
    record: dict[str, Any] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class NodeSlicer:
    """Slices jobs with the node's profile into ``workdir``.

    ``profile_files``: the operator's INI files (None: the committed profile of each job's
    material). Raises :class:`SettingsError` for missing files or a profile without
    ``filament_type``.
    """

    def __init__(self, workdir: Path, profile_files: Sequence[Path] | None = None) -> None:
        self.workdir = Path(workdir)
        self.profile: SlicerProfile | None = None
        self.material: str | None = None
        if profile_files:
            files = tuple(Path(f) for f in profile_files)
            for f in files:
                if not f.is_file():
                    raise SettingsError(f"--slicer-profile {f} does not exist")
            self.profile = SlicerProfile(name="+".join(f.stem for f in files), files=files)
            material = self.profile.settings().get("filament_type", "").strip()
            if not material:
                raise SettingsError(
                    f"--slicer-profile {', '.join(map(str, files))} sets no filament_type "
                    "(add e.g. 'filament_type = PLA')"
                )
            self.material = material

    @property
    def materials(self) -> list[str]:
        """Materials this node's profile can print."""
        return [self.material] if self.material else bundled_materials()

    def profile_for(self, job: PrintJob) -> SlicerProfile:
        """The profile for ``job``, or :class:`JobRefusedError` (before any slicing)."""
        if job.technology.upper() != "FDM":
            raise JobRefusedError(
                f"this node slices FDM jobs only; job {job.job_id} is {job.technology}"
            )
        if self.profile is not None:
            if job.material.upper() != (self.material or "").upper():
                raise JobRefusedError(
                    f"the node's slicer profile is for {self.material}; job {job.job_id} is {job.material}"
                )
            return self.profile
        try:
            return SlicerProfile.bundled(job.material)
        except EstimateError as exc:
            raise JobRefusedError(f"job {job.job_id}: {exc}") from exc

    def slice(self, job: PrintJob, name: str, bed: Bed | None) -> SlicedJob:
        """Slice ``job``'s mesh into ``<workdir>/<name>/<name>.gcode`` (``name``: a file
        stem without extension) for ``bed`` (None: the profile's own)."""
        profile = self.profile_for(job)
        jobdir = self.workdir / name
        shutil.rmtree(jobdir, ignore_errors=True)
        jobdir.mkdir(parents=True)
        ext = ".3mf" if job.file_name.lower().endswith(".3mf") else ".stl"
        mesh = jobdir / f"{name}{ext}"
        mesh.write_bytes(job.data)
        files = profile.files
        own_bed = self.profile is not None and "bed_shape" in profile.settings()
        if bed is not None and not own_bed:  # the committed profiles' bed is a placeholder
            bed_ini = jobdir / "bed.ini"
            bed_ini.write_text(bed.ini())
            files = (*files, bed_ini)
        used = SlicerProfile(name=profile.name, files=files)
        t0 = time.monotonic()
        try:
            result = slice_stl(mesh, profile=used, workdir=jobdir)
        except EstimateError as exc:  # PrusaSlicer's words, without its log-line prefix
            raise SlicingError(_LOG_PREFIX.sub("", str(exc))) from exc
        took = time.monotonic() - t0
        profile_hash = hashlib.sha256(b"".join(Path(f).read_bytes() for f in files)).hexdigest()
        sliced = SlicedJob(
            gcode=result.gcode_path,
            sha256=_sha256(result.gcode_path),
            grams=result.filament_g,
            est_seconds=result.seconds,
            slice_seconds=took,
            record={
                "slicer": slicer_version(),
                "slicer_profile": profile.name,
                "profile_sha256": profile_hash,
                "slicer_est_s": result.seconds,
                "filament_g": result.filament_g,
                "slice_s": round(took, 3),
            },
        )
        sliced.record["gcode_sha256"] = sliced.sha256
        (jobdir / "record.json").write_text(
            json.dumps({**asdict(sliced), "gcode": str(sliced.gcode)}, indent=1)
        )
        self._prune()
        return sliced

    def load(self, name: str) -> SlicedJob | None:
        """The slicing of ``name`` done earlier (by this or a previous agent process)."""
        path = self.workdir / name / "record.json"
        try:
            data = json.loads(path.read_text())
            data["gcode"] = Path(data["gcode"])
            return SlicedJob(**data)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def adopt(self, name: str, gcode: bytes) -> SlicedJob:
        """Facts of a G-code sliced elsewhere (e.g. downloaded back from the printer by an
        agent restarted without its work dir): grams, time and hash from the file itself."""
        jobdir = self.workdir / name
        jobdir.mkdir(parents=True, exist_ok=True)
        path = jobdir / f"{name}.gcode"
        path.write_bytes(gcode)
        try:
            seconds, _, grams = parse_gcode(path)
        except EstimateError as exc:
            raise SlicingError(str(exc)) from exc
        head = gcode[:200].decode("utf-8", "replace").splitlines()[:1]
        made_by = head[0].removeprefix("; generated by ").split(" on ")[0] if head else ""
        sha = _sha256(path)
        return SlicedJob(
            gcode=path,
            sha256=sha,
            grams=grams,
            est_seconds=seconds,
            slice_seconds=0.0,
            record={"slicer": made_by, "gcode_sha256": sha, "filament_g": grams},
        )

    def _prune(self) -> None:
        dirs = sorted(
            (d for d in self.workdir.iterdir() if d.is_dir()),
            key=lambda d: d.stat().st_mtime,
            reverse=True,
        )
        for d in dirs[KEEP_JOBS:]:
            shutil.rmtree(d, ignore_errors=True)
