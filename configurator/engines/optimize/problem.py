"""The design space as a vectorized pymoo problem, with one repair path for every algorithm.

A population of ``n`` designs is a float matrix ``X`` of shape ``(n, n_var)``. Real
variables live in ``[xl, xu]``; int, choice (option index) and bool variables are
searched as floats on ``[xl - 0.5, xu + 0.5)`` and rounded by ``space.repair`` (wired
as a pymoo :class:`~pymoo.core.repair.Repair`), so GA, PSO and NSGA-II share one
encoding and the end options get the same probability as the middle ones.

The whole population is evaluated by one call of ``space.evaluate`` — no per-row loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling
from pymoo.operators.sampling.lhs import LHS

#: variable kinds that are searched as rounded floats
DISCRETE_KINDS = frozenset({"int", "choice", "bool", "integer", "binary"})


class EvaluationLike(Protocol):
    """What :meth:`DesignSpaceLike.evaluate` returns (see docs/INTERFACES.md)."""

    F: np.ndarray  # (n, n_obj) minimization form
    G: np.ndarray  # (n, n_con) <= 0 satisfied
    objectives: dict[str, np.ndarray]
    margins: dict[str, np.ndarray]
    feasible: np.ndarray  # (n,) bool


class DesignSpaceLike(Protocol):
    """The subset of ``configurator.core.design.DesignSpace`` the engine relies on."""

    variables: Sequence[Any]
    xl: np.ndarray
    xu: np.ndarray
    objective_names: Sequence[str]
    senses: Sequence[int]
    constraint_names: Sequence[str]

    def evaluate(self, X: np.ndarray) -> EvaluationLike: ...

    def repair(self, X: np.ndarray) -> np.ndarray: ...

    def decode(self, x: np.ndarray) -> dict[str, Any]: ...

    def record(self, x: np.ndarray) -> Any: ...


def is_discrete(variable: Any) -> bool:
    """Whether a space variable is searched as a rounded integer index."""
    return str(getattr(variable, "kind", "real")).lower() in DISCRETE_KINDS


def search_bounds(space: DesignSpaceLike) -> tuple[np.ndarray, np.ndarray]:
    """Bounds pymoo searches in, shape ``(n_var,)`` each.

    ``space.xl/xu`` widened by just under half a grid step on both sides for every
    variable that is rounded by ``repair`` (int, choice, bool: step 1; real with a
    ``step``), so after rounding the end values are as likely as the inner ones.
    """
    xl = np.asarray(space.xl, dtype=float).copy()
    xu = np.asarray(space.xu, dtype=float).copy()
    if len(space.variables) != len(xl):  # variables and bounds disagree: trust the bounds
        return xl, xu
    half = np.zeros_like(xl)
    for j, v in enumerate(space.variables):
        step = getattr(v, "step", None)
        if is_discrete(v):
            half[j] = 0.5 * float(step or 1.0)
        elif step:
            half[j] = 0.5 * float(step)
    half *= 1.0 - 1e-9
    return xl - half, xu + half


#: ``observer(X, F, G, feasible)`` called once per evaluated batch (arrays, no copies)
Observer = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


class SpaceProblem(Problem):
    """pymoo problem over a design space; ``_evaluate`` is one vectorized call.

    ``observer`` (optional) sees every evaluated batch; the engine uses it to track the
    best feasible designs cheaply, on the arrays it already has.
    """

    def __init__(self, space: DesignSpaceLike, *, observer: Observer | None = None):
        xl, xu = search_bounds(space)
        n_var = int(xl.shape[0])
        probe = space.evaluate(np.asarray(space.repair(((xl + xu) / 2.0)[None, :]), dtype=float))
        n_obj = int(np.asarray(probe.F).reshape(1, -1).shape[1])
        n_con = int(np.asarray(probe.G).reshape(1, -1).shape[1]) if np.size(probe.G) else 0
        super().__init__(n_var=n_var, n_obj=n_obj, n_ieq_constr=n_con, xl=xl, xu=xu)
        self.space = space
        self.observer = observer

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        ev = self.space.evaluate(X)
        F = np.asarray(ev.F, dtype=float).reshape(len(X), self.n_obj)
        out["F"] = F
        if self.n_ieq_constr:
            G = np.asarray(ev.G, dtype=float).reshape(len(X), self.n_ieq_constr)
            out["G"] = G
        else:
            G = np.zeros((len(X), 0))
        if self.observer is not None:
            self.observer(X, F, G, np.asarray(ev.feasible, dtype=bool))


class SpaceRepair(Repair):
    """pymoo repair that delegates to ``space.repair`` (round, snap to step, clip)."""

    def _do(self, problem: SpaceProblem, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        return np.asarray(problem.space.repair(np.asarray(X, dtype=float)), dtype=float)


class RepairedSampling(Sampling):
    """Initial population: Latin hypercube over the search bounds, then repaired.

    pymoo's PSO does not repair its initial swarm, so the sampling does it for every
    algorithm alike.
    """

    def __init__(self, base: Sampling | None = None):
        super().__init__()
        self.base = base if base is not None else LHS()

    def _do(self, problem: SpaceProblem, n_samples: int, *args: Any, **kwargs: Any) -> np.ndarray:
        pop = self.base.do(problem, n_samples, *args, **kwargs)
        X = np.asarray(pop.get("X"), dtype=float)
        return np.asarray(problem.space.repair(X), dtype=float)
