"""Router and recovery rules: hand-checked cases (pure, no I/O)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configurator.core.farm import recovery
from configurator.core.farm.models import JobSnapshot, JobState, NodeSnapshot, NodeState, Technology
from configurator.core.farm.router import (
    POLICIES,
    FarmState,
    footprint_fits,
    make_policy,
    rebalance,
    reroute,
    route,
    schedule,
)
from configurator.errors import FarmError

FDM, SLA = Technology.FDM, Technology.SLA


def node(
    nid,
    *,
    tech=FDM,
    bv=(200, 200, 200),
    mats=None,
    speed=1.0,
    state=NodeState.IDLE,
    busy=0.0,
    hb=None,
):
    return NodeSnapshot(
        nid, tech, bv, mats if mats is not None else {"PLA": 1000.0}, speed, state, busy, hb
    )


def job(
    jid,
    *,
    est=600.0,
    grams=10.0,
    material="PLA",
    tech=FDM,
    bbox=(50, 50, 50),
    prio=0,
    deadline=None,
    seq=None,
    state=JobState.QUEUED,
    node_id=None,
    attempts=0,
):
    seq = int(jid[1:]) if seq is None else seq
    return JobSnapshot(
        jid, tech, material, bbox, est, grams, prio, deadline, seq, state, node_id, attempts
    )


# -- capability --------------------------------------------------------------------------
def test_capability_technology_material_grams_height():
    s = FarmState(
        [
            node("a"),
            node("b", tech=SLA, mats={"PLA": 1000.0}),
            node("c", mats={"PETG": 1000.0}),
            node("d", mats={"PLA": 5.0}),
            node("e", bv=(200, 200, 40)),
            node("f", state=NodeState.DRAINING),
            node("g", state=NodeState.OFFLINE),
            node("h", state=NodeState.PRINTING),
        ]
    )
    mask = s.capable(job("j1", grams=10.0, bbox=(50, 50, 50)))
    assert dict(zip(s.node_ids, mask.tolist(), strict=True)) == {
        "a": True, "b": False, "c": False, "d": False, "e": False, "f": False, "g": False, "h": True,
    }  # fmt: skip


def test_capability_counts_material_reserved_by_the_queue():
    s = FarmState([node("a", mats={"PLA": 25.0})])
    pol = make_policy("least-loaded")
    assert route(s, job("j1", grams=10.0), pol, now=0).node_id == "a"
    assert route(s, job("j2", grams=10.0), pol, now=0).node_id == "a"
    third = route(s, job("j3", grams=10.0), pol, now=0)  # 25 - 20 = 5 g left < 10 g
    assert third.node_id is None and third.reason == "no capable node"


def test_unknown_material_is_capable_nowhere():
    s = FarmState([node("a")])
    assert not s.capable(job("j1", material="UNOBTAINIUM")).any()


def test_footprint_rotated_90_degrees_fits():
    # 300 x 100 part on a 100 x 300 bed fits only when turned by 90 degrees
    assert footprint_fits(300, 100, np.array([100.0]), np.array([300.0]))[0]
    assert not footprint_fits(300, 100, np.array([100.0]), np.array([299.0]))[0]


def test_footprint_diagonal_placement():
    bed = np.array([190.0])
    # at 45 degrees a p x q part spans (p + q) / sqrt(2) each way: 200 x 60 -> 183.8 mm fits
    assert (200 + 60) / math.sqrt(2) < 190 and footprint_fits(200, 60, bed, bed)[0]
    # 200 x 80 spans 198 mm at 45 degrees (the best angle on a square bed): does not fit
    assert (200 + 80) / math.sqrt(2) > 190 and not footprint_fits(200, 80, bed, bed)[0]
    # too wide to fit at any angle
    assert not footprint_fits(300, 191, np.array([400.0]), np.array([190.0]))[0]


def _brute_fits(p, q, a, b, n=20001):
    th = np.linspace(0, np.pi / 2, n)
    w = p * np.cos(th) + q * np.sin(th)
    h = p * np.sin(th) + q * np.cos(th)
    return bool(((w <= a) & (h <= b)).any())


@settings(max_examples=200, deadline=None)
@given(p=st.floats(1, 400), q=st.floats(1, 400), a=st.floats(1, 400), b=st.floats(1, 400))
def test_footprint_matches_brute_force_angle_search(p, q, a, b):
    exact = bool(footprint_fits(p, q, np.array([a]), np.array([b]))[0])
    if exact:  # a slightly larger bed must admit it at some sampled angle
        assert _brute_fits(p, q, a * 1.002 + 0.01, b * 1.002 + 0.01)
    else:  # a slightly smaller part must not fit at any sampled angle
        assert not _brute_fits(p * 1.002 + 0.01, q * 1.002 + 0.01, a, b)


# -- earliest finish -----------------------------------------------------------------------
def test_least_loaded_is_earliest_finish_with_speed_and_busy_time():
    # a: idle, speed 1 -> 300 s. b: busy 100 s, speed 2 -> 100 + 150 = 250 s. c: speed 4 but
    # busy 400 s -> 475 s.
    s = FarmState(
        [node("a"), node("b", speed=2.0, busy=100.0), node("c", speed=4.0, busy=400.0)], now=1000
    )
    a = route(s, job("j1", est=300.0), make_policy("least-loaded"), now=1000)
    assert a.node_id == "b" and a.finish_at == pytest.approx(1250.0)
    # b's load is now 250 s; the next 300 s job: a 300, b 250 + 150 = 400, c 475 -> a
    assert route(s, job("j2", est=300.0), make_policy("least-loaded"), now=1000).node_id == "a"
    assert s.load.tolist() == pytest.approx([300.0, 250.0, 400.0])


def test_tie_break_is_lowest_node_id_whatever_the_input_order():
    s = FarmState([node("z"), node("m"), node("b")])
    assert route(s, job("j1"), make_policy("least-loaded"), now=0).node_id == "b"
    assert route(s, job("j2"), make_policy("least-loaded"), now=0).node_id == "m"


def test_first_idle_ignores_speed_round_robin_cycles_random_is_seeded():
    nodes = [node("a", busy=10.0, speed=10.0), node("b", busy=5.0), node("c", tech=SLA)]
    s = FarmState(nodes)
    # first-idle: b is free first (5 s) although a (speed 10) would finish far earlier
    assert route(s, job("j1", est=1000.0), make_policy("first-idle"), now=0).node_id == "b"
    assert (
        route(FarmState(nodes), job("j1", est=1000.0), make_policy("least-loaded"), now=0).node_id
        == "a"
    )
    rr = make_policy("round-robin")
    s = FarmState(nodes)
    assert [route(s, job(f"j{i}"), rr, now=0).node_id for i in range(5)] == [
        "a",
        "b",
        "a",
        "b",
        "a",
    ]
    picks = []
    for _ in range(2):
        s, pol = FarmState([node(f"n{i}") for i in range(10)]), make_policy("random", seed=7)
        picks.append([route(s, job(f"j{i}"), pol, now=0).node_id for i in range(20)])
    assert picks[0] == picks[1] and len(set(picks[0])) > 3


def test_policy_registry_refuses_unknown_names():
    assert set(POLICIES) == {"least-loaded", "round-robin", "first-idle", "random"}
    with pytest.raises(FarmError, match="unknown routing policy"):
        make_policy("fastest")


# -- queue order and deadlines --------------------------------------------------------------
def test_queue_order_priority_then_deadline_then_first_come():
    n = node("a", busy=50.0)
    jobs = [
        job("j1", state=JobState.ASSIGNED, node_id="a", est=100),
        job("j2", state=JobState.ASSIGNED, node_id="a", est=100, deadline=500.0),
        job("j3", state=JobState.ASSIGNED, node_id="a", est=100, prio=5),
        job("j4", state=JobState.ASSIGNED, node_id="a", est=100, deadline=300.0),
        job("j5", state=JobState.PRINTING, node_id="a", est=100),
        job("j6", state=JobState.ASSIGNED, node_id="a", est=100),
    ]
    plan = schedule(n, jobs, now=0)
    assert [e.job_id for e in plan] == ["j5", "j3", "j4", "j2", "j1", "j6"]
    assert [e.finish for e in plan] == [50, 150, 250, 350, 450, 550]


def test_unmeetable_deadline_is_routed_and_flagged():
    s = FarmState([node("a"), node("b", speed=2.0)])
    a = route(s, job("j1", est=600.0, deadline=100.0), make_policy("least-loaded"), now=0)
    assert a.node_id == "b" and a.late and "deadline" in a.reason
    ok = route(s, job("j2", est=600.0, deadline=700.0), make_policy("least-loaded"), now=0)
    assert ok.node_id == "a" and not ok.late


# -- rebalance -------------------------------------------------------------------------------
def _loaded_farm():
    jobs = [job(f"j{i}", state=JobState.ASSIGNED, node_id="a", est=600.0) for i in (1, 2, 3)]
    s = FarmState([node("a"), node("b")])
    s.set_accepting("b", False)  # b joined late: nothing routed to it so far
    s.add_jobs(jobs)
    s.set_accepting("b", True)
    return s, jobs


def test_rebalance_moves_tail_job_when_it_gains_the_margin():
    s, jobs = _loaded_farm()  # a: 1800 s queued, b: empty
    moves = rebalance(s, jobs, now=0, margin_s=60, targets=["b"])
    # j3 (last come) moves: 600 on b vs 1800 on a. Then a ends at 1200 and the next
    # candidate would finish at 1200 on b: no gain beyond the margin, so it stays.
    assert [(m.job_id, m.from_node, m.to_node, m.before, m.after) for m in moves] == [
        ("j3", "a", "b", 1800.0, 600.0)
    ]
    assert s.load.tolist() == [1200.0, 600.0]
    # no ping-pong: rebalancing again (any target) moves nothing
    moved = {m.job_id: m.to_node for m in moves}
    again = [
        JobSnapshot(
            **{**{f: getattr(j, f) for f in j.__slots__}, "node_id": moved.get(j.id, j.node_id)}
        )
        for j in jobs
    ]
    assert rebalance(s, again, now=0, margin_s=60) == []


def test_rebalance_margin_blocks_small_gains():
    s, jobs = _loaded_farm()
    assert rebalance(s, jobs, now=0, margin_s=1200, targets=["b"]) == []
    assert len(rebalance(s, jobs, now=0, margin_s=1199, targets=["b"])) == 1


def test_reroute_routes_urgent_jobs_first():
    s = FarmState([node("a"), node("b", state=NodeState.OFFLINE)])
    jobs = [
        job("j1", state=JobState.QUEUED, est=100),
        job("j2", state=JobState.QUEUED, est=100, prio=3),
    ]
    out = reroute(s, jobs, make_policy("least-loaded"), now=0)
    assert [(a.job_id, a.node_id, a.finish_at) for a in out] == [
        ("j2", "a", 100.0),
        ("j1", "a", 200.0),
    ]


# -- recovery -----------------------------------------------------------------------------------
def test_heartbeat_timeout_respects_restart_grace():
    nodes = [
        node("a", hb=0.0),
        node("b", hb=95.0),
        node("c", hb=0.0, state=NodeState.OFFLINE),
        node("d", hb=None),
    ]
    assert recovery.timed_out(nodes, now=100, timeout_s=30) == ["a", "d"]
    # the server restarted at t=90: nobody is late before t=120
    assert recovery.timed_out(nodes, now=100, timeout_s=30, since=90) == []
    assert recovery.timed_out(nodes, now=121, timeout_s=30, since=90) == ["a", "d"]


def test_failures_count_attempts_then_dead_letter():
    j = job("j1", attempts=1, state=JobState.PRINTING, node_id="a")
    f = recovery.after_failure(j, max_attempts=3, reason="spaghetti")
    assert (f.action, f.attempts) == (recovery.REROUTE, 2) and "spaghetti" in f.reason
    f = recovery.after_failure(job("j1", attempts=2), max_attempts=3, reason="x")
    assert (f.action, f.attempts) == (recovery.DEAD, 3)


def test_node_lost_drained_removed():
    jobs = [
        job("j1", state=JobState.PRINTING, node_id="a", attempts=0),
        job("j2", state=JobState.ASSIGNED, node_id="a"),
        job("j3", state=JobState.ASSIGNED, node_id="b"),
    ]
    lost = recovery.node_lost("a", jobs, max_attempts=3, reason="timeout")
    assert [(f.job_id, f.action, f.attempts) for f in lost] == [
        ("j1", "reroute", 1),
        ("j2", "reroute", 0),
    ]
    drained = recovery.node_drained("a", jobs)
    assert [(f.job_id, f.action) for f in drained] == [("j1", "keep"), ("j2", "reroute")]
    removed = recovery.node_removed("a", jobs)
    assert [(f.job_id, f.action, f.attempts) for f in removed] == [
        ("j1", "reroute", 0),
        ("j2", "reroute", 0),
    ]


def test_incremental_load_matches_resum_after_many_decisions():
    rng = np.random.default_rng(3)
    nodes = [
        node(f"n{i:02d}", speed=float(rng.uniform(0.5, 2)), busy=float(rng.uniform(0, 100)))
        for i in range(20)
    ]
    s = FarmState(nodes)
    pol = make_policy("least-loaded")
    placed = []
    for i in range(300):
        j = job(f"j{i}", est=float(rng.uniform(60, 3600)))
        a = route(s, j, pol, now=0)
        placed.append((j, a.node_id))
    for k, nd in enumerate(sorted(nodes, key=lambda n: n.id)):
        expect = nd.busy_s + sum(j.est_seconds for j, nid in placed if nid == nd.id) / nd.speed
        assert s.load[k] == pytest.approx(expect)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_nodes=st.integers(1, 12),
    n_jobs=st.integers(1, 30),
)
def test_least_loaded_matches_brute_force_earliest_finish(seed, n_nodes, n_jobs):
    """Against a from-scratch model: loads re-summed, capability re-derived per decision."""
    rng = np.random.default_rng(seed)
    nodes = [
        node(
            f"n{i:02d}",
            tech=[FDM, SLA][int(rng.integers(2))],
            bv=tuple(float(v) for v in rng.uniform(50, 300, 3)),
            mats={"PLA": float(rng.uniform(0, 500)), "RESIN": float(rng.uniform(0, 500))},
            speed=float(rng.uniform(0.5, 2)),
            busy=float(rng.uniform(0, 500)),
        )
        for i in range(n_nodes)
    ]
    s, pol = FarmState(nodes), make_policy("least-loaded")
    placed: dict[str, list[JobSnapshot]] = {n.id: [] for n in nodes}
    for k in range(n_jobs):
        mat = ["PLA", "RESIN"][int(rng.integers(2))]
        j = job(f"j{k}", material=mat, tech=FDM if mat == "PLA" else SLA, est=float(rng.uniform(10, 900)),
                grams=float(rng.uniform(1, 120)), bbox=tuple(float(v) for v in rng.uniform(10, 200, 3)))  # fmt: skip
        best, best_t = None, math.inf
        for n in sorted(nodes, key=lambda n: n.id):
            used = sum(x.grams for x in placed[n.id] if x.material == j.material)
            fits = bool(
                footprint_fits(
                    j.bbox[0],
                    j.bbox[1],
                    np.array([n.build_volume[0]]),
                    np.array([n.build_volume[1]]),
                )[0]
            )
            if (
                n.technology != j.technology
                or n.materials[j.material] - used < j.grams
                or j.bbox[2] > n.build_volume[2]
                or not fits
            ):
                continue
            t = (
                n.busy_s
                + sum(x.est_seconds for x in placed[n.id]) / n.speed
                + j.est_seconds / n.speed
            )
            if t < best_t - 1e-9:
                best, best_t = n.id, t
        a = route(s, j, pol, now=0.0)
        assert a.node_id == best
        if best is not None:
            assert a.finish_at == pytest.approx(best_t)
            placed[best].append(j)
