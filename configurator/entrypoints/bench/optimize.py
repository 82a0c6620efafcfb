"""Optimization benchmarks on the enclosure catalog (``configurator bench --only optimize``).

Rows:
- overhead: a whole NSGA-II run (population 100, 100 generations) through the engine
  (tracker, progress events, hypervolume, result records) / a bare pymoo ``minimize`` of
  the same algorithm on the same vectorized problem, same process, best of 3 each.
  Target <= 1.25.
- quality: hypervolume at 5,000 evaluations, median over 5 seeds, configurator NSGA-II /
  Optuna's NSGA-II sampler (target >= 1.1) and / a reference front from dense sampling
  (target >= 0.98), and / our own NSGA-II at 10x the budget (how close to the attainable
  front; no peer can beat that by more than its inverse). All fronts are normalised the
  same way (ideal: best of every compared front, nadir: the reference front's worst,
  reference point 1.1 per axis).
- GA vs PSO: median best feasible mass over 7 seeds at equal budget.

``quick`` shrinks budgets and seed counts (a smoke test, not the quoted numbers).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from configurator.entrypoints.bench import Row, benchmark

AREA = "optimize"


def _enclosure_space(objectives: list[str] | None = None, *, material: str | None = None) -> Any:
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.core.design.space import DesignSpace
    from configurator.settings import Settings

    catalog = load_catalog(Path(Settings().catalog_dir) / "enclosure.yaml")
    return DesignSpace(catalog, objectives=objectives, material=material), catalog


def _mo_objectives(catalog: Any) -> list[str]:
    names = list(catalog.objectives)
    return names[:2]


def _so_objective(catalog: Any) -> str:
    return "mass" if "mass" in catalog.objectives else next(iter(catalog.objectives))


# ----------------------------------------------------------------------------- overhead


def _bare_nsga2(space: Any, *, n_gen: int, seed: int) -> float:
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    from configurator.engines.optimize.algorithms import build_algorithm
    from configurator.engines.optimize.problem import search_bounds

    xl, xu = search_bounds(space)
    probe = space.evaluate(space.repair(((xl + xu) / 2)[None, :]))

    class Bare(Problem):
        def __init__(self) -> None:
            super().__init__(
                n_var=len(xl), n_obj=probe.F.shape[1], n_ieq_constr=probe.G.shape[1], xl=xl, xu=xu
            )
            self.space = space  # SpaceRepair/RepairedSampling read problem.space

        def _evaluate(self, X, out, *args, **kwargs):
            ev = space.evaluate(X)
            out["F"], out["G"] = ev.F, ev.G

    t0 = time.perf_counter()
    minimize(Bare(), build_algorithm("nsga2", pop_size=100), ("n_gen", n_gen), seed=seed)
    return time.perf_counter() - t0


def _engine_nsga2(space: Any, *, n_gen: int, seed: int) -> float:
    from configurator.engines.optimize import run_optimization

    events: list = []
    t0 = time.perf_counter()
    run_optimization(
        space, algorithm="nsga2", evals=100 * n_gen, seed=seed, top=10, on_progress=events.append
    )
    return time.perf_counter() - t0


def _overhead(quick: bool) -> list[Row]:
    space, catalog = _enclosure_space(_mo_objectives(_enclosure_space()[1]))
    n_gen = 30 if quick else 100
    bare, ours = [], []
    for rep in range(3):  # interleaved, best of 3
        bare.append(_bare_nsga2(space, n_gen=n_gen, seed=rep))
        ours.append(_engine_nsga2(space, n_gen=n_gen, seed=rep))
    b, o = min(bare), min(ours)
    return [
        Row(
            AREA,
            f"NSGA-II run, pop 100 x {n_gen} gen",
            o,
            "bare pymoo minimize",
            b,
            o / b,
            "<= 1.25",
            o / b <= 1.25,
            unit="s",
        )
    ]


# ------------------------------------------------------------------------------ quality


def _optuna_front(space: Any, *, evals: int, seed: int) -> np.ndarray:
    import optuna

    from configurator.engines.optimize.problem import is_discrete

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = [v.name for v in space.variables]
    lo, hi = np.asarray(space.xl, float), np.asarray(space.xu, float)
    discrete = [is_discrete(v) for v in space.variables]
    n_obj = len(space.objective_names)
    store: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def constraints(trial: Any) -> list[float]:
        return store[trial.number][1].tolist()

    def objective(trial: Any) -> list[float]:
        x = np.array(
            [
                trial.suggest_int(n, int(a), int(b)) if d else trial.suggest_float(n, a, b)
                for n, a, b, d in zip(names, lo, hi, discrete, strict=True)
            ],
            dtype=float,
        )
        ev = space.evaluate(space.repair(x[None, :]))
        store[trial.number] = (ev.F[0], ev.G[0])
        trial.set_user_attr("feasible", bool(ev.feasible[0]))
        if modern:
            for k, g in enumerate(ev.G[0].tolist()):
                trial.set_constraint(f"c{k}", g)
        return ev.F[0].tolist()

    modern = hasattr(optuna.trial.Trial, "set_constraint")  # optuna >= 5
    kw = {} if modern else {"constraints_func": constraints}
    sampler = optuna.samplers.NSGAIISampler(seed=seed, **kw)
    study = optuna.create_study(directions=["minimize"] * n_obj, sampler=sampler)
    study.optimize(objective, n_trials=evals)
    F = np.array(
        [store[t.number][0] for t in study.trials if t.user_attrs.get("feasible")], dtype=float
    ).reshape(-1, n_obj)
    return F


def _engine_front(space: Any, *, evals: int, seed: int) -> np.ndarray:
    from configurator.engines.optimize import run_optimization

    res = run_optimization(space, algorithm="nsga2", evals=evals, seed=seed, top=1000)
    names = res.objective_names
    senses = np.asarray(space.senses, float)
    F = np.array([[r.objectives[n].value for n in names] for r in res.records], dtype=float)
    return F.reshape(-1, len(names)) * senses


def _dense_front(space: Any, *, n: int, seed: int) -> np.ndarray:
    from configurator.engines.optimize.problem import search_bounds
    from configurator.engines.optimize.selection import pareto_front

    xl, xu = search_bounds(space)
    rng = np.random.default_rng(seed)
    fronts = []
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        X = space.repair(xl + rng.random((m, len(xl))) * (xu - xl))
        ev = space.evaluate(X)
        F = np.asarray(ev.F, float)[ev.feasible]
        fronts.append(pareto_front(X[ev.feasible], F)[1])
    allF = np.vstack(fronts)
    return pareto_front(np.arange(len(allF), dtype=float)[:, None], allF)[1]


def _hv(F: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> float:
    from moocore import hypervolume

    if len(F) == 0:
        return 0.0
    Z = (F - ideal) / np.where(nadir > ideal, nadir - ideal, 1.0)
    return float(hypervolume(Z, ref=np.full(F.shape[1], 1.1)))


def _quality(quick: bool) -> list[Row]:
    _, catalog = _enclosure_space()
    space, _ = _enclosure_space(_mo_objectives(catalog))
    evals, seeds = (1000, 3) if quick else (5000, 5)
    ref = _dense_front(space, n=200_000 if quick else 1_000_000, seed=12345)
    ours = [_engine_front(space, evals=evals, seed=s) for s in range(seeds)]
    try:
        theirs = [_optuna_front(space, evals=evals, seed=s) for s in range(seeds)]
    except ImportError:
        theirs = None
    converged = _engine_front(space, evals=10 * evals, seed=0)  # 10x budget: the front's limit
    every = [ref, converged, *ours, *(theirs or [])]
    ideal = np.min([f.min(axis=0) for f in every if len(f)], axis=0)
    nadir = ref.max(axis=0)
    hv_ours = statistics.median(_hv(f, ideal, nadir) for f in ours)
    hv_ref = _hv(ref, ideal, nadir)
    label = f"hypervolume @{evals} evals, median of {seeds} seeds"
    rows = [
        Row(
            AREA,
            label,
            hv_ours,
            "dense-sampling front",
            hv_ref,
            hv_ours / hv_ref,
            ">= 0.98",
            hv_ours / hv_ref >= 0.98,
            note=f"objectives {', '.join(space.objective_names)}",
        )
    ]
    hv_conv = _hv(converged, ideal, nadir)
    rows.append(
        Row(
            AREA,
            label,
            hv_ours,
            f"NSGA-II @{10 * evals} evals (converged)",
            hv_conv,
            hv_ours / hv_conv,
            "report",
            None,
            note="how close to the attainable front; bounds any ratio to a peer",
        )
    )
    if theirs is None:
        rows.append(
            Row(
                AREA,
                label,
                hv_ours,
                "Optuna NSGA-II",
                None,
                None,
                ">= 1.1",
                None,
                note="optuna not installed (pip install configurator[bench])",
            )
        )
    else:
        hv_opt = statistics.median(_hv(f, ideal, nadir) for f in theirs)
        rows.append(
            Row(
                AREA,
                label,
                hv_ours,
                "Optuna NSGA-II",
                hv_opt,
                hv_ours / hv_opt,
                ">= 1.1",
                hv_ours / hv_opt >= 1.1,
            )
        )
    return rows


# ----------------------------------------------------------------------------- GA vs PSO


def _best(space: Any, *, algorithm: str, evals: int, seed: int, name: str) -> float:
    from configurator.engines.optimize import run_optimization

    res = run_optimization(space, algorithm=algorithm, evals=evals, seed=seed, top=1)
    return float(res.records[0].objectives[name].value) if res.records else float("nan")


def _ga_vs_pso(quick: bool) -> list[Row]:
    _, catalog = _enclosure_space()
    name = _so_objective(catalog)
    space, _ = _enclosure_space([name])
    evals, seeds = (1000, 3) if quick else (3000, 7)
    ga = statistics.median(
        _best(space, algorithm="ga", evals=evals, seed=s, name=name) for s in range(seeds)
    )
    pso = statistics.median(
        _best(space, algorithm="pso", evals=evals, seed=s, name=name) for s in range(seeds)
    )
    unit = catalog.objectives[name].unit
    return [
        Row(
            AREA,
            f"best feasible {name} @{evals} evals, median of {seeds} seeds (GA)",
            ga,
            "PSO",
            pso,
            ga / pso,
            "report (lower is better)",
            None,
            unit=unit,
        )
    ]


@benchmark("optimize")
def run(quick: bool = False) -> list[Row]:
    """All optimization rows (overhead, quality vs Optuna and dense sampling, GA vs PSO)."""
    return _overhead(quick) + _quality(quick) + _ga_vs_pso(quick)
