"""Estimator benchmark, per technology: held-out-family MAPE vs the naive baseline, and
latency vs running the ground-truth tool on the same part.

Rows (committed data sets; every shape family held out in turn):
* ``<T> print time MAPE`` / ``<T> material MAPE``: ours = the estimator's MAPE (%) on held-out
  families, peer = the naive baseline's (volume ÷ flow + layers × overhead, fitted),
  ratio = baseline/model; targets FDM ≤ 5 % (time and material), SLA ≤ 5 % (time),
  SLM ≤ 10 % (time), as in the issue;
* ``<T> estimate latency per part``: ours = ms for the technology's features + prediction,
  peer = ms the ground-truth tool takes on the same part (PrusaSlicer G-code for FDM,
  PrusaSlicer ``--export-sla`` for SLA, PySLM hatching + layer times for SLM — sampled
  layers as in the data set), ratio = tool/ours, target ≥ 50×.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

import trimesh

from configurator.adapters.profiles import slicer_profile
from configurator.adapters.pyslm import scan_time
from configurator.adapters.slicer import slice_sla, slice_stl
from configurator.core.estimate.families import on_bed
from configurator.entrypoints.bench import Row, benchmark
from configurator.errors import ConfiguratorError
from configurator.services.estimate.service import get_model
from configurator.services.estimate.technologies import TECHNOLOGIES, technology
from configurator.services.estimate.training import evaluate_technology

TARGETS = {"FDM": (5.0, 5.0), "SLA": (5.0, None), "SLM": (10.0, None)}
TARGET_SPEEDUP = 50.0
#: the part timed per technology: an open box (enclosure-like), sized to the printer, mm
PARTS = {"FDM": (80.0, 60.0, 40.0), "SLA": (60.0, 40.0, 20.0), "SLM": (40.0, 30.0, 12.0)}
PROFILES = {"FDM": "PLA", "SLA": "Resin", "SLM": "Ti-6Al-4V"}


def _cup(x: float, y: float, z: float, wall: float = 2.0) -> trimesh.Trimesh:
    """An open box, mm, on the bed."""
    outer = trimesh.creation.box((x, y, z))
    inner = trimesh.creation.box((x - 2 * wall, y - 2 * wall, z))
    inner.apply_translation((0, 0, wall + 1e-3))
    return on_bed(trimesh.boolean.difference([outer, inner], engine="manifold"))


@benchmark("estimate")
def estimate_bench(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    for tech in TECHNOLOGIES:
        rows += _mape_rows(tech)
        rows.append(_latency_row(tech, quick))
    return rows


def _mape_rows(tech: str) -> list[Row]:
    report = evaluate_technology(tech)
    out = []
    for target, metric, goal in (
        ("seconds", "print time MAPE", TARGETS[tech][0]),
        ("grams", "material MAPE", TARGETS[tech][1]),
    ):
        r = report[target]
        m, b = r["model"]["mape"], r["baseline"]["mape"]
        out.append(
            Row(
                area="estimate",
                metric=f"{tech} {metric}, held-out families",
                ours=m,
                peer_name="naive baseline",
                peer=b,
                ratio=b / m,
                target="-" if goal is None else f"<= {goal:g} %",
                ok=None if goal is None else m <= goal,
                unit="%",
                note=f"leave one of {len(report['families'])} families out, {report['rows']} rows;"
                f" worst part {r['model']['worst_part']} {r['model']['max_ape']:.1f} %",
            )
        )
    return out


def _tool_ms(tech: str, mesh: trimesh.Trimesh) -> float | None:
    """Milliseconds the ground-truth tool takes on ``mesh`` (None when not installed)."""
    if tech in ("FDM", "SLA") and not shutil.which("prusa-slicer"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        stl = Path(tmp) / "part.stl"
        stl.write_bytes(mesh.export(file_type="stl"))
        t0 = time.perf_counter()
        try:
            if tech == "FDM":
                slice_stl(stl, profile=PROFILES[tech], workdir=tmp)
            elif tech == "SLA":
                slice_sla(stl, profile=slicer_profile("SLA", PROFILES[tech]), workdir=tmp)
            else:
                layers = math.ceil(mesh.extents[2] / 0.03)
                scan_time(mesh, stride=max(1, math.ceil(layers / 100)))
        except ConfiguratorError:
            return None
        return 1000 * (time.perf_counter() - t0)


def _latency_row(tech: str, quick: bool) -> Row:
    mesh = _cup(*PARTS[tech])
    model = get_model(None, tech)
    t = technology(tech)
    n = 3 if quick else 10
    t0 = time.perf_counter()
    for _ in range(n):
        model.predict(PROFILES[tech], t.features(mesh, PROFILES[tech]))
    ours = 1000 * (time.perf_counter() - t0) / n
    tool = _tool_ms(tech, mesh)
    ratio = None if tool is None else tool / ours
    x, y, z = PARTS[tech]
    return Row(
        area="estimate",
        metric=f"{tech} estimate latency per part",
        ours=ours,
        peer_name={
            "FDM": "PrusaSlicer G-code",
            "SLA": "PrusaSlicer --export-sla",
            "SLM": "PySLM + recoat",
        }[tech],
        peer=tool,
        ratio=ratio,
        target=f">= {TARGET_SPEEDUP:g}x faster",
        ok=None if ratio is None else ratio >= TARGET_SPEEDUP,
        unit="ms",
        note=f"features + model vs the tool on a {x:g}x{y:g}x{z:g} mm open box, 2 mm walls",
    )
