"""Catalog expression benchmarks (``configurator bench --only catalog``).

Rows:
- evaluate: one ``DesignSpace.evaluate`` of a whole bone-plate population (compiled catalog
  expressions, all derived values, objectives and constraint margins) / the same formulas
  hand-written in numpy (the peer), best of N, at population 100 and 10,000, each given a
  fresh copy of the population (as an optimizer does every generation). The results are
  compared first (they must agree to 1e-12 relative), so the ratio is for identical work.
  Target <= 5: the closure tree pays ~1.5 us of Python per node (dominant at population 100)
  and keeps every derived array alive for the caller (allocator cost at 10,000); measured
  ~3.6x and ~4.5x on 2 cores.
- per generation: the absolute time of one evaluation at population 100, against pymoo's own
  ~10 ms loop per generation (target: < 1 ms).
- enclosure with the learned print-time model: one evaluation of population 100 whose
  ``print_time`` objective calls the slicer-trained model (``print_seconds``, one predict
  per material present), against the same catalog with the analytic fallback estimator
  (report) and against pymoo's ~10 ms per generation (target: below it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from configurator.entrypoints.bench import Row, benchmark

AREA = "catalog"


def _space() -> Any:
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.core.design.space import DesignSpace
    from configurator.settings import Settings

    catalog = load_catalog(Path(Settings().catalog_dir) / "bone-plate.yaml")
    return DesignSpace(catalog)


def _hand_written(space: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """The bone-plate catalog's formulas written directly in numpy (defaults for requirements)."""
    cat = space.catalog
    req = space.requirements
    names = [v.name for v in space.variables]
    col = {n: X[:, i] for i, n in enumerate(names)}
    options = cat.parameters["screw"].options
    screw = col["screw"].astype(np.intp)
    hole = np.array([cat.tables["screw"][o]["hole"] for o in options])[screw]
    head = np.array([cat.tables["screw"][o]["head"] for o in options])[screw]
    mats = list(cat.materials.values())
    m = col["material"].astype(np.intp)
    E = np.array([x.properties["E"] for x in mats])[m]
    ys = np.array([x.properties["yield_strength"] for x in mats])[m]
    t, w, n, s, r = (
        col[k] for k in ("thickness", "width", "holes_per_side", "hole_spacing", "contour_radius")
    )
    length = req["gap"] + 2 * n * s
    cs_depth = (head - hole) / 2
    force = req["body_weight"] * 9.81 * req["load_factor"]
    ecc = req["bone_diameter"] / 2 + t / 2
    net_w = w - hole
    stress = force / (net_w * t) + force * ecc / (net_w * t**2 / 6)
    bone_area = np.pi / 4 * (req["bone_diameter"] ** 2 - (0.55 * req["bone_diameter"]) ** 2)
    h, c, d = hole, cs_depth, head
    volume = t * ((length - w) * w + np.pi * w**2 / 4) - 2 * n * np.pi / (r + t / 2) * (
        (h / 2) ** 2 * (t - c) * (r + (t - c) / 2)
        + c
        * (
            (r + t - c) / 3 * ((h / 2) ** 2 + h * d / 4 + (d / 2) ** 2)
            + c * ((h / 2) ** 2 / 12 + h * d / 24 + (d / 2) ** 2 / 4)
        )
    )
    sf = ys / stress
    bd = req["bone_diameter"]
    printer_len = np.array([250.0, 250.0, 205.0])[m]
    return {
        "implant_volume": volume,
        "safety_factor": sf,
        "relative_stiffness": E * w * t / (17000 * bone_area),
        "strong enough": sf - 1.5,
        "edge distance": np.minimum((w - head) / 2 - 1.0, (s - head) / 2 - 1.0),
        "countersink fits": 0.5 * t - cs_depth,
        "width fits the bone": np.pi * bd / 3 - w,
        "contour matches the bone": np.minimum(r - bd / 2, bd / 2 + 3 - r),
        "fits the printer": printer_len - length,
    }


def _best(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@benchmark("catalog")
def run(quick: bool = False) -> list[Row]:
    space = _space()
    rng = np.random.default_rng(1)
    rows: list[Row] = []
    repeats = 20 if quick else 200
    for n in (100, 10_000):
        X = space.repair(rng.uniform(space.xl, space.xu, size=(n, space.n_var)))
        ev = space.evaluate(X)
        ref = _hand_written(space, X)
        for name, value in ref.items():
            ours = ev.objectives.get(name, ev.margins.get(name))
            np.testing.assert_allclose(ours, value, rtol=1e-12, err_msg=name)
        # both get a fresh copy of the population, as in an optimizer loop (a warm, reused
        # array flatters whichever side reads it: the allocator then recycles hot pages)
        t_ours = _best(lambda X=X: space.evaluate(X.copy()), repeats)
        t_peer = _best(lambda X=X: _hand_written(space, X.copy()), repeats)
        ratio = t_ours / t_peer
        rows.append(
            Row(
                area=AREA,
                metric=f"evaluate bone-plate, population {n:,}",
                ours=t_ours * 1e3,
                peer_name="hand-written numpy",
                peer=t_peer * 1e3,
                ratio=ratio,
                target="<= 5",
                ok=ratio <= 5,
                unit="ms",
            )
        )
        if n == 100:
            rows.append(
                Row(
                    area=AREA,
                    metric="evaluate per generation, population 100",
                    ours=t_ours * 1e3,
                    peer_name="pymoo loop (~10 ms/gen)",
                    peer=10.0,
                    ratio=t_ours * 1e3 / 10.0,
                    target="< 1 ms",
                    ok=t_ours * 1e3 < 1.0,
                    unit="ms",
                )
            )
    rows += _learned_rows(repeats=10 if quick else 50)
    return rows


def _learned_rows(*, repeats: int) -> list[Row]:
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.core.design.space import DesignSpace
    from configurator.services.design.service import build_space
    from configurator.settings import Settings

    catalog = load_catalog(Path(Settings().catalog_dir) / "enclosure.yaml")
    learned = build_space(catalog)  # the model the services use
    analytic = DesignSpace(catalog)  # the fallback
    X = learned.repair(
        np.random.default_rng(2).uniform(learned.xl, learned.xu, (100, learned.n_var))
    )
    learned.evaluate(X)  # load the model once, as a server process does
    t_learned = _best(lambda: learned.evaluate(X.copy()), repeats)
    t_analytic = _best(lambda: analytic.evaluate(X.copy()), repeats)
    note = f"estimator {learned.estimator_identity}"
    return [
        Row(
            area=AREA,
            metric="evaluate enclosure with the learned print-time model, population 100",
            ours=t_learned * 1e3,
            peer_name="pymoo loop (~10 ms/gen)",
            peer=10.0,
            ratio=t_learned * 1e3 / 10.0,
            target="< 1",
            ok=t_learned * 1e3 < 10.0,
            unit="ms",
            note=note,
        ),
        Row(
            area=AREA,
            metric="evaluate enclosure with the learned print-time model, population 100",
            ours=t_learned * 1e3,
            peer_name="same catalog, analytic fallback",
            peer=t_analytic * 1e3,
            ratio=t_learned / t_analytic,
            target="report",
            ok=None,
            unit="ms",
        ),
    ]
