"""Estimator benchmark: cross-validated MAPE vs the naive baseline, and speed vs slicing.

Rows (on the committed slicer data set, held-out designs, grouped k-fold):
* ``print time MAPE`` / ``material MAPE``: ours = the learned model's MAPE (%), peer = the
  naive baseline's (volume ÷ flow rate + layers × overhead, fitted), ratio = baseline/model
  (higher is better); target MAPE ≤ 8 %.
* ``estimate latency``: ours = ms per part for features + prediction, peer = ms PrusaSlicer
  takes on the same enclosure-like open box (sliced for real when installed), ratio =
  slicer/ours.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from configurator.entrypoints.bench import Row, benchmark

TARGET_MAPE = 8.0


@benchmark("estimate")
def estimate_bench(quick: bool = False) -> list[Row]:
    from configurator.adapters.dataset import load_dataset
    from configurator.engines.fitting.evaluate import cross_validate
    from configurator.engines.fitting.model import PrintRegressor

    ds = load_dataset()
    if quick:  # a third of the designs, 3 folds
        keep = np.isin(ds.group, np.unique(ds.group)[::3])
        ds = ds.subset(keep)
    folds = 3 if quick else 5
    report = cross_validate(
        ds.X,
        {"seconds": ds.seconds, "grams": ds.grams},
        groups=ds.group,
        materials=ds.material,
        estimator=PrintRegressor(n_estimators=100 if quick else 300),
        folds=folds,
    )
    rows = []
    for target, metric in (("seconds", "print time MAPE"), ("grams", "material MAPE")):
        r = report[target]
        m, b = r["model"]["mape"], r["baseline"]["mape"]
        rows.append(
            Row(
                area="estimate",
                metric=metric,
                ours=m,
                peer_name="naive baseline",
                peer=b,
                ratio=b / m,
                target=f"<= {TARGET_MAPE:g} %",
                ok=m <= TARGET_MAPE,
                unit="%",
                note=f"{folds}-fold CV by design, {len(ds)} rows; ratio = baseline/model",
            )
        )
    rows.append(_latency_row(quick))
    return rows


def _cup(x: float, y: float, z: float, wall: float = 2.0):
    """An open box (enclosure-like part), mm."""
    import trimesh

    outer = trimesh.creation.box((x, y, z))
    inner = trimesh.creation.box((x - 2 * wall, y - 2 * wall, z))
    inner.apply_translation((0, 0, wall + 1e-3))
    return trimesh.boolean.difference([outer, inner], engine="manifold")


def _latency_row(quick: bool) -> Row:

    from configurator.adapters.model_store import load_model
    from configurator.core.estimate.features import mesh_features

    model = load_model()
    meshes = [_cup(80 + i, 60, 40) for i in range(5 if quick else 20)]
    t0 = time.perf_counter()
    for m in meshes:
        x = np.array([list(mesh_features(m).values())])
        model.predict("PLA", x)
    ours_ms = 1000 * (time.perf_counter() - t0) / len(meshes)
    slicer_ms = None
    if shutil.which("prusa-slicer"):
        from configurator.adapters.slicer import slice_stl

        with tempfile.TemporaryDirectory() as tmp:
            stl = Path(tmp) / "box.stl"
            stl.write_bytes(meshes[0].export(file_type="stl"))
            t0 = time.perf_counter()
            slice_stl(stl, profile="PLA", workdir=tmp)
            slicer_ms = 1000 * (time.perf_counter() - t0)
    return Row(
        area="estimate",
        metric="estimate latency per part",
        ours=ours_ms,
        peer_name="PrusaSlicer CLI",
        peer=slicer_ms,
        ratio=None if slicer_ms is None else slicer_ms / ours_ms,
        target="faster than slicing",
        ok=None if slicer_ms is None else ours_ms < slicer_ms,
        unit="ms",
        note="features + model vs slicing an 80x60x40 mm open box, 2 mm walls; ratio = slicer/ours",
    )
