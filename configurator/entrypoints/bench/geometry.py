"""Geometry and export benchmarks (``configurator bench --only geometry``).

Rows (all measured in the same run, same process):

- enclosure mesh: building the default enclosure (base + lid) with the registered
  generator, memory cache bypassed, median of N / one ``openscad -o x.stl -D ...`` render of
  the equivalent enclosure (:data:`SCAD_SOURCE`: same outer size, corner radius, wall, floor,
  4 bosses with screw holes, vent slots and lid with clearance holes, ``$fn = 64``).
  Target <= 1/100. Skipped (``ok`` None) when ``openscad`` is not installed.
- STL export: binary STL of a ~1M-triangle mesh; reported as throughput relative to a plain
  memory copy of the same number of bytes into a new ``bytes`` object (``ratio`` =
  copy time / export time, so higher is better). Target >= 0.1.
- whole request: NSGA-II with 10,000 evaluations on the enclosure (mass vs lid stiffness),
  then meshes, every mesh check and STL files for the top 8 designs / one OpenSCAD render of
  one design. Target < 1.

``quick`` takes fewer repetitions (the OpenSCAD render is still one full render).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from configurator.entrypoints.bench import Row, benchmark

AREA = "geometry"

SCAD_SOURCE = """\
// The enclosure of configurator's generator, in OpenSCAD (values come from -D).
L = 86; W = 56; H = 25.6; wall = 2; floor_t = 2; r = 3; ri = 1;
boss_d = 6; hole_d = 2.5; standoff = 6; bx = 36.5; by = 21.5;
vents = 4; vw = 2; vh = 11.8; vz = 7.9; lid_t = 2; clear_d = 3.4; gap = 5;
$fn = 64;
module rrect(l, w, rad, h) {
  if (rad > 0) hull() for (sx = [-1, 1], sy = [-1, 1])
    translate([sx * (l / 2 - rad), sy * (w / 2 - rad), 0]) cylinder(r = rad, h = h);
  else translate([-l / 2, -w / 2, 0]) cube([l, w, h]);
}
module base() {
  difference() {
    union() {
      difference() {
        rrect(L, W, r, H);
        translate([0, 0, floor_t]) rrect(L - 2 * wall, W - 2 * wall, ri, H);
      }
      for (sx = [-1, 1], sy = [-1, 1])
        translate([sx * bx, sy * by, floor_t / 4])
          cylinder(d = boss_d, h = standoff + floor_t * 0.75);
    }
    for (sx = [-1, 1], sy = [-1, 1])
      translate([sx * bx, sy * by, floor_t / 2]) cylinder(d = hole_d, h = standoff + floor_t);
    if (vents > 0) for (i = [0 : vents - 1], sy = [-1, 1])
      translate([(i - (vents - 1) / 2) * 2 * vw - vw / 2,
                 sy > 0 ? W / 2 - wall - 0.5 : -W / 2 - 0.5, vz])
        cube([vw, wall + 1, vh]);
  }
}
module lid() {
  difference() {
    rrect(L, W, r, lid_t);
    for (sx = [-1, 1], sy = [-1, 1])
      translate([sx * bx, sy * by, -0.5]) cylinder(d = clear_d, h = lid_t + 1);
  }
}
base();
translate([L + gap, 0, 0]) lid();
"""


def _enclosure() -> tuple[Any, Any]:
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.core.design.space import DesignSpace
    from configurator.settings import Settings

    catalog = load_catalog(Path(Settings().catalog_dir) / "enclosure.yaml")
    return catalog, DesignSpace(catalog)


def scad_defines(values: dict[str, Any]) -> dict[str, float]:
    """OpenSCAD ``-D`` values for the equivalent of one enclosure design (mm)."""
    return {
        "L": values["outer_length"],
        "W": values["outer_width"],
        "H": values["floor"] + values["inner_height"],
        "wall": values["wall"],
        "floor_t": values["floor"],
        "r": values["corner_radius"],
        "ri": values["inner_radius"],
        "boss_d": values["boss_diameter"],
        "hole_d": values["screw.hole"],
        "standoff": values["standoff"],
        "bx": values["boss_x"],
        "by": values["boss_y"],
        "vents": values["vent_count"],
        "vw": values["vent_width"],
        "vh": values["vent_height"],
        "vz": values["vent_z"],
        "lid_t": values["lid_thickness"],
        "clear_d": values["screw.clearance"],
    }


def openscad_render_s(values: dict[str, Any], workdir: Path) -> float:
    """Seconds for ``openscad -o x.stl -D ... enclosure.scad``; raises if it fails."""
    from configurator.adapters import storage

    scad = storage.write_bytes_atomic(workdir / "enclosure.scad", SCAD_SOURCE.encode())
    cmd = ["openscad", "-o", str(workdir / "x.stl")]
    for key, value in scad_defines(values).items():
        cmd += ["-D", f"{key}={float(value):.6g}"]
    cmd.append(str(scad))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or not (workdir / "x.stl").is_file():
        raise RuntimeError(f"openscad failed: {proc.stderr.strip().splitlines()[-1:]}")
    return elapsed


def _generate_s(catalog: Any, values: dict[str, Any], repeats: int) -> float:
    from configurator.core.geometry.registry import generate

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        generate(catalog.generator, values)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _big_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A ~1M-triangle closed mesh (a finely faceted sphere from manifold3d)."""
    from manifold3d import Manifold

    mesh = Manifold.sphere(50.0, circular_segments=1414).to_mesh64()
    return np.asarray(mesh.vert_properties)[:, :3], np.asarray(mesh.tri_verts, dtype=np.int64)


@benchmark("geometry")
def run(quick: bool = False) -> list[Row]:
    from configurator.core.export.stl import stl_bytes

    rows: list[Row] = []
    catalog, space = _enclosure()
    values = space.values(space.default_x())
    ours = _generate_s(catalog, values, 5 if quick else 21)
    have_scad = shutil.which("openscad") is not None
    peer = None
    with tempfile.TemporaryDirectory() as tmp:
        if have_scad:
            peer = openscad_render_s(values, Path(tmp))
    rows.append(
        Row(
            AREA,
            "enclosure mesh (base + lid)",
            ours,
            "openscad -o x.stl (same enclosure, $fn=64)",
            peer,
            None if peer is None else ours / peer,
            "<= 0.01",
            None if peer is None else ours / peer <= 0.01,
            unit="s",
            note="" if have_scad else "openscad not installed",
        )
    )

    verts, faces = _big_mesh()
    stl_bytes(verts, faces)  # warm up
    reps = 3 if quick else 7
    export = min(_timed(lambda: stl_bytes(verts, faces)) for _ in range(reps))
    data = np.frombuffer(stl_bytes(verts, faces), dtype=np.uint8).copy()
    copy = min(_timed(data.tobytes) for _ in range(reps))
    in_place = np.empty_like(data)
    copy_reuse = min(_timed(lambda: np.copyto(in_place, data)) for _ in range(reps))
    rows.append(
        Row(
            AREA,
            f"STL export, {len(faces) / 1e6:.2f}M triangles ({data.nbytes / 1e6:.0f} MB)",
            export,
            "memcpy into new bytes",
            copy,
            copy / export,
            ">= 0.1",
            copy / export >= 0.1,
            unit="s",
            note=(
                f"ratio = copy time / export time; {data.nbytes / export / 1e6:.0f} MB/s; "
                f"copy into a reused buffer {copy_reuse * 1e3:.1f} ms "
                f"(ratio {copy_reuse / export:.3f})"
            ),
        )
    )

    rows.append(_whole_request(catalog, peer, quick=quick))
    return rows


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _whole_request(catalog: Any, peer: float | None, *, quick: bool) -> Row:
    metric = "whole request: NSGA-II 10,000 evals + top 8 meshes, checks, STL"
    try:
        from configurator.engines.optimize import run_optimization
    except ImportError as exc:  # the optimizer is another package; report, don't fail
        return Row(
            AREA,
            metric,
            None,
            "one openscad render",
            peer,
            None,
            "< 1",
            None,
            unit="s",
            note=f"skipped: {exc}",
        )
    from configurator.services import geometry
    from configurator.services.design.service import build_space

    # as a customer's request runs: the learned print-time model in the objectives (loaded
    # once per server process, so loaded before the clock starts)
    space = build_space(catalog, objectives=["mass", "stiffness", "print_time"])
    space.evaluate(space.default_x())
    geometry.clear_memory_cache()
    t0 = time.perf_counter()
    result = run_optimization(space, algorithm="nsga2", evals=10_000, seed=0, top=8)
    t_opt = time.perf_counter() - t0
    files = 0
    for record in result.records:
        parts = geometry.build_design(catalog, record)
        files += len(geometry.export_parts(parts, "stl"))
    total = time.perf_counter() - t0
    note = (
        f"optimize {t_opt:.2f} s, meshes+checks+STL {total - t_opt:.2f} s "
        f"for {len(result.records)} designs ({files} files)"
    )
    if peer is None:
        note += "; openscad not installed"
    return Row(
        AREA,
        metric,
        total,
        "one openscad render",
        peer,
        None if peer is None else total / peer,
        "< 1",
        None if peer is None else total / peer < 1,
        unit="s",
        note=note,
    )
