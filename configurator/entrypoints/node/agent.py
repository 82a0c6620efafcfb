"""Node agent: heartbeats, claims, downloads, prints (simulated) and reports over HTTP.

``run_agent`` is a single-threaded loop around a :class:`~configurator.adapters.farm_client.NodeClient`:

1. heartbeat ``idle`` (a simulated printer has no spool sensor: it leaves the loaded
   material to the server, which subtracts the grams each completed job used);
2. claim; on 204 wait ``poll_s`` (heartbeating when due) and try again;
3. download the job file (its size is checked against the job);
4. simulate the print: ``est_seconds / node speed`` print-seconds scaled by a seeded
   lognormal noise (sigma 0.1), played back ``speed`` times faster than real time, with a
   progress report at least every heartbeat interval; with probability ``fail_rate`` the
   print fails at a random point and ``fail`` is reported with a reason;
5. ``complete`` with the simulated print-seconds and grams used (grams × noise).

A report refused with 403/409 (job cancelled or taken away after a timeout) abandons the
job; connection trouble is retried by the client, and a loop iteration that still fails
waits and starts again, so an agent outlives server restarts.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field

from configurator.adapters.farm_client import NodeClient
from configurator.errors import ConflictError, FarmError, ForbiddenError

log = logging.getLogger("configurator.entrypoints.node.agent")


@dataclass
class AgentStats:
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    abandoned: int = 0
    errors: int = 0
    completed_ids: list[int] = field(default_factory=list)


@dataclass
class SimulatedPrinter:
    """Simulation settings: ``speed`` = wall-clock acceleration (1 = real time),
    ``fail_rate`` in [0, 1], ``seed`` for the noise and failures."""

    speed: float = 1.0
    fail_rate: float = 0.0
    seed: int = 0
    noise_sigma: float = 0.1

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise FarmError("--speed must be > 0")
        if not 0 <= self.fail_rate <= 1:
            raise FarmError("--fail-rate must be between 0 and 1")
        self.rng = random.Random(self.seed)

    def plan(
        self, est_seconds: float, node_speed: float, grams: float
    ) -> tuple[float, float, float | None]:
        """(print seconds, grams used, failure point as a fraction or None)."""
        noise = math.exp(self.rng.gauss(0.0, self.noise_sigma))
        seconds = est_seconds / node_speed * noise
        used = grams * math.exp(self.rng.gauss(0.0, self.noise_sigma / 2))
        fail_at = self.rng.uniform(0.05, 0.95) if self.rng.random() < self.fail_rate else None
        return seconds, used, fail_at


def run_agent(
    client: NodeClient,
    printer: SimulatedPrinter,
    *,
    stop: threading.Event | None = None,
    poll_s: float = 1.0,
    max_jobs: int | None = None,
    stats: AgentStats | None = None,
) -> AgentStats:
    """Run until ``stop`` is set (or ``max_jobs`` jobs were finished either way)."""
    stop = stop or threading.Event()
    stats = stats or AgentStats()
    node: dict = {}
    interval = 10.0
    last_hb = 0.0

    def beat(state: str) -> None:
        nonlocal node, interval, last_hb
        reply = client.heartbeat(state)
        node = reply["node"]
        interval = float(reply["heartbeat_interval_s"])
        last_hb = time.monotonic()

    while not stop.is_set():
        if max_jobs is not None and stats.completed + stats.failed + stats.abandoned >= max_jobs:
            break
        try:
            if not node or time.monotonic() - last_hb >= interval:
                beat("idle")
            claimed = client.claim()
            if claimed is None:
                stop.wait(min(poll_s, interval))
                continue
            stats.claimed += 1
            _print_one(client, printer, claimed, node, stats, stop, lambda: interval)
            last_hb = time.monotonic()  # progress/complete reports are signs of life too
        except (ForbiddenError, ConflictError) as exc:
            stats.abandoned += 1
            log.warning("job abandoned: %s", exc)
        except FarmError as exc:
            if stop.is_set():  # shutting down: the job stays ours on the server until it times out
                break
            stats.errors += 1
            log.warning("agent: %s; retrying", exc)
            stop.wait(min(poll_s, 1.0))
    return stats


def _print_one(
    client: NodeClient,
    printer: SimulatedPrinter,
    claimed: dict,
    node: dict,
    stats: AgentStats,
    stop: threading.Event,
    interval,
) -> None:
    job = claimed["job"]
    data = client.download(claimed["file_url"])
    if len(data) != job["file_size"]:
        client.fail(job["id"], reason=f"downloaded {len(data)} bytes, expected {job['file_size']}")
        stats.failed += 1
        return
    seconds, used, fail_at = printer.plan(
        job["est_seconds"], float(node.get("speed", 1.0)), job["grams"]
    )
    stop_at = seconds * (fail_at if fail_at is not None else 1.0)
    wall_total = stop_at / printer.speed
    t0 = time.monotonic()
    while True:
        elapsed = time.monotonic() - t0
        if elapsed >= wall_total or stop.is_set():
            break
        step = min(wall_total - elapsed, max(interval() * 0.5, 0.01))
        stop.wait(step)
        done_s = min((time.monotonic() - t0) * printer.speed, stop_at)
        if time.monotonic() - t0 < wall_total:
            client.progress(
                job["id"],
                percent=100.0 * done_s / seconds,
                seconds_left=max(seconds - done_s, 0.0) / printer.speed,
            )
    if stop.is_set():
        return  # interrupted: the server notices by heartbeat timeout or our next idle heartbeat
    if fail_at is not None:
        client.fail(job["id"], reason=f"simulated failure at {100 * fail_at:.0f}%")
        stats.failed += 1
        return
    client.complete(job["id"], actual_seconds=seconds, grams_used=used)
    stats.completed += 1
    stats.completed_ids.append(job["id"])
