"""PySLM adapter: the scan time of a laser powder-bed fusion build of one part.

PySLM (``pythonslm``) slices the mesh, hatches every layer (meander hatches rotated by
``layer_angle_increment_deg`` per layer, contours offset by the spot compensation) and
:func:`pyslm.analysis.getLayerTime` gives each layer's scan + jump time for a build style
(laser speed, jump speed). The build time is that plus ``recoat_s`` per layer:

    result = scan_time(mesh, profile=load_profile(), stride=4)
    result.seconds, result.scan_s, result.recoat_s, result.layers

Layers may be sampled every ``stride``-th layer (the hatch angle is still the one of each
sampled layer's index) and the scan time scaled by the layer ratio; on solids this is within
0.1 % of every layer (docs/estimate.md). Jump delays stay 0: pythonslm 0.6.1 adds a build
style's ``jumpDelay`` (µs) to the layer time as seconds.

The profile is ``data/profiles/slm/process.json`` (layer 30 µm, hatch distance, speeds,
contours, offsets, recoat seconds).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from configurator.errors import EstimateError

SLM_PROFILE = Path(__file__).resolve().parent / "data" / "profiles" / "slm" / "process.json"


def load_profile(path: str | Path = SLM_PROFILE) -> dict[str, Any]:
    """The SLM process profile (JSON; keys documented in docs/estimate.md)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EstimateError(f"cannot read the SLM profile {path}: {exc}") from exc


@cache
def pyslm_version() -> str:
    """The installed pythonslm version (EstimateError when it is missing)."""
    try:
        from importlib.metadata import version

        import pyslm  # noqa: F401  (an optional tool, imported where used)
    except ImportError as exc:
        raise EstimateError("PySLM is not installed (pip install pythonslm)") from exc
    return version("pythonslm")


@dataclass(frozen=True)
class ScanResult:
    """PySLM's build time for one part: scan + jump seconds, recoat seconds, layers."""

    seconds: float
    scan_s: float
    recoat_s: float
    layers: int
    sampled_layers: int


def _hatcher(profile: dict[str, Any]):
    from pyslm import hatching

    h = hatching.Hatcher()
    h.hatchDistance = float(profile["hatch_distance_mm"])
    h.hatchAngle = float(profile["hatch_angle_deg"])
    h.numOuterContours = int(profile["outer_contours"])
    h.numInnerContours = int(profile["inner_contours"])
    h.contourOffset = float(profile["contour_offset_mm"])
    h.spotCompensation = float(profile["spot_compensation_mm"])
    h.volumeOffsetHatch = float(profile["volume_offset_hatch_mm"])
    h.hatchSortMethod = hatching.AlternateSort()
    return h


def _model(profile: dict[str, Any]):
    from pyslm.geometry import BuildStyle, Model

    model = Model()
    model.mid = 1
    # bid 1: hatches, bid 2: contours (each its own speed); jump delays 0 (module docstring)
    for bid, speed, power in (
        (1, profile["hatch_speed_mm_s"], profile["hatch_power_w"]),
        (2, profile["contour_speed_mm_s"], profile["contour_power_w"]),
    ):
        bs = BuildStyle()
        bs.bid = bid
        bs.laserSpeed = float(speed)
        bs.laserPower = float(power)
        bs.jumpSpeed = float(profile["jump_speed_mm_s"])
        bs.jumpDelay = float(profile.get("jump_delay_us", 0.0))
        model.buildStyles.append(bs)
    return model


def scan_time(
    mesh: trimesh.Trimesh, *, profile: dict[str, Any] | None = None, stride: int = 1
) -> ScanResult:
    """Build time of ``mesh`` (mm, print orientation) with the SLM ``profile``."""
    pyslm_version()
    import pyslm
    import pyslm.analysis
    from pyslm.geometry import ContourGeometry

    prof = profile or load_profile()
    if float(prof.get("jump_delay_us", 0.0)) != 0.0:
        raise EstimateError("keep jump_delay_us at 0 (pythonslm 0.6.1 counts it as seconds)")
    lt = float(prof["layer_thickness_mm"])
    part = pyslm.Part("part")
    part.setGeometryByMesh(mesh)
    part.dropToPlatform()
    height = float(mesh.extents[2])
    layers = max(1, math.ceil(height / lt - 1e-9))
    idx = np.arange(0, layers, max(1, int(stride)))
    hatcher = _hatcher(prof)
    model = _model(prof)
    base_angle = float(prof["hatch_angle_deg"])
    inc = float(prof["layer_angle_increment_deg"])
    scan = 0.0
    try:
        for i in idx:
            hatcher.hatchAngle = (base_angle + inc * int(i)) % 180.0
            geom = part.getVectorSlice((i + 0.5) * lt)
            layer = hatcher.hatch(geom)
            if layer is None:
                continue
            for g in layer.geometry:
                g.mid = 1
                g.bid = 2 if isinstance(g, ContourGeometry) else 1
            scan += pyslm.analysis.getLayerTime(layer, [model])
    except Exception as exc:  # PySLM raises assorted errors on odd geometry
        raise EstimateError(f"PySLM failed: {exc}") from exc
    scan *= layers / len(idx)
    recoat = layers * float(prof["recoat_s"])
    return ScanResult(
        seconds=scan + recoat,
        scan_s=scan,
        recoat_s=recoat,
        layers=layers,
        sampled_layers=len(idx),
    )
