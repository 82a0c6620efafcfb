"""Simulator with plate changes, staffed hours and batching: hand-computed schedules,
conservation, the extended bound, and the exact regression to the farm without them."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.adapters.workload_data import load_job_sizes
from configurator.core.farm.plates import PlateRules
from configurator.engines.simulation.farm_model import FarmModel
from configurator.engines.simulation.simulate import POLICY_NAMES, SimConfig, simulate
from configurator.engines.simulation.workload import JobSpec, NodeSpec, Workload, make_workload

BED = (250.0, 210.0, 220.0)
H = 3600.0


def _one_node(jobs) -> Workload:
    nodes = (NodeSpec("a", "mk4", "FDM", ("PLA",), 1.0, BED),)
    return Workload(1, nodes, tuple(jobs), 0.0, 7200.0, 0.9, "hand-made")


def _job(jid, arrival, work, *, prio=0, deadline=1e9, box=(40.0, 40.0, 10.0)):
    return JobSpec(jid, arrival, "PLA", "FDM", work, 10.0, box, prio, deadline)


def _model(**kw) -> FarmModel:
    base = dict(setup_s={"FDM": 300.0}, calendar="Mon-Fri 07:00-23:00")
    base.update(kw)
    return FarmModel(**base)


def _finish(res):
    return {o.job_id: o.finish_s for o in res.outcomes}


def test_a_build_finished_at_night_blocks_until_the_morning_shift():
    # t = 0 is Monday 00:00 (UTC). a prints [0, 1 h] unattended; its plate is cleared by
    # the first operator: 07:00 + 300 s setup; b (arrived at 0.5 h) starts then.
    wl = _one_node([_job("a", 0.0, H), _job("b", 1800.0, H)])
    res = simulate(wl, policy="least-loaded", config=SimConfig(model=_model()))
    assert _finish(res) == {"a": H, "b": 7 * H + 300 + H}
    rep = res.report
    assert (rep.builds, rep.operator_actions, rep.setups_per_job) == (2, 2, 1.0)
    setup = [iv for iv in res.intervals if iv.kind == "setup"]
    assert (setup[0].start_s, setup[0].end_s) == (H, 7 * H + 300)
    # around the clock, b waits only for the plate change
    always = simulate(wl, policy="least-loaded", config=SimConfig(model=_model(calendar="always")))
    assert _finish(always) == {"a": H, "b": H + 300 + H}


def test_auto_clear_node_needs_no_operator():
    wl = _one_node([_job("a", 0.0, H), _job("b", 1800.0, H)])
    model = _model(auto_clear_models=("mk4",))
    res = simulate(wl, policy="least-loaded", config=SimConfig(model=model))
    assert _finish(res) == {"a": H, "b": 2 * H + 300}
    assert res.report.operator_actions == 0


def test_small_jobs_share_one_plate_after_a_bounded_wait():
    # Monday 08:00 (staffed): a arrives, b one minute later; the plate of a is small, so it
    # waits up to 900 s for more parts; then a and b print as one build of 1200 s.
    t0 = 8 * H
    wl = _one_node([_job("a", t0, 600.0), _job("b", t0 + 60, 600.0)])
    rules = PlateRules(batching=True, wait_s=900.0, plate_s=3600.0)
    res = simulate(wl, policy="least-loaded", config=SimConfig(model=_model(plates=rules)))
    assert _finish(res) == {"a": t0 + 900 + 1200, "b": t0 + 900 + 1200}
    assert (res.report.builds, res.report.batched_jobs, res.report.setups_per_job) == (1, 2, 0.5)


def test_rush_job_is_not_held_and_not_batched_with_normal_work():
    t0 = 8 * H
    wl = _one_node([_job("r", t0, 600.0, prio=2), _job("n", t0 + 60, 600.0)])
    rules = PlateRules(batching=True, wait_s=900.0, plate_s=3600.0)
    res = simulate(wl, policy="least-loaded", config=SimConfig(model=_model(plates=rules)))
    got = _finish(res)
    assert got["r"] == t0 + 600  # started at once
    assert got["n"] == t0 + 60 + 900 + 600  # its own plate, after its bounded wait
    assert res.report.batched_jobs == 0


def test_batching_never_pushes_a_job_past_its_deadline():
    t0 = 8 * H
    wl = _one_node([_job("a", t0, 600.0, deadline=t0 + 700), _job("b", t0, 600.0)])
    rules = PlateRules(batching=True, wait_s=900.0, plate_s=3600.0)
    res = simulate(wl, policy="least-loaded", config=SimConfig(model=_model(plates=rules)))
    got = _finish(res)
    # a may wait for parts only until its latest start (t0 + 100 s); b cannot join it
    assert got["a"] == t0 + 700 and got["b"] == t0 + 700 + 300 + 600
    assert res.report.deadline_misses == 0 and res.report.batched_jobs == 0


# ref: the figures of SimConfig() without plate changes, seed 1, job sizes from the committed
# FDM data set (adapters/data/slicer_dataset.csv: a new data set moves them)
TODAY = {
    "least-loaded": [335727.009, 10959.535, 32392.074, 0, 87, 319, 50],
    "first-idle": [307692.746, 10635.299, 31089.997, 2, 77, 414, 45],
}
KEYS = (
    "makespan_s",
    "mean_flow_s",
    "p95_flow_s",
    "deadline_misses",
    "reroutes",
    "rebalance_moves",
    "failures",
)


@pytest.mark.parametrize("policy", sorted(TODAY))
def test_setup_and_calendar_off_reproduce_todays_figures_exactly(policy):
    wl = make_workload(n_nodes=20, n_jobs=1000, seed=1, failure_rate=0.05, sizes=load_job_sizes())
    off = FarmModel.standard(setup_scale=0.0, calendar="always", batching=False)
    for model in (FarmModel.off(), off):
        rep = simulate(wl, policy=policy, config=SimConfig(model=model)).report.as_dict()
        assert [rep[k] for k in KEYS] == TODAY[policy]


def _check(wl: Workload, res) -> None:
    rep = res.report
    assert rep.done + rep.dead_lettered == len(wl.jobs)
    specs = {j.job_id: j for j in wl.jobs}
    speed = {n.node_id: n.speed for n in wl.nodes}
    prints = [iv for iv in res.intervals if iv.kind == "print"]
    assert sorted(iv.job_id for iv in prints) == sorted(
        o.job_id for o in res.outcomes if o.state == "done"
    )
    builds = defaultdict(list)
    for iv in prints:
        assert iv.start_s >= specs[iv.job_id].arrival_s - 1e-9
        builds[(iv.node_id, iv.start_s, iv.end_s)].append(specs[iv.job_id])
    assert len(builds) == rep.builds
    for (node, start, end), jobs in builds.items():  # a plate takes the sum of its parts
        assert end - start == pytest.approx(sum(j.actual_s for j in jobs) / speed[node])
        assert len({(j.material, j.priority) for j in jobs}) == 1
    for node in wl.nodes:  # distinct builds and plate changes never overlap on a node
        spans = sorted(
            {
                (iv.start_s, iv.end_s)
                for iv in res.intervals
                if iv.node_id == node.node_id and iv.kind in ("print", "setup")
            }
        )
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end - 1e-6
    if rep.dead_lettered == 0:
        assert rep.makespan_s >= rep.lower_bound.value * (1 - 1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nodes=st.integers(1, 5),
    jobs=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    failures=st.sampled_from([0.0, 0.1]),
    policy=st.sampled_from(POLICY_NAMES),
    batching=st.booleans(),
    calendar=st.sampled_from(["always", "Mon-Fri 07:00-23:00", "daily 22:00-06:00"]),
)
def test_conservation_and_bound_with_plates(
    nodes, jobs, seed, failures, policy, batching, calendar
):
    wl = make_workload(n_nodes=nodes, n_jobs=jobs, seed=seed, failure_rate=failures)
    model = FarmModel.standard(calendar=calendar, batching=batching)
    res = simulate(wl, policy=policy, config=SimConfig(model=model, max_attempts=2))
    _check(wl, res)


def test_same_seed_same_run_with_plates():
    wl = make_workload(n_nodes=6, n_jobs=150, seed=5, failure_rate=0.05)
    cfg = SimConfig(model=FarmModel.standard())
    a, b = (
        simulate(wl, policy="least-loaded", config=cfg),
        simulate(wl, policy="least-loaded", config=cfg),
    )
    assert a.report.as_dict() == b.report.as_dict() and a.intervals == b.intervals
