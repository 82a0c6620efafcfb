"""The farm's capability view, quotes, the order check and waiting reasons, against real
databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator.adapters.db.tables import EventRow
from configurator.core.farm.models import JobState, NodeState
from configurator.errors import NoCapableNodeError
from tests.support.farm import STL, Clock, add_node, submit

TI = dict(material="Ti-6Al-4V", technology="SLM", bbox=(80, 15, 5), grams=20.0)


def events(farm, kind):
    with farm.store.transaction() as s:
        return list(s.scalars(select(EventRow).where(EventRow.kind == kind).order_by(EventRow.id)))


def test_view_is_built_from_the_store_cached_and_dropped_on_change(make_farm):
    farm = make_farm(capabilities_ttl_s=300)
    add_node(farm, "mk4", materials={"PLA": 800.0, "PETG": 0.0})
    view = farm.capabilities()
    assert [n.name for n in view.nodes] == ["mk4"]
    assert farm.capabilities() is view  # cached
    other = make_farm(capabilities_ttl_s=300)  # another server process on the same database
    m290, _ = add_node(
        other, "m290", technology="SLM", build_volume=(250, 250, 325), materials={"Ti-6Al-4V": 5000}
    )
    assert farm.capabilities() is view  # this process has not looked yet (ttl)
    assert {n.name for n in farm.capabilities(max_age_s=0).nodes} == {"mk4", "m290"}
    add_node(farm, "xl", build_volume=(360, 360, 360))  # a change here drops the cache
    fresh = farm.capabilities()
    assert {n.name for n in fresh.nodes} == {"mk4", "m290", "xl"}
    other.remove_node(m290.id)
    assert {n.name for n in farm.capabilities(max_age_s=0).nodes} == {"mk4", "xl"}
    assert fresh.availability("PETG", "FDM").available  # registered, 0 g: still makeable
    ti = farm.capabilities(max_age_s=0).availability("Ti-6Al-4V", "SLM")
    assert not ti.available and ti.reason == "no printer in the farm prints Ti-6Al-4V (SLM)"


def test_a_node_cannot_report_itself_into_new_materials(make_farm):
    farm = make_farm()
    node, _ = add_node(farm, "mk4", materials={"PLA": 800.0})
    reply = farm.heartbeat(node.id, materials={"PLA": 750.0, "Ti-6Al-4V": 5000.0, "PEEK": 1.0})
    assert reply.materials == {"PLA": 750.0}
    assert events(farm, "materials-ignored")[0].reason == (
        "reported PEEK, Ti-6Al-4V, not registered for this node"
    )
    assert not farm.capabilities(max_age_s=0).availability("Ti-6Al-4V", "SLM").available
    with pytest.raises(NoCapableNodeError, match=r"Ti-6Al-4V \(SLM\)"):
        farm.quote(**TI, est_seconds=60.0, quantity=1)
    job = submit(farm, **TI, design_id="ti")
    assert job.state == JobState.QUEUED
    assert job.last_reason == "no printer in the farm prints Ti-6Al-4V (SLM)"
    # an omitted registered material is unloaded (0 g), still registered
    assert farm.heartbeat(node.id, materials={}).materials == {"PLA": 0.0}


def test_orders_are_refused_when_nothing_registered_can_make_them(make_farm):
    farm = make_farm()
    add_node(farm, "mk4", build_volume=(250, 210, 220))
    with pytest.raises(NoCapableNodeError) as exc:
        submit(farm, **TI, require_makeable=True)
    assert (
        str(exc.value) == "the farm cannot make this: no printer in the farm prints Ti-6Al-4V (SLM)"
    )
    with pytest.raises(NoCapableNodeError, match=r"room for 400 × 300 × 10 mm"):
        submit(farm, bbox=(400, 300, 10), require_makeable=True)
    assert farm.list_jobs() == []  # nothing created
    ok = submit(farm, bbox=(300, 20, 10), require_makeable=True)  # a diagonal fit
    assert ok.state == JobState.ASSIGNED


def test_a_waiting_job_says_why_and_is_routed_when_its_printer_comes_back(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    m290, _ = add_node(
        farm, "m290", technology="SLM", build_volume=(250, 250, 325), materials={"Ti-6Al-4V": 5000}
    )
    farm.update_node(m290.id, state=NodeState.MAINTENANCE)
    job = submit(farm, **TI, require_makeable=True)  # makeable: accepted, waits
    assert job.state == JobState.QUEUED
    place = farm.job_status(job.id)
    assert place.waiting_reason == "the only SLM printer that can print it (m290) is in maintenance"
    waits = events(farm, "waiting")
    farm.sweep()  # retried, same reason: logged once
    assert len(events(farm, "waiting")) == len(waits) == 1
    farm.update_node(m290.id, state=NodeState.IDLE)
    assert farm.get_job(job.id).state == JobState.ASSIGNED
    assert farm.job_status(job.id).node_name == "m290"
    # a second waiting job is routed the moment a capable node registers
    farm.update_node(m290.id, state=NodeState.DRAINING)
    later = submit(farm, **TI, design_id="ti-2")
    assert later.state == JobState.QUEUED
    other, _ = add_node(
        farm, "m290b", technology="SLM", build_volume=(250, 250, 325), materials={"Ti-6Al-4V": 9000}
    )
    assert (farm.get_job(later.id).state, farm.get_job(later.id).node_id) == (
        JobState.ASSIGNED,
        other.id,
    )


def test_quote_is_where_the_order_goes_and_when(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    add_node(farm, "fast", speed=2.0)
    add_node(farm, "slow", speed=1.0)
    submit(farm, est_seconds=3000.0, design_id="busy")  # 1500 s of work on fast
    clock.t += 10
    piece = dict(material="PLA", technology="FDM", bbox=(20, 20, 10), grams=10.0)
    plan = farm.quote(**piece, est_seconds=1200.0, quantity=3)
    assert plan.nodes == ("slow", "fast", "slow") and plan.waiting_reason is None
    assert plan.ready_by == clock.t + 2400.0 and plan.time_scale == 1.0
    jobs = farm.submit_jobs(
        **piece, est_seconds=1200.0, design_id="order", file_bytes=STL, labels=["1", "2", "3"]
    )
    places = [farm.job_status(j.id) for j in jobs]
    assert [p.node_name for p in places] == list(plan.nodes)
    assert [p.est_finish for p in places] == [clock.t + 1200.0, clock.t + 2100.0, clock.t + 2400.0]
    assert max(p.est_finish for p in places) == plan.ready_by
    with pytest.raises(NoCapableNodeError):
        farm.quote(**{**piece, **TI}, est_seconds=60.0, quantity=1)


def test_time_scale_compresses_routing_quotes_and_the_claimed_finish(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    node, _ = farm.register_node(
        name="demo",
        technology="FDM",
        build_volume=(200, 200, 200),
        materials={"PLA": 1000.0},
        speed=1.5,
        time_scale=60.0,
    )
    plan = farm.quote(
        material="PLA",
        technology="FDM",
        bbox=(20, 20, 10),
        est_seconds=900.0,
        grams=5.0,
        quantity=1,
    )
    assert plan.ready_by == pytest.approx(clock.t + 900.0 / 90.0) and plan.time_scale == 60.0
    job = submit(farm, est_seconds=900.0, grams=5.0)
    assert farm.job_status(job.id).est_finish == pytest.approx(clock.t + 10.0)
    claimed = farm.claim(node.id)
    assert claimed.est_finish == pytest.approx(clock.t + 10.0)
    assert farm.get_node(node.id).speed == 1.5  # the registered speed is kept as it was


def test_a_finished_job_keeps_its_printer_and_actual_times(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    node, _ = add_node(farm, "mk4")
    job = submit(farm)
    clock.t += 3
    farm.claim(node.id)
    started = clock.t
    clock.t += 500
    farm.complete(node.id, job.id, actual_seconds=500.0, grams_used=9.0)
    place = farm.job_status(job.id)
    assert (place.state, place.node_name, place.node_id) == (JobState.DONE, "mk4", node.id)
    assert (place.started_at, place.finished_at) == (started, clock.t)
