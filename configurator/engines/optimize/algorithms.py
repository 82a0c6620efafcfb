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

from dataclasses import dataclass

from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.algorithms.soo.nonconvex.pso import PSO
from pymoo.core.algorithm import Algorithm
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM

from configurator.engines.optimize.problem import RepairedSampling, SpaceRepair
from configurator.errors import OptimizationError

ALGORITHMS = ("ga", "pso", "nsga2")
SINGLE_OBJECTIVE = frozenset({"ga", "pso"})
MIN_POPULATION = 8
MIN_EVALS = 2 * MIN_POPULATION


@dataclass(frozen=True)
class AlgorithmDefaults:
    """Documented defaults of one algorithm."""

    name: str
    pop_size: int
    summary: str


DEFAULTS = {
    "ga": AlgorithmDefaults("ga", 100, "genetic algorithm, one objective"),
    "pso": AlgorithmDefaults("pso", 50, "adaptive particle swarm, one objective"),
    "nsga2": AlgorithmDefaults("nsga2", 100, "NSGA-II, Pareto set of several objectives"),
}


def default_algorithm(n_obj: int) -> str:
    """``nsga2`` for several objectives, else ``ga``."""
    return "nsga2" if n_obj > 1 else "ga"


def check_algorithm(name: str, *, n_obj: int) -> str:
    """Validate an algorithm name against the number of objectives; returns the name.

    Raises :class:`OptimizationError` with a readable reason.
    """
    if name not in DEFAULTS:
        raise OptimizationError(
            f"unknown algorithm '{name}'; choose one of {', '.join(ALGORITHMS)}"
        )
    if name in SINGLE_OBJECTIVE and n_obj != 1:
        raise OptimizationError(
            f"algorithm '{name}' optimizes one objective but {n_obj} were selected; "
            "pick one objective, give weights for a weighted sum, or use nsga2"
        )
    return name


def population_size(name: str, evals: int) -> int:
    """Population for a budget: the default, shrunk so at least ~10 generations fit."""
    if evals < MIN_EVALS:
        raise OptimizationError(f"evals must be at least {MIN_EVALS}, got {evals}")
    return max(MIN_POPULATION, min(DEFAULTS[name].pop_size, evals // 10))


def _genetic_operators() -> dict:
    """Variation shared by GA and NSGA-II: SBX (p 0.9, eta 15), polynomial mutation (eta 20),
    duplicates eliminated (fresh operator objects per algorithm)."""
    return {
        "crossover": SBX(prob=0.9, eta=15),
        "mutation": PM(eta=20),
        "eliminate_duplicates": True,
    }


def build_algorithm(name: str, *, pop_size: int) -> Algorithm:
    """A fresh, unseeded pymoo algorithm with the documented defaults.

    The seed is passed to :func:`pymoo.optimize.minimize` by the engine.
    """
    repair = SpaceRepair()
    sampling = RepairedSampling()
    if name == "ga":
        return GA(pop_size=pop_size, sampling=sampling, repair=repair, **_genetic_operators())
    if name == "pso":
        return PSO(pop_size=pop_size, sampling=sampling, repair=repair, adaptive=True)
    if name == "nsga2":
        return NSGA2(pop_size=pop_size, sampling=sampling, repair=repair, **_genetic_operators())
    raise OptimizationError(f"unknown algorithm '{name}'; choose one of {', '.join(ALGORITHMS)}")


def offspring_per_generation(algorithm: Algorithm) -> int:
    """Evaluations one generation costs (GA/NSGA-II offspring, PSO swarm size)."""
    n_off = getattr(algorithm, "n_offsprings", None)
    return int(n_off if n_off else algorithm.pop_size)
