"""PrusaSlicer adapter: slice an STL headless and read the estimated time and filament.

::

    result = slice_stl("part.stl", profile="PLA", workdir=tmp)
    result.seconds, result.filament_mm, result.filament_g, result.gcode_path

A profile is a list of INI files loaded in order (``--load`` each): the fixed printer/print
settings ``fdm_base.ini`` then one filament INI per material, all committed under
``configurator/adapters/data/profiles/`` (documented in docs/estimate.md). ``profile`` may
be a :class:`SlicerProfile`, a bundled material name (``"PLA"``, ``"PETG"``, ``"ABS"``) or
the path of one self-contained INI file.

The slicer's own estimate is parsed from the G-code comments
``; estimated printing time (normal mode) = 1h 2m 3s``, ``; filament used [mm] = ...`` and
``; filament used [g] = ...``. Errors (slicer missing, slicing failed, no estimate in the
G-code) raise :class:`~configurator.errors.EstimateError` with one readable line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from configurator.errors import EstimateError

PROFILE_DIR = Path(__file__).resolve().parent / "data" / "profiles"
BASE_PROFILE = "fdm_base.ini"
SLA_PROFILE_DIR = PROFILE_DIR / "sla"
#: SLA profile variants: supports + pad on (the default), or the part on the platform
SLA_SUPPORT_VARIANTS = {"supports": "supports.ini", "nosupports": "nosupports.ini"}
SLICER_EXECUTABLE = "prusa-slicer"
DEFAULT_TIMEOUT_S = 300.0

_TIME_RE = re.compile(r"^; estimated printing time \(normal mode\) = (.+)$", re.M)
_MM_RE = re.compile(r"^; filament used \[mm\] = ([0-9.,\s]+)$", re.M)
_G_RE = re.compile(r"^; filament used \[g\] = ([0-9.,\s]+)$", re.M)
_PROGRESS_RE = re.compile(r"^\d+ => |^Slicing result exported|^Object name:")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class SlicerProfile:
    """A named profile: INI files loaded in order (later keys override earlier ones)."""

    name: str
    files: tuple[Path, ...]

    @classmethod
    def bundled(cls, material: str) -> SlicerProfile:
        """The committed base profile + ``<material>.ini``."""
        path = PROFILE_DIR / f"{material}.ini"
        if not path.is_file():
            raise EstimateError(
                f"no slicer profile for material {material!r}; bundled: {bundled_materials()}"
            )
        return cls(name=material, files=(PROFILE_DIR / BASE_PROFILE, path))

    def settings(self) -> dict[str, str]:
        """The merged ``key = value`` settings of the INI files (later files win)."""
        out: dict[str, str] = {}
        for f in self.files:
            for line in Path(f).read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith(("#", ";")) or "=" not in line:
                    continue
                key, _, value = line.partition("=")
                out[key.strip()] = value.strip()
        return out


@dataclass(frozen=True)
class SliceResult:
    """The slicer's estimate for one STL: seconds, filament length mm and mass g."""

    seconds: float
    filament_mm: float
    filament_g: float
    gcode_path: Path


def bundled_materials() -> list[str]:
    """Material names with a committed filament profile."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.ini") if p.name != BASE_PROFILE)


def sla_materials() -> list[str]:
    """Resin names with a committed SLA material profile (``profiles/sla/<name>.ini``)."""
    skip = {"base.ini", *SLA_SUPPORT_VARIANTS.values()}
    return sorted(p.stem for p in SLA_PROFILE_DIR.glob("*.ini") if p.name not in skip)


def sla_profile(material: str, *, supports: str = "supports") -> SlicerProfile:
    """The SLA profile ``base.ini`` + ``<material>.ini`` + the supports variant; its name
    is ``material`` with supports on, ``material + "-nosupports"`` with them off."""
    path = SLA_PROFILE_DIR / f"{material}.ini"
    if material not in sla_materials():
        raise EstimateError(f"no SLA profile for resin {material!r}; bundled: {sla_materials()}")
    if supports not in SLA_SUPPORT_VARIANTS:
        raise EstimateError(f"SLA supports variant must be one of {sorted(SLA_SUPPORT_VARIANTS)}")
    name = material if supports == "supports" else f"{material}-{supports}"
    files = (SLA_PROFILE_DIR / "base.ini", path, SLA_PROFILE_DIR / SLA_SUPPORT_VARIANTS[supports])
    return SlicerProfile(name=name, files=files)


def resolve_profile(profile: SlicerProfile | str | Path) -> SlicerProfile:
    """A :class:`SlicerProfile` from a profile, a bundled material name or an INI path."""
    if isinstance(profile, SlicerProfile):
        return profile
    text = str(profile)
    if text.endswith(".ini") or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise EstimateError(f"slicer profile {text} does not exist")
        return SlicerProfile(name=path.stem, files=(path,))
    return SlicerProfile.bundled(text)


def parse_duration(text: str) -> float:
    """``"1d 2h 3m 4s"`` (any subset, in that order) -> seconds."""
    parts = re.findall(r"(\d+)\s*([dhms])", text)
    if not parts or re.sub(r"\d+\s*[dhms]|\s", "", text):
        raise EstimateError(f"cannot read a duration from {text!r}")
    return float(sum(int(n) * _UNIT_S[u] for n, u in parts))


def _number(match: re.Match[str] | None, what: str, path: Path) -> float:
    if match is None:
        raise EstimateError(f"{path}: the G-code has no '{what}' comment")
    # multi-extruder G-code lists one value per extruder: add them up
    return float(sum(float(v) for v in match.group(1).replace(" ", "").split(",") if v))


def parse_gcode(path: Path) -> tuple[float, float, float]:
    """``(seconds, filament_mm, filament_g)`` from PrusaSlicer's G-code comments."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:  # the summary is at the end
            fh.seek(max(0, size - 64 * 1024))
            tail = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        raise EstimateError(f"cannot read G-code {path}: {exc.strerror}") from exc
    t = _TIME_RE.search(tail)
    if t is None:
        raise EstimateError(f"{path}: the G-code has no estimated printing time")
    return (
        parse_duration(t.group(1)),
        _number(_MM_RE.search(tail), "filament used [mm]", path),
        _number(_G_RE.search(tail), "filament used [g]", path),
    )


def _executable() -> str:
    exe = shutil.which(SLICER_EXECUTABLE)
    if exe is None:
        raise EstimateError(f"{SLICER_EXECUTABLE} is not installed (Debian package prusa-slicer)")
    return exe


@cache
def slicer_version() -> str:
    """The installed PrusaSlicer's version string, e.g. ``"PrusaSlicer-2.5.0+UNKNOWN"``."""
    proc = subprocess.run(
        [_executable(), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    m = re.search(r"^(PrusaSlicer-\S+)", proc.stdout, re.M)
    if m is None:
        raise EstimateError("cannot read the PrusaSlicer version from 'prusa-slicer --help'")
    return m.group(1)


def _run(cmd: list[str], out: Path, stl: Path, timeout_s: float) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EstimateError(f"PrusaSlicer took longer than {timeout_s:.0f} s on {stl}") from exc
    if proc.returncode != 0 or not out.is_file():
        lines = [
            ln.strip()
            for ln in (proc.stderr + proc.stdout).splitlines()
            if ln.strip() and "[trace]" not in ln and not _PROGRESS_RE.match(ln.strip())
        ]
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        raise EstimateError(f"PrusaSlicer failed on {stl.name}: {reason}")


@dataclass(frozen=True)
class SlaResult:
    """PrusaSlicer's SLA estimate: seconds, resin ml, fast/slow tilt layer counts."""

    seconds: float
    ml: float
    fast_layers: int
    slow_layers: int
    archive_path: Path


def parse_sl1(path: Path) -> SlaResult:
    """Read ``printTime``, ``usedMaterial``, ``numFast``, ``numSlow`` from an ``.sl1`` zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read("config.ini").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise EstimateError(f"cannot read the SLA archive {path}: {exc}") from exc
    conf = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition("=") for ln in text.splitlines()) if _
    )
    try:
        return SlaResult(
            seconds=float(conf["printTime"]),
            ml=float(conf["usedMaterial"]),
            fast_layers=int(conf["numFast"]),
            slow_layers=int(conf["numSlow"]),
            archive_path=Path(path),
        )
    except (KeyError, ValueError) as exc:
        raise EstimateError(f"{path}: config.ini lacks a readable {exc}") from None


def slice_sla(
    stl_path: str | Path,
    *,
    profile: SlicerProfile,
    workdir: str | Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> SlaResult:
    """Slice ``stl_path`` for resin (``--export-sla``); the archive goes to ``workdir``."""
    stl = Path(stl_path)
    if not stl.is_file():
        raise EstimateError(f"STL file {stl} does not exist")
    out = Path(workdir) / f"{stl.stem}.sl1"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [_executable(), "--export-sla"]
    for f in profile.files:
        cmd += ["--load", str(f)]
    cmd += ["--output", str(out), str(stl)]
    _run(cmd, out, stl, timeout_s)
    return parse_sl1(out)


def slice_stl(
    stl_path: str | Path,
    *,
    profile: SlicerProfile | str,
    workdir: str | Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> SliceResult:
    """Slice ``stl_path`` with ``profile``; the G-code goes to ``workdir/<stem>.gcode``."""
    stl = Path(stl_path)
    if not stl.is_file():
        raise EstimateError(f"STL file {stl} does not exist")
    prof = resolve_profile(profile)
    out = Path(workdir) / f"{stl.stem}.gcode"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [_executable(), "--export-gcode"]
    for f in prof.files:
        cmd += ["--load", str(f)]
    cmd += ["--output", str(out), str(stl)]
    _run(cmd, out, stl, timeout_s)
    seconds, mm, grams = parse_gcode(out)
    return SliceResult(seconds=seconds, filament_mm=mm, filament_g=grams, gcode_path=out)
