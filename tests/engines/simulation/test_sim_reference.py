"""Reference scheduler (one global queue, late binding): hand-computed schedules."""

from __future__ import annotations

import numpy as np
import pytest

from configurator.engines.simulation.reference import global_queue_dispatch
from configurator.engines.simulation.simulate import SimConfig, simulate
from configurator.engines.simulation.workload import JobSpec, NodeSpec, Workload, make_workload
from configurator.errors import FarmError

BED = (250.0, 210.0, 220.0)


def _job(jid: str, arrival: float, work: float, *, priority: int = 0, material: str = "PLA"):
    return JobSpec(jid, arrival, material, "FDM", work, 10.0, (50.0, 50.0, 20.0), priority, 1e9)


def _workload(nodes, jobs) -> Workload:
    return Workload(1, tuple(nodes), tuple(jobs), 0.0, 7200.0, 0.9, "hand-made")


NODES = (
    NodeSpec("a", "mk4", "FDM", ("PLA",), 1.0, BED),
    NodeSpec("b", "corexy", "FDM", ("PLA",), 2.0, BED),
)


def test_spt_and_fifo_match_hand_computed_schedules():
    # j1 @0 (200 s of work) starts on the fast node b: [0, 100].
    # j2 @1 (100) takes a (idle): [1, 101]. j3 @2 (300) and j4 @3 (20) wait.
    # At 100 b frees: SPT takes j4 -> [100, 110]; then at 101 a frees -> j3 [101, 401];
    #   at 110 b is idle with nothing left.
    # FIFO takes j3 at 100 on b -> [100, 250]; a frees at 101 -> j4 [101, 121].
    jobs = [_job("j1", 0, 200), _job("j2", 1, 100), _job("j3", 2, 300), _job("j4", 3, 20)]
    wl = _workload(NODES, jobs)
    spt = global_queue_dispatch(wl, order="spt")
    assert spt.finish_s.tolist() == [100.0, 101.0, 401.0, 110.0]
    assert spt.node.tolist() == [1, 0, 0, 1]
    assert spt.mean_flow_s == pytest.approx((100 + 100 + 399 + 107) / 4)
    assert spt.makespan_s == 401.0
    fifo = global_queue_dispatch(wl, order="fifo")
    assert fifo.finish_s.tolist() == [100.0, 101.0, 250.0, 121.0]
    assert fifo.node.tolist() == [1, 0, 1, 0]


def test_priority_first_and_capability_respected():
    # b prints only PETG: the PLA jobs wait for a even though b is idle; the priority-2
    # job goes before the earlier priority-0 one.
    nodes = (
        NodeSpec("a", "mk4", "FDM", ("PLA",), 1.0, BED),
        NodeSpec("b", "corexy", "FDM", ("PETG",), 2.0, BED),
    )
    jobs = [_job("j1", 0, 50), _job("j2", 1, 10), _job("j3", 2, 30, priority=2)]
    res = global_queue_dispatch(_workload(nodes, jobs), order="spt")
    assert res.node.tolist() == [0, 0, 0]
    assert res.finish_s.tolist() == [50.0, 90.0, 80.0]


def test_deterministic_and_conserving_on_the_standard_generator():
    wl = make_workload(n_nodes=6, n_jobs=150, seed=3, failure_rate=0.0)
    a = global_queue_dispatch(wl, order="spt")
    b = global_queue_dispatch(wl, order="spt")
    assert np.array_equal(a.finish_s, b.finish_s) and np.array_equal(a.node, b.node)
    arrivals = np.array([j.arrival_s for j in wl.jobs])
    work = np.array([j.actual_s for j in wl.jobs])
    speed = np.array([n.speed for n in wl.nodes])[a.node]
    assert (a.node >= 0).all()
    assert (a.finish_s - work / speed >= arrivals - 1e-6).all()  # never starts early
    # no node prints two jobs at once
    for i in range(len(wl.nodes)):
        mine = np.flatnonzero(a.node == i)
        spans = sorted(
            zip(a.finish_s[mine] - work[mine] / speed[mine], a.finish_s[mine], strict=True)
        )
        assert all(s2 >= e1 - 1e-6 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False))
    # the same workload in the simulator with failures off: both schedules are valid, so
    # neither can beat the makespan bound
    sim = simulate(wl, policy="least-loaded", config=SimConfig(failure_schedule=()))
    assert a.makespan_s >= sim.report.lower_bound.value - 1e-6


def test_unknown_order_and_unprintable_job_are_refused():
    wl = _workload(NODES, [_job("j1", 0, 10)])
    with pytest.raises(FarmError, match="unknown reference order"):
        global_queue_dispatch(wl, order="lpt")
    with pytest.raises(FarmError, match="fits no node"):
        global_queue_dispatch(_workload(NODES, [_job("j1", 0, 10, material="ABS")]))
