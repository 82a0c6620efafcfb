"""``run_optimization``: one seeded, budgeted, cancellable run over a design space.

Serves three callers alike: the CLI (progress bar), the web run manager (off the request
thread, progress streamed as server-sent events, cancelled through ``should_stop``) and
Dask (one task per run). Everything it returns is plain and picklable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pymoo.optimize import minimize

from configurator.engines.optimize.algorithms import (
    build_algorithm,
    check_algorithm,
    default_algorithm,
    offspring_per_generation,
    population_size,
)
from configurator.engines.optimize.infeasibility import (
    RequirementSpec,
    SpaceFactory,
    build_report,
    suggest_changes,
)
from configurator.engines.optimize.problem import DesignSpaceLike, SpaceProblem
from configurator.engines.optimize.progress import ProgressCallback, ProgressEvent, RunTermination
from configurator.engines.optimize.results import OptimizationResult, RunStats
from configurator.engines.optimize.selection import pareto_front, thin_front
from configurator.engines.optimize.tracking import Tracker
from configurator.engines.optimize.weighting import WeightedSpace
from configurator.errors import OptimizationError

MAX_TOP = 1000


@dataclass
class RequirementProbe:
    """How the infeasibility report may vary requirements (given by the design service)."""

    factory: SpaceFactory
    requirements: list[RequirementSpec] = field(default_factory=list)
    samples: int = 512


def _check_inputs(evals: int, seed: int, top: int, time_cap_s: float | None) -> None:
    if isinstance(evals, bool) or not isinstance(evals, int | np.integer):
        raise OptimizationError(f"evals must be an integer, got {evals!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise OptimizationError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or not 1 <= top <= MAX_TOP:
        raise OptimizationError(f"top must be an integer in 1..{MAX_TOP}, got {top!r}")
    if time_cap_s is not None and not time_cap_s > 0:
        raise OptimizationError(f"time cap must be positive seconds, got {time_cap_s!r}")


def run_optimization(
    space: DesignSpaceLike,
    *,
    algorithm: str | None = None,
    evals: int = 5000,
    seed: int = 0,
    top: int = 5,
    time_cap_s: float | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    requirement_probe: RequirementProbe | None = None,
    hv_every: int = 5,
) -> OptimizationResult:
    """Optimize ``space`` and return its best designs (or why there are none).

    ``algorithm``: ``ga``/``pso`` (one objective) or ``nsga2``; default by the number of
    objectives. ``evals``: evaluation budget, never exceeded (the run stops when the next
    generation would not fit). ``time_cap_s``: wall-clock cap in seconds (a run stopped by
    it is not reproducible). ``top``: designs returned (best distinct ones; NSGA-II: the
    feasible front thinned evenly to ``top``). ``on_progress`` receives a
    :class:`ProgressEvent` after every generation; ``should_stop`` is polled between
    generations and a stopped run returns what it has (status ``cancelled``).
    Several objectives with ``space.weights`` set are optimized as one weighted sum (see
    :mod:`configurator.engines.optimize.weighting`). Same space, algorithm, evals and seed (and no
    time cap hit) -> identical result.
    """
    _check_inputs(evals, seed, top, time_cap_s)
    started = time.perf_counter()
    weights = getattr(space, "weights", None)
    if weights is not None and len(space.objective_names) > 1:
        space = WeightedSpace(space, weights)
    tracker = Tracker(n_obj=1, keep=top * 2)  # n_obj fixed below, once the problem knows it
    problem = SpaceProblem(space, observer=tracker)
    tracker.n_obj = problem.n_obj
    name = check_algorithm(algorithm or default_algorithm(problem.n_obj), n_obj=problem.n_obj)
    pop_size = population_size(name, int(evals))
    algo = build_algorithm(name, pop_size=pop_size)
    termination = RunTermination(
        evals=int(evals),
        per_generation=offspring_per_generation(algo),
        time_cap_s=time_cap_s,
        should_stop=should_stop,
    )
    names = [str(n) for n in space.objective_names]
    senses = np.asarray(space.senses, dtype=float)
    callback = ProgressCallback(
        tracker=tracker,
        objective_names=names,
        senses=senses,
        budget=int(evals),
        best_values=_best_values(space, tracker, names) if problem.n_obj == 1 else None,
        on_progress=on_progress,
        hv_every=hv_every,
    )
    minimize(
        problem,
        algo,
        termination,
        seed=int(seed),
        callback=callback,
        copy_algorithm=False,
        copy_termination=False,
    )
    reason = termination.reason or "evals"
    hv = callback.hypervolume if problem.n_obj > 1 else None

    if tracker.n_feasible == 0:
        status = "cancelled" if reason == "cancelled" else "infeasible"
        # a cancelled run reports at once: no requirement probing after a stop request
        probe = None if reason == "cancelled" else requirement_probe
        report = _report(space, tracker, probe, seed)
        records: list = []
    else:
        status = "cancelled" if reason == "cancelled" else "ok"
        report = None
        if problem.n_obj == 1:
            X = tracker.elite_X
        else:
            X = _front(tracker, top)
        records = _records(space, X, top)
    stats = RunStats(
        algorithm=name,
        seed=int(seed),
        budget=int(evals),
        evaluations=tracker.n_eval,
        generations=callback.generations,
        pop_size=pop_size,
        n_feasible=tracker.n_feasible,
        stopped_by=reason,
        seconds=time.perf_counter() - started,
        hypervolume=hv,
    )
    return OptimizationResult(
        status=status, objective_names=names, records=records, infeasibility=report, stats=stats
    )


def _best_values(space: DesignSpaceLike, tracker: Tracker, names: list[str]):
    """Single objective: natural objective values of the best design (cached per best)."""
    cache: dict[str, object] = {"f": None, "values": {}}

    def best() -> dict[str, float]:
        f = float(tracker.elite_F[0])
        if cache["f"] != f:
            ev = space.evaluate(tracker.elite_X[:1])
            values = {n: float(np.asarray(ev.objectives[n]).ravel()[0]) for n in names}
            if len(names) != 1:
                values["weighted"] = f
            cache["f"], cache["values"] = f, values
        return dict(cache["values"])

    return best


def _front(tracker: Tracker, top: int) -> np.ndarray:
    """The archived feasible front (every evaluation), thinned evenly to ``top`` rows."""
    X, F = pareto_front(tracker.front_X, tracker.front_F)
    return X[thin_front(F, top)]


def _records(space: DesignSpaceLike, X: np.ndarray, top: int) -> list:
    """Design records for rows of ``X`` in order, unique by design id, at most ``top``."""
    out, seen = [], set()
    for x in X:
        record = space.record(np.asarray(x, dtype=float))
        design_id = getattr(record, "design_id", None)
        if design_id in seen:
            continue
        seen.add(design_id)
        out.append(record)
        if len(out) == top:
            break
    return out


def _report(space, tracker: Tracker, probe: RequirementProbe | None, seed: int):
    if tracker.least_X is None:
        return None
    changes = None
    if probe is not None and probe.requirements:
        changes = suggest_changes(
            probe.factory,
            probe.requirements,
            seeds_X=tracker.least_X,
            samples=probe.samples,
            seed=seed,
        )
    return build_report(space, tracker.least_X, evaluations=tracker.n_eval, changes=changes)
