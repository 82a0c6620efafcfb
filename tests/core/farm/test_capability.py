"""The one capability rule and the capability view (pure): the vectorized bed fit and its
margin agree with the scalar rule, availability and the reasons name what is missing, a
profile's fingerprint depends on what the optimizer reads only, quotes route like the
router."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configurator.core.farm.capability import (
    FarmProfile,
    FarmView,
    material_availability,
    missing_reason,
    plan_pieces,
    waiting_reason,
)
from configurator.core.farm.models import (
    FarmTotals,
    JobSnapshot,
    NodeSnapshot,
    NodeState,
    Technology,
)
from configurator.core.farm.router import (
    FarmState,
    fit_margin,
    fits_bed,
    fits_beds,
    make_policy,
    route,
)

FDM, SLM = Technology.FDM, Technology.SLM


def node(nid, *, tech=FDM, bv=(250, 210, 220), mats=None, speed=1.0, state=NodeState.IDLE):
    return NodeSnapshot(
        nid, tech, bv, mats if mats is not None else {"PLA": 1000.0}, speed, state, name=nid
    )


def job(material="PLA", *, tech=FDM, bbox=(50, 50, 50), grams=10.0, est=600.0, jid="j1"):
    return JobSnapshot(jid, tech, material, bbox, est, grams)


sizes = st.floats(min_value=1, max_value=400, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.tuples(sizes, sizes, sizes), min_size=1, max_size=6),
    beds=st.lists(st.tuples(sizes, sizes, sizes), min_size=0, max_size=5),
)
def test_vectorized_fit_and_margin_agree_with_the_scalar_rule(parts, beds):
    grid = fits_beds(np.array(parts), np.array(beds).reshape(-1, 3))
    assert grid.shape == (len(parts), len(beds))
    for i, p in enumerate(parts):
        for j, b in enumerate(beds):
            assert grid[i, j] == fits_bed(p, b)
    margin = fit_margin(np.array(parts), np.array(beds).reshape(-1, 3))
    assert margin.shape == (len(parts),) and np.isfinite(margin).all()
    assert np.array_equal(margin >= 0, grid.any(axis=1))


def test_margin_is_the_straight_slack_and_zero_for_a_diagonal_fit():
    bed = [(250, 210, 220)]
    assert fit_margin([(200, 100, 50)], bed)[0] == pytest.approx(50)  # 250-200 long side
    assert fit_margin([(240, 100, 215)], bed)[0] == pytest.approx(5)  # height 220-215
    assert fit_margin([(100, 100, 230)], bed)[0] == pytest.approx(-10)
    # a 300 x 20 part fits the 250 x 210 bed only diagonally
    assert fits_bed((300, 20, 10), bed[0]) and fit_margin([(300, 20, 10)], bed)[0] == 0.0
    assert fit_margin([(100, 100, 100)], np.empty((0, 3)))[0] == -100  # no printer at all


def test_able_ignores_state_and_grams_capable_does_not():
    state = FarmState(
        [
            node("a", state=NodeState.MAINTENANCE),
            node("b", mats={"PLA": 5.0}),
            node("c", mats={"PETG": 1000.0}),
            node("d", tech=SLM, mats={"PLA": 1000.0}),
            node("e", bv=(100, 100, 40)),
        ]
    )
    j = job(grams=10)
    assert state.able(j).tolist() == [True, True, False, False, False]
    assert state.capable(j).tolist() == [False, False, False, False, False]
    assert (state.capable(j) <= state.able(j)).all()
    assert state.prints(FDM, "PLA").tolist() == [True, True, False, False, True]


def test_registered_with_no_grams_still_prints_the_material():
    state = FarmState([node("a", mats={"PLA": 0.0})])
    assert state.able(job()).tolist() == [True]
    assert state.capable(job()).tolist() == [False]
    assert waiting_reason(state, job(grams=12)) == (
        "waiting for PLA to be loaded: a piece needs 12 g, a has 0 g free"
    )


def test_reasons_in_the_customers_words():
    state = FarmState([node("mk4"), node("m290", tech=SLM, bv=(250, 250, 325), mats={"316L": 1})])
    assert missing_reason(state, job("Ti-6Al-4V", tech=SLM)) == (
        "no printer in the farm prints Ti-6Al-4V (SLM)"
    )
    assert missing_reason(state, job(bbox=(400, 300, 10))) == (
        "no FDM printer with PLA has room for 400 × 300 × 10 mm (largest bed 250 × 210 × 220 mm)"
    )
    assert missing_reason(state, job()) is None
    only = FarmState(
        [node("m290", tech=SLM, mats={"Ti-6Al-4V": 5000}, state=NodeState.MAINTENANCE)]
    )
    ti = job("Ti-6Al-4V", tech=SLM)
    assert waiting_reason(only, ti) == (
        "the only SLM printer that can print it (m290) is in maintenance"
    )
    two = FarmState(
        [
            node("a", state=NodeState.OFFLINE),
            node("b", state=NodeState.DRAINING),
            node("c", state=NodeState.IDLE, mats={"PETG": 1}),
        ]
    )
    assert waiting_reason(two, job()) == (
        "none of the 2 FDM printers that can print it takes jobs now "
        "(a: offline, b: being taken out of service)"
    )


def test_material_availability():
    state = FarmState([node("mk4"), node("m290", tech=SLM, mats={"Ti-6Al-4V": 1}, state="offline")])
    pla = material_availability(state, "PLA", "FDM")
    assert (pla.available, pla.reason, pla.notice, pla.printers) == (True, None, None, 1)
    ti = material_availability(state, "Ti-6Al-4V", "SLM")
    assert (
        ti.available and ti.notice == "the only SLM printer that prints Ti-6Al-4V (m290) is offline"
    )
    peek = material_availability(state, "PEEK", "FDM")
    assert not peek.available and peek.reason == "no printer in the farm prints PEEK (FDM)"
    empty = material_availability(FarmState([]), "PLA", "FDM")
    assert not empty.available


def test_profile_fingerprint_reads_what_the_optimizer_reads_only():
    a = [node("mk4", mats={"PLA": 10.0, "PETG": 3.0}), node("xl", bv=(360, 360, 360))]
    b = [  # other names, order, grams and states: same farm for a design run
        node("big", bv=(360, 360, 360), mats={"PLA": 0.0}, state=NodeState.OFFLINE),
        node("small", mats={"PETG": 900.0, "PLA": 1.0}),
    ]
    assert FarmProfile.of(a).fingerprint == FarmProfile.of(b).fingerprint
    c = [node("mk4", mats={"PLA": 10.0, "PETG": 3.0}), node("xl", bv=(350, 350, 350))]
    assert FarmProfile.of(c).fingerprint != FarmProfile.of(a).fingerprint
    removed = [*a, node("gone", tech=SLM, mats={"316L": 1}, state=NodeState.REMOVED)]
    assert FarmProfile.of(removed).fingerprint == FarmProfile.of(a).fingerprint
    profile = FarmProfile.of(a)
    assert profile.beds("PETG", "FDM").tolist() == [[250, 210, 220]]
    assert sorted(map(tuple, profile.beds("PLA", "FDM").tolist())) == [
        (250, 210, 220),
        (360, 360, 360),
    ]
    again = FarmProfile.model_validate_json(profile.model_dump_json())
    assert again.fingerprint == profile.fingerprint


def test_plan_pieces_routes_like_the_router_with_speeds_and_queues():
    nodes = [node("fast", speed=2.0), node("slow", speed=1.0)]
    view = FarmView(
        nodes=tuple(nodes),
        totals={"fast": (FarmTotals(queued_seconds=3000.0), 2)},  # 1500 s of work at speed 2
        at=1000.0,
    )
    state = view.state()
    plan = plan_pieces(state, job(est=1200.0), 3, make_policy("least-loaded"), now=view.at)
    # 1st: slow 0 + 1200 beats fast 1500 + 600; 2nd: fast 2100 beats slow 1200 + 1200;
    # 3rd: slow 1200 + 1200 + 1200 -> 3400 beats fast 2100 + 600 -> 3700
    assert [(a.node_id, a.finish_at) for a in plan] == [
        ("slow", 2200.0),
        ("fast", 3100.0),
        ("slow", 3400.0),
    ]
    reference = view.state()
    policy = make_policy("least-loaded")
    for k, a in enumerate(plan):
        r = route(reference, job(est=1200.0, jid=f"r{k}"), policy, now=view.at)
        assert (r.node_id, r.finish_at) == (a.node_id, a.finish_at)
    assert view.state().load.tolist() == [1500.0, 0.0]  # the view itself is not changed
