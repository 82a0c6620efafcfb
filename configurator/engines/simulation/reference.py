"""A reference scheduler for the farm simulator: one global queue with late binding.

This is *not* a routing policy of the product (the product binds a job to a node queue
when it arrives, so the operator and the node see their plan). It is a yardstick for what
the mean flow time of a workload can be at all, used by ``configurator bench`` next to
the real policies:

* one global queue, nothing is bound to a node until the node is idle (late binding);
* when nodes are idle, waiting jobs are taken in the queue ``order`` and each goes to the
  fastest idle node that can print it (ties: lowest node id);
* ``order="spt"``: higher priority first, then the shortest *estimated* print first
  (shortest-processing-time, the classic rule for low mean flow time), then first come;
  ``order="fifo"``: higher priority first, then first come;
* no failures (compare with a simulator run whose ``SimConfig.failure_schedule`` is
  empty), full spools, exact capability from the router
  (:func:`configurator.engines.simulation.simulate.capability_matrix`);
* a print takes ``actual_s / speed`` (the dispatcher only knows the estimates).

Pure and deterministic: same workload and order → same result. Event loop over a heap of
completions and arrivals; each dispatch scans the queue once (O(queue × nodes) numpy).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from configurator.engines.simulation.simulate import check_printable
from configurator.engines.simulation.workload import Workload
from configurator.errors import FarmError

ORDERS = ("spt", "fifo")


@dataclass(frozen=True)
class ReferenceResult:
    """Outcome of :func:`global_queue_dispatch` (seconds from t = 0).

    ``finish_s[k]`` and ``node[k]`` (index into ``workload.nodes``) per job, in workload
    order; flow = finish − arrival.
    """

    order: str
    finish_s: np.ndarray
    node: np.ndarray
    mean_flow_s: float
    p95_flow_s: float
    makespan_s: float


def global_queue_dispatch(workload: Workload, *, order: str = "spt") -> ReferenceResult:
    """Run the reference scheduler (module docstring) on ``workload``.

    Raises :class:`FarmError` for an unknown ``order`` or a job no node can print.
    """
    if order not in ORDERS:
        raise FarmError(f"unknown reference order {order!r}; choose one of {', '.join(ORDERS)}")
    jobs, nodes = workload.jobs, workload.nodes
    n_jobs = len(jobs)
    cap = check_printable(workload)
    speed = np.array([n.speed for n in nodes], dtype=float)
    # fastest first, then lowest id: the preference among idle nodes
    preference = sorted(range(len(nodes)), key=lambda i: (-speed[i], nodes[i].node_id))

    def key(k: int) -> tuple:
        job = jobs[k]
        if order == "spt":
            return (-job.priority, job.work_s, job.arrival_s, k)
        return (-job.priority, job.arrival_s, k)

    events: list[tuple[float, int, int, int]] = []  # (time, kind 0 finish / 1 arrive, seq, x)
    for k, job in enumerate(jobs):
        events.append((job.arrival_s, 1, k, k))
    heapq.heapify(events)
    idle = np.ones(len(nodes), dtype=bool)
    queue: list[tuple[tuple, int]] = []  # kept sorted by key
    finish = np.zeros(n_jobs)
    where = np.full(n_jobs, -1, dtype=np.intp)
    seq = n_jobs
    while events:
        now, kind, _, x = heapq.heappop(events)
        if kind == 1:
            queue.append((key(x), x))
            queue.sort()
        else:
            idle[x] = True
        if not idle.any() or not queue:
            continue
        kept: list[tuple[tuple, int]] = []
        for entry in queue:
            k = entry[1]
            free = idle & cap[k]
            if not free.any():
                kept.append(entry)
                continue
            i = next(i for i in preference if free[i])
            idle[i] = False
            done = now + jobs[k].actual_s / speed[i]
            finish[k], where[k] = done, i
            seq += 1
            heapq.heappush(events, (done, 0, seq, i))
        queue = kept
    flows = finish - np.array([j.arrival_s for j in jobs], dtype=float)
    return ReferenceResult(
        order=order,
        finish_s=finish,
        node=where,
        mean_flow_s=float(flows.mean()) if n_jobs else 0.0,
        p95_flow_s=float(np.percentile(flows, 95)) if n_jobs else 0.0,
        makespan_s=float(finish.max()) if n_jobs else 0.0,
    )
