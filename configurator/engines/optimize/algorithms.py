"""The three search algorithms and their defaults.

=========  ==========  ==============================================================
name       objectives  defaults
=========  ==========  ==============================================================
``ga``     one         population 100, LHS start, binary tournament on (CV, f),
                       SBX crossover (p 0.9, eta 15), polynomial mutation (eta 20),
                       duplicates eliminated
``pso``    one         swarm 50, LHS start, adaptive inertia/c1/c2 (pymoo's fuzzy
                       PSO), max velocity 20 % of the range, best particle perturbed
``nsga2``  one or more population 100, LHS start, crowded binary tournament,
                       SBX (p 0.9, eta 15), polynomial mutation (eta 20),
                       duplicates eliminated
=========  ==========  ==============================================================

Every algorithm repairs through :class:`~configurator.engines.optimize.problem.SpaceRepair`,
so int/choice/bool variables only ever take legal values. With a small budget the
population shrinks so that at least ~10 generations run (never below 8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.algorithms.soo.nonconvex.pso import PSO
from pymoo.core.algorithm import Algorithm
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM

from configurator.engines.optimize.problem import RepairedSampling, SpaceRepair
from configurator.errors import OptimizationError

MIN_POPULATION = 8
MIN_EVALS = 2 * MIN_POPULATION


def _genetic_operators() -> dict:
    """Variation shared by GA and NSGA-II: SBX (p 0.9, eta 15), polynomial mutation (eta 20),
    duplicates eliminated (fresh operator objects per algorithm)."""
    return {
        "crossover": SBX(prob=0.9, eta=15),
        "mutation": PM(eta=20),
        "eliminate_duplicates": True,
    }


def _ga(pop_size: int) -> Algorithm:
    return GA(
        pop_size=pop_size,
        sampling=RepairedSampling(),
        repair=SpaceRepair(),
        **_genetic_operators(),
    )


def _pso(pop_size: int) -> Algorithm:
    return PSO(pop_size=pop_size, sampling=RepairedSampling(), repair=SpaceRepair(), adaptive=True)


def _nsga2(pop_size: int) -> Algorithm:
    return NSGA2(
        pop_size=pop_size,
        sampling=RepairedSampling(),
        repair=SpaceRepair(),
        **_genetic_operators(),
    )


@dataclass(frozen=True)
class AlgorithmSpec:
    """One search algorithm: ``name`` (API/CLI value), ``label`` (the form), whether it
    searches several objectives at once (``multi_objective``: a Pareto set), its default
    population ``pop_size``, a one-line ``summary`` and ``build(pop_size) -> Algorithm``
    (fresh, unseeded; the engine passes the seed to pymoo)."""

    name: str
    label: str
    multi_objective: bool
    pop_size: int
    summary: str
    build: Callable[[int], Algorithm]


#: the algorithm registry: the one place to add an algorithm (API, CLI and the catalog form
#: read it)
ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "ga", "Genetic algorithm", False, 100, "genetic algorithm, one objective", _ga
        ),
        AlgorithmSpec(
            "pso", "Particle swarm", False, 50, "adaptive particle swarm, one objective", _pso
        ),
        AlgorithmSpec(
            "nsga2",
            "NSGA-II",
            True,
            100,
            "NSGA-II, Pareto set of several objectives",
            _nsga2,
        ),
    )
}
#: the registered names, in registry order
ALGORITHM_NAMES: tuple[str, ...] = tuple(ALGORITHMS)


def default_algorithm(n_obj: int) -> str:
    """``nsga2`` for several objectives, else ``ga``."""
    return "nsga2" if n_obj > 1 else "ga"


def check_algorithm(name: str, *, n_obj: int) -> str:
    """Validate an algorithm name against the number of objectives; returns the name.

    Raises :class:`OptimizationError` with a readable reason.
    """
    spec = ALGORITHMS.get(name)
    if spec is None:
        raise OptimizationError(
            f"unknown algorithm '{name}'; choose one of {', '.join(ALGORITHM_NAMES)}"
        )
    if not spec.multi_objective and n_obj != 1:
        raise OptimizationError(
            f"algorithm '{name}' optimizes one objective but {n_obj} were selected; "
            "pick one objective, give weights for a weighted sum, or use nsga2"
        )
    return name


def population_size(name: str, evals: int) -> int:
    """Population for a budget: the default, shrunk so at least ~10 generations fit."""
    if evals < MIN_EVALS:
        raise OptimizationError(f"evals must be at least {MIN_EVALS}, got {evals}")
    return max(MIN_POPULATION, min(ALGORITHMS[name].pop_size, evals // 10))


def build_algorithm(name: str, *, pop_size: int) -> Algorithm:
    """A fresh, unseeded pymoo algorithm with the documented defaults.

    The seed is passed to :func:`pymoo.optimize.minimize` by the engine.
    """
    spec = ALGORITHMS.get(name)
    if spec is None:
        raise OptimizationError(
            f"unknown algorithm '{name}'; choose one of {', '.join(ALGORITHM_NAMES)}"
        )
    return spec.build(pop_size)


def offspring_per_generation(algorithm: Algorithm) -> int:
    """Evaluations one generation costs (GA/NSGA-II offspring, PSO swarm size)."""
    n_off = getattr(algorithm, "n_offsprings", None)
    return int(n_off if n_off else algorithm.pop_size)
