"""The optimization engine: seeded, budgeted, cancellable pymoo runs over a design space.

Public API (this package)::

    result = run_optimization(space, algorithm="nsga2", evals=5000, seed=0, top=10,
                              time_cap_s=60, on_progress=print, should_stop=lambda: False)
    # -> OptimizationResult; progress as ProgressEvent

Modules: ``problem`` (vectorized pymoo problem, repair, sampling), ``algorithms`` (ga, pso,
nsga2 and their defaults), ``progress`` (events, termination, hypervolume), ``tracking``
(per-batch bookkeeping), ``selection`` (best distinct / thinned front),
``infeasibility`` (the structured report), ``results`` (result models), ``run`` (the
engine), ``dask_runner`` (one run per Dask task).
"""

from configurator.engines.optimize.algorithms import ALGORITHM_NAMES, ALGORITHMS, AlgorithmSpec
from configurator.engines.optimize.infeasibility import (
    ConstraintViolation,
    InfeasibilityReport,
    RequirementChange,
    RequirementSpec,
)
from configurator.engines.optimize.progress import ProgressEvent
from configurator.engines.optimize.results import OptimizationResult, RunStats
from configurator.engines.optimize.run import RequirementProbe, run_optimization

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "AlgorithmSpec",
    "ConstraintViolation",
    "InfeasibilityReport",
    "OptimizationResult",
    "ProgressEvent",
    "RequirementChange",
    "RequirementProbe",
    "RequirementSpec",
    "RunStats",
    "run_optimization",
]
