"""The simulated printer: a :class:`~configurator.adapters.connectors.base.PrinterConnector`
with no hardware, for demo farms, tests and benchmarks.

A job takes ``est_seconds / node_speed`` print-seconds scaled by a seeded lognormal noise
(sigma ``noise_sigma``), played back ``speed`` times faster than real time; grams used are
the job's grams × a smaller noise. With probability ``fail_rate`` the print fails at a
random point (5–95 %) with a reason. The clock is injectable (``clock``: monotonic s).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from configurator.adapters.connectors.base import (
    PrinterBusyError,
    PrinterInfo,
    PrintJob,
    PrintStatus,
)
from configurator.errors import SettingsError


@dataclass
class _Run:
    job: PrintJob
    seconds: float  # planned print-seconds at the node's speed
    grams: float
    fail_at: float | None  # fraction, or None
    started: float  # clock() when started
    paused_at: float | None = None
    paused_total: float = 0.0
    cancelled: bool = False


class SimulatedPrinter:
    """Simulated printing. ``speed``: wall-clock acceleration (1 = real time);
    ``fail_rate`` in [0, 1]; ``seed`` for the noise and failures."""

    kind = "simulated"

    def __init__(
        self,
        speed: float = 1.0,
        fail_rate: float = 0.0,
        seed: int = 0,
        noise_sigma: float = 0.1,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise SettingsError("--speed must be > 0")
        if not 0 <= fail_rate <= 1:
            raise SettingsError("--fail-rate must be between 0 and 1")
        self.speed = speed
        self.fail_rate = fail_rate
        self.seed = seed
        self.noise_sigma = noise_sigma
        self.clock = clock
        self.rng = random.Random(seed)
        self._run: _Run | None = None

    def plan(
        self, est_seconds: float, node_speed: float, grams: float
    ) -> tuple[float, float, float | None]:
        """(print seconds, grams used, failure point as a fraction or None)."""
        noise = math.exp(self.rng.gauss(0.0, self.noise_sigma))
        seconds = est_seconds / node_speed * noise
        used = grams * math.exp(self.rng.gauss(0.0, self.noise_sigma / 2))
        fail_at = self.rng.uniform(0.05, 0.95) if self.rng.random() < self.fail_rate else None
        return seconds, used, fail_at

    # -- PrinterConnector ------------------------------------------------------------
    def printer(self) -> PrinterInfo:
        run = self._run
        if run is None or run.cancelled or self._finished(run):
            return PrinterInfo("idle", details={"simulated": True, "speed": self.speed})
        state = "paused" if run.paused_at is not None else "printing"
        return PrinterInfo(state, details={"simulated": True, "speed": self.speed}, job=run.job.ref)

    def start(self, job: PrintJob) -> None:
        run = self._run
        if run is not None and not run.cancelled and not self._finished(run):
            raise PrinterBusyError(f"the simulated printer is still printing job {run.job.job_id}")
        seconds, used, fail_at = self.plan(job.est_seconds, job.node_speed, job.grams)
        self._run = _Run(job, seconds, used, fail_at, started=self.clock())

    def resume_job(self, job: PrintJob) -> bool:
        """Re-attach when this printer is running this very attempt of the job (a claim the
        agent repeated after a lost report). A simulated print lives in the agent's
        memory: after an agent restart there is nothing to re-attach to."""
        run = self._run
        return (
            run is not None
            and (run.job.job_id, run.job.attempt) == (job.job_id, job.attempt)
            and not run.cancelled
        )

    def poll(self) -> PrintStatus:
        run = self._run
        if run is None or run.cancelled:
            return PrintStatus("idle")
        done_s = self._elapsed(run) * self.speed
        stop_at = run.seconds * (run.fail_at if run.fail_at is not None else 1.0)
        if done_s >= stop_at:
            if run.fail_at is not None:
                return PrintStatus(
                    "failed",
                    percent=100.0 * run.fail_at,
                    reason=f"simulated failure at {100 * run.fail_at:.0f}%",
                )
            return PrintStatus(
                "done",
                percent=100.0,
                seconds_left=0.0,
                actual_seconds=run.seconds,
                grams_used=run.grams,
                record={"printer": "simulated"},
            )
        return PrintStatus(
            "paused" if run.paused_at is not None else "printing",
            percent=100.0 * done_s / run.seconds,
            seconds_left=max(run.seconds - done_s, 0.0) / self.speed,
        )

    def wall_seconds_left(self) -> float:
        """Wall-clock seconds until the current print ends (0 when none); lets the agent
        sleep exactly until then."""
        run = self._run
        if run is None or run.cancelled or run.paused_at is not None:
            return 0.0
        stop_at = run.seconds * (run.fail_at if run.fail_at is not None else 1.0)
        return max(stop_at / self.speed - self._elapsed(run), 0.0)

    def cancel(self) -> None:
        if self._run is not None:
            self._run.cancelled = True

    def pause(self) -> None:
        run = self._run
        if run is not None and run.paused_at is None and not run.cancelled:
            run.paused_at = self.clock()

    def resume(self) -> None:
        run = self._run
        if run is not None and run.paused_at is not None:
            run.paused_total += self.clock() - run.paused_at
            run.paused_at = None

    def close(self) -> None:
        self._run = None

    # -- internals -------------------------------------------------------------------
    def _elapsed(self, run: _Run) -> float:
        now = run.paused_at if run.paused_at is not None else self.clock()
        return now - run.started - run.paused_total

    def _finished(self, run: _Run) -> bool:
        return self.poll().phase in ("done", "failed")
