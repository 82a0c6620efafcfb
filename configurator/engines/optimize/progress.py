"""Per-generation progress events, the termination that enforces budgets, and hypervolume.

:class:`ProgressEvent` is a plain pydantic model (picklable, JSON-serialisable): the CLI
draws a progress bar from it and the web run manager streams it as server-sent events.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from moocore import hypervolume as _moocore_hv
from pydantic import BaseModel, Field
from pymoo.core.callback import Callback
from pymoo.core.termination import Termination

from configurator.engines.optimize.tracking import Tracker

#: hypervolume reference point in the normalised objective space (each axis)
HV_REFERENCE = 1.1


class ProgressEvent(BaseModel):
    """State after one generation.

    ``best`` maps each objective name to the best feasible value found so far, in the
    objective's own sign and unit (for a weighted sum: the objectives of the best
    design, plus ``"weighted"`` for its score). ``hypervolume`` (several objectives only,
    every few generations and on the last) is that of the feasible front found so far,
    in the objective space normalised by the first feasible front (ideal -> 0,
    nadir -> 1), against reference point 1.1 per axis.
    """

    generation: int = Field(ge=1)
    evaluations: int = Field(ge=0)
    budget: int = Field(ge=0, description="evaluation budget of the run")
    fraction: float = Field(ge=0, le=1, description="progress towards the budget or time cap")
    n_feasible: int = Field(ge=0, description="feasible designs evaluated so far")
    best: dict[str, float] = Field(default_factory=dict)
    hypervolume: float | None = None
    elapsed_s: float = Field(ge=0)


class RunTermination(Termination):
    """Explicit termination: evaluation budget, time cap, or a stop request.

    The evaluation budget is never exceeded: the run stops when the next generation
    would not fit. ``should_stop`` is polled once per generation. ``reason`` is
    ``"evals"``, ``"time"`` or ``"cancelled"`` once terminated.
    """

    def __init__(
        self,
        *,
        evals: int,
        per_generation: int,
        time_cap_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ):
        super().__init__()
        self.evals = int(evals)
        self.per_generation = max(1, int(per_generation))
        self.time_cap_s = time_cap_s
        self.should_stop = should_stop
        self.reason: str | None = None
        self.started = time.perf_counter()

    def _update(self, algorithm) -> float:
        n_eval = algorithm.evaluator.n_eval
        if n_eval + self.per_generation > self.evals:
            self.reason = "evals"
            return 1.0
        perc = n_eval / self.evals
        if self.time_cap_s is not None:
            t = (time.perf_counter() - self.started) / self.time_cap_s
            if t >= 1.0:
                self.reason = "time"
                return 1.0
            perc = max(perc, t)
        if self.should_stop is not None and self.should_stop():
            self.reason = "cancelled"
            return 1.0
        return perc


class FrontNormaliser:
    """Fixes the hypervolume scale at the first feasible front it sees (minimization form)."""

    def __init__(self) -> None:
        self.ideal: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def hypervolume(self, F: np.ndarray) -> float | None:
        """Hypervolume of the points ``F`` (n, m); None when ``F`` is empty."""
        if len(F) == 0:
            return None
        if self.ideal is None:
            self.ideal = F.min(axis=0)
            span = F.max(axis=0) - self.ideal
            self.scale = np.where(span > 0, span, np.maximum(np.abs(self.ideal), 1.0))
        Z = (F - self.ideal) / self.scale
        return float(_moocore_hv(Z, ref=np.full(F.shape[1], HV_REFERENCE)))


class ProgressCallback(Callback):
    """Builds a :class:`ProgressEvent` per generation from the tracker and hands it on."""

    def __init__(
        self,
        *,
        tracker: Tracker,
        objective_names: list[str],
        senses: np.ndarray,
        budget: int,
        best_values: Callable[[], dict[str, float]] | None,
        on_progress: Callable[[ProgressEvent], None] | None,
        hv_every: int = 5,
    ):
        super().__init__()
        self.tracker = tracker
        self.objective_names = objective_names
        self.senses = senses
        self.budget = budget
        self.best_values = best_values
        self.on_progress = on_progress
        self.hv_every = max(1, hv_every)
        self.normaliser = FrontNormaliser()
        self.hypervolume: float | None = None
        self.generations = 0
        self.started = time.perf_counter()
        self.last_event: ProgressEvent | None = None

    def feasible_front(self, algorithm) -> np.ndarray:
        """Minimization-form F of the archived feasible front (every evaluation so far)."""
        F = self.tracker.front_F
        return F if F is not None else np.zeros((0, algorithm.problem.n_obj))

    def notify(self, algorithm) -> None:
        self.generations = algorithm.n_iter
        last = algorithm.termination.has_terminated()
        multi = algorithm.problem.n_obj > 1
        if multi and self.tracker.n_feasible and (last or algorithm.n_iter % self.hv_every == 1):
            self.hypervolume = self.normaliser.hypervolume(self.feasible_front(algorithm))
        if self.on_progress is None:
            return
        self.last_event = event = ProgressEvent.model_construct(
            generation=algorithm.n_iter,
            evaluations=self.tracker.n_eval,
            budget=self.budget,
            fraction=float(min(1.0, algorithm.termination.perc)),
            n_feasible=self.tracker.n_feasible,
            best=self._best(),
            hypervolume=self.hypervolume if multi else None,
            elapsed_s=time.perf_counter() - self.started,
        )
        self.on_progress(event)

    def _best(self) -> dict[str, float]:
        if self.tracker.best_F is None:
            return {}
        if self.best_values is not None:
            return self.best_values()
        return {
            name: float(f * s)
            for name, f, s in zip(
                self.objective_names, self.tracker.best_F, self.senses, strict=False
            )
        }
