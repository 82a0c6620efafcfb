"""Farm simulator engine: hand-computed schedules, job conservation, determinism."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.engines.simulation.simulate import POLICY_NAMES, SimConfig, simulate
from configurator.engines.simulation.workload import JobSpec, NodeSpec, Workload, make_workload
from configurator.errors import FarmError

BED = (250.0, 210.0, 220.0)


def _tiny(failure_rate: float = 0.0) -> Workload:
    """Two PLA printers (speed 1 and 2) and three jobs, estimates exact."""
    nodes = (
        NodeSpec("a", "mk4", "FDM", ("PLA",), 1.0, BED),
        NodeSpec("b", "corexy", "FDM", ("PLA",), 2.0, BED),
    )

    def job(jid: str, arrival: float, work: float) -> JobSpec:
        return JobSpec(jid, arrival, "PLA", "FDM", work, 10.0, (50.0, 50.0, 20.0), 0, 1000.0)

    jobs = (job("j1", 0.0, 100.0), job("j2", 10.0, 100.0), job("j3", 20.0, 60.0))
    return Workload(1, nodes, jobs, failure_rate, 7200.0, 0.9, "hand-made")


def _by_id(result):
    return {o.job_id: o for o in result.outcomes}


def test_least_loaded_matches_hand_computed_schedule():
    # j1 @0: finish a=100, b=50 -> b [0, 50]
    # j2 @10: a=110, b=10+40+50=100 -> b, queued, [50, 100]
    # j3 @20: a=80, b=20+(30+50)+30=130 -> a [20, 80]
    res = simulate(_tiny(), policy="least-loaded")
    got = {k: (o.node_id, o.finish_s) for k, o in _by_id(res).items()}
    assert got == {"j1": ("b", 50.0), "j2": ("b", 100.0), "j3": ("a", 80.0)}
    rep = res.report
    assert rep.makespan_s == 100.0
    assert rep.mean_flow_s == pytest.approx((50 + 90 + 60) / 3)
    # lower bound: class = 0 + 260 / 3; jobs: max(0+50, 10+50, 20+30) = 60
    assert rep.lower_bound.value == pytest.approx(260 / 3)
    assert rep.lower_bound.job_bound == pytest.approx(60.0)
    assert rep.lower_bound.binding == "class PLA/FDM"
    util = {n.node_id: n.utilisation for n in rep.per_node}
    assert util == pytest.approx({"a": 0.6, "b": 1.0})
    assert rep.reroutes == rep.rebalance_moves == rep.failures == 0


def test_round_robin_and_rebalance_match_hand_computed_schedule():
    # round-robin: j1 -> a [0, 100], j2 -> b [10, 60], j3 -> a (queued behind j1).
    # No rebalance: j3 runs on a [100, 160].
    plain = simulate(_tiny(), policy="round-robin", config=SimConfig(rebalance=False))
    got = {k: (o.node_id, o.finish_s) for k, o in _by_id(plain).items()}
    assert got == {"j1": ("a", 100.0), "j2": ("b", 60.0), "j3": ("a", 160.0)}
    # With rebalance: at 60 b is free; j3 would end at 60+30=90 on b instead of 160 on a
    # (gain 70 s > 60 s margin), so it moves.
    moved = simulate(_tiny(), policy="round-robin", config=SimConfig(rebalance_margin_s=60))
    got = {k: (o.node_id, o.finish_s) for k, o in _by_id(moved).items()}
    assert got == {"j1": ("a", 100.0), "j2": ("b", 60.0), "j3": ("b", 90.0)}
    assert moved.report.rebalance_moves == 1
    # a margin above the gain keeps it where it is
    kept = simulate(_tiny(), policy="round-robin", config=SimConfig(rebalance_margin_s=80))
    assert _by_id(kept)["j3"].finish_s == 160.0


def test_failure_recovery_matches_hand_computed_schedule():
    # b fails at 30 while printing j1 (would end at 50); the watchdog sees it at
    # 30 + 30 + 1 = 61: j1 (attempt 1) and j2 (queued) are rerouted to a, which is busy
    # with j3 until 80; then j1 [80, 180], j2 [180, 280]. b is repaired at 200.
    cfg = SimConfig(failure_schedule=(("b", 30.0, 200.0),))
    res = simulate(_tiny(), policy="least-loaded", config=cfg)
    out = _by_id(res)
    assert {k: (o.node_id, o.finish_s) for k, o in out.items()} == {
        "j1": ("a", 180.0),
        "j2": ("a", 280.0),
        "j3": ("a", 80.0),
    }
    assert (out["j1"].attempts, out["j1"].reroutes) == (1, 1)
    assert (out["j2"].attempts, out["j2"].reroutes) == (0, 1)
    rep = res.report
    assert (rep.failures, rep.reroutes, rep.makespan_s) == (1, 2, 280.0)
    kinds = {(iv.node_id, iv.kind, iv.start_s, iv.end_s) for iv in res.intervals}
    assert ("b", "lost", 0.0, 30.0) in kinds and ("b", "down", 30.0, 200.0) in kinds


def test_dead_letter_after_max_attempts():
    cfg = SimConfig(failure_schedule=(("b", 30.0, 200.0),), max_attempts=1)
    res = simulate(_tiny(), policy="least-loaded", config=cfg)
    out = _by_id(res)
    assert out["j1"].state == "dead" and out["j1"].finish_s == 61.0
    assert (out["j2"].node_id, out["j2"].finish_s) == ("a", 180.0)
    assert res.report.dead_lettered == 1 and res.report.deadline_misses == 1


def test_bad_failure_schedule_is_refused():
    with pytest.raises(FarmError, match="watchdog"):
        simulate(
            _tiny(), policy="least-loaded", config=SimConfig(failure_schedule=(("b", 30.0, 40.0),))
        )
    with pytest.raises(FarmError, match="unknown node"):
        simulate(
            _tiny(), policy="least-loaded", config=SimConfig(failure_schedule=(("z", 1.0, 90.0),))
        )
    with pytest.raises(FarmError, match="unknown policy"):
        simulate(_tiny(), policy="fastest")


def _check_conservation(wl: Workload, res) -> None:
    assert len(res.outcomes) == len(wl.jobs)
    assert {o.state for o in res.outcomes} <= {"done", "dead"}
    rep = res.report
    assert rep.done + rep.dead_lettered == len(wl.jobs)
    specs = {j.job_id: j for j in wl.jobs}
    speed = {n.node_id: n.speed for n in wl.nodes}
    prints = [iv for iv in res.intervals if iv.kind == "print"]
    # every done job printed exactly once, after it arrived, for actual_s / speed
    assert sorted(iv.job_id for iv in prints) == sorted(
        o.job_id for o in res.outcomes if o.state == "done"
    )
    for iv in prints:
        job = specs[iv.job_id]
        assert iv.start_s >= job.arrival_s - 1e-9
        assert iv.end_s - iv.start_s == pytest.approx(job.actual_s / speed[iv.node_id])
    # a node never prints two jobs at once, and never while down
    for node in wl.nodes:
        spans = sorted((iv.start_s, iv.end_s) for iv in res.intervals if iv.node_id == node.node_id)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end - 1e-6
    if rep.dead_lettered == 0:  # the bound assumes all work gets printed
        assert rep.makespan_s >= rep.lower_bound.value * (1 - 1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nodes=st.integers(1, 6),
    jobs=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    failures=st.sampled_from([0.0, 0.05, 0.3]),
    policy=st.sampled_from(POLICY_NAMES),
    rebalance=st.booleans(),
)
def test_jobs_are_conserved_and_schedules_are_physical(
    nodes, jobs, seed, failures, policy, rebalance
):
    wl = make_workload(n_nodes=nodes, n_jobs=jobs, seed=seed, failure_rate=failures)
    res = simulate(wl, policy=policy, config=SimConfig(rebalance=rebalance, max_attempts=2))
    _check_conservation(wl, res)


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_deterministic_per_seed(policy):
    wl = make_workload(n_nodes=6, n_jobs=120, seed=7, failure_rate=0.1)
    a = simulate(wl, policy=policy)
    b = simulate(make_workload(n_nodes=6, n_jobs=120, seed=7, failure_rate=0.1), policy=policy)
    assert a.report.as_dict() == b.report.as_dict()
    assert a.outcomes == b.outcomes and a.intervals == b.intervals and a.timeline == b.timeline
    other = simulate(make_workload(n_nodes=6, n_jobs=120, seed=8, failure_rate=0.1), policy=policy)
    assert other.report.as_dict() != a.report.as_dict()


def test_failures_are_the_same_whatever_the_policy():
    wl = make_workload(n_nodes=8, n_jobs=150, seed=3, failure_rate=0.1)
    runs = [simulate(wl, policy=p) for p in POLICY_NAMES]
    horizon = min(r.report.makespan_s for r in runs)

    def fail_times(res):
        return sorted(
            (iv.node_id, iv.start_s)
            for iv in res.intervals
            if iv.kind == "down" and iv.start_s < horizon
        )

    first = fail_times(runs[0])
    assert first, "expected failures at a 10% failure rate"
    for r in runs[1:]:
        assert fail_times(r) == first


def test_standard_sized_run_conserves_jobs():
    wl = make_workload(n_nodes=20, n_jobs=1000, seed=1, failure_rate=0.05)
    res = simulate(wl, policy="least-loaded")
    _check_conservation(wl, res)
    assert math.isfinite(res.report.makespan_ratio) and res.report.makespan_ratio >= 1.0
