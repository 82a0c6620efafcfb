"""Node failure plans of a simulation (engine: seeded, no I/O).

Per node, an iterator of ``(fail_s, repair_s)``: an explicit schedule
(``SimConfig.failure_schedule``, checked here), or up-times ~ Exp(MTBF) and repairs ~
watchdog delay + Exp(MTTR - delay) drawn from the node's own stream
(:func:`configurator.engines.simulation.workload.failure_streams`), so a node fails at the
same instants whatever the policy. MTBF = MTTR (1 - rate) / rate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from configurator.engines.simulation.workload import Workload, failure_streams
from configurator.errors import FarmError


def failure_plans(
    workload: Workload,
    node_index: Mapping[str, int],
    *,
    detect_s: float,
    schedule: Sequence[tuple[str, float, float]] | None,
) -> list[Iterator[tuple[float, float]]]:
    """One ``(fail_s, repair_s)`` iterator per node (``node_index``: id -> position);
    ``detect_s``: heartbeat timeout + watchdog lag (a repair must come after it)."""
    n = len(node_index)
    if schedule is not None:
        per: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        for node_id, fail_s, repair_s in sorted(schedule, key=lambda f: f[1]):
            if node_id not in node_index:
                raise FarmError(f"failure schedule names unknown node {node_id!r}")
            if repair_s <= fail_s + detect_s:
                raise FarmError(
                    f"failure of {node_id} at {fail_s} s: repair must come after the "
                    f"watchdog sees it ({fail_s + detect_s} s)"
                )
            per[node_index[node_id]].append((fail_s, repair_s))
        for plan in per:
            for (_, rep), (nxt, _) in zip(plan, plan[1:], strict=False):
                if nxt < rep:
                    raise FarmError("failure schedule: a node fails again before its repair")
        return [iter(plan) for plan in per]
    rate = workload.failure_rate
    if rate <= 0:
        return [iter(()) for _ in range(n)]
    mtbf = workload.mttr_s * (1.0 - rate) / rate
    mean_fix = max(workload.mttr_s - detect_s, 1.0)

    def seeded(rng: np.random.Generator) -> Iterator[tuple[float, float]]:
        t = 0.0
        while True:
            fail = t + rng.exponential(mtbf)
            t = fail + detect_s + rng.exponential(mean_fix)
            yield fail, t

    return [seeded(rng) for rng in failure_streams(workload.seed, n)]
