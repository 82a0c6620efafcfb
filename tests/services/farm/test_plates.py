"""Plates on the farm server (SQLite and PostgreSQL): plate state and operator clearing,
auto-clear, batch claims with one nested file, a rush job never held, batch failures."""

from __future__ import annotations

import io

import pytest
import trimesh
from pydantic import ValidationError
from sqlalchemy import select

from configurator.adapters.db.tables import EventRow
from configurator.core.farm.models import JobState
from configurator.settings import Settings
from tests.support.farm import Clock, add_node, submit


def events(farm, kind):
    with farm.store.transaction() as s:
        return list(s.scalars(select(EventRow).where(EventRow.kind == kind).order_by(EventRow.id)))


def test_a_finished_build_blocks_the_node_until_an_operator_clears_the_plate(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock, farm_calendar="always")
    a, _ = add_node(farm, "a", auto_clear=False, setup_s=300.0)
    j1, j2 = submit(farm), submit(farm)
    assert farm.claim(a.id).id == j1.id
    # the router plans j2 one plate change after j1
    place = farm.job_status(j2.id)
    assert place.est_start == pytest.approx(clock.t + 600 + 300)
    clock.t += 600
    farm.complete(a.id, j1.id, actual_seconds=600, grams_used=10)
    assert farm.get_node(a.id).plate_clear_at is None
    clock.t += 3600
    assert farm.claim(a.id) is None  # j2 waits: the plate is not clear
    assert farm.get_job(j2.id).state == JobState.ASSIGNED
    node = farm.plate_cleared(a.id)
    assert node.plate_clear_at == clock.t
    (ev,) = events(farm, "plate-cleared")
    assert (ev.actor, ev.node_id) == ("operator", a.id)
    assert farm.claim(a.id).id == j2.id


def test_auto_clear_node_clears_itself_after_its_setup(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    a, _ = add_node(farm, "a", auto_clear=True, setup_s=120.0)
    j1, j2 = submit(farm), submit(farm)
    farm.claim(a.id)
    farm.complete(a.id, j1.id, actual_seconds=600, grams_used=10)
    assert farm.get_node(a.id).plate_clear_at == pytest.approx(clock.t + 120)
    clock.t += 119
    assert farm.claim(a.id) is None
    clock.t += 2
    assert farm.claim(a.id).id == j2.id
    assert events(farm, "plate-cleared") == []


def test_failed_build_also_needs_the_operator(make_farm):
    farm = make_farm()
    a, _ = add_node(farm, "a", auto_clear=False, setup_s=0.0)
    j1, _ = submit(farm), submit(farm)
    farm.claim(a.id)
    farm.fail(a.id, j1.id, reason="spaghetti")
    assert farm.claim(a.id) is None
    farm.plate_cleared(a.id)
    assert farm.claim(a.id) is not None


def test_heartbeat_auto_clear_mismatch_is_recorded_once(make_farm):
    farm = make_farm()
    a, _ = add_node(farm, "a", auto_clear=False)
    for _ in range(3):
        farm.heartbeat(a.id, state="idle", auto_clear=True)
    farm.heartbeat(a.id, state="idle", auto_clear=False)
    (ev,) = events(farm, "auto-clear-mismatch")
    assert "registered auto_clear=False" in ev.reason
    assert farm.get_node(a.id).auto_clear is False  # the registration stays the operator's


def _batching(make_farm, clock, **kw):
    return make_farm(clock=clock, batching=True, batch_wait_s=600.0, batch_plate_s=3600.0, **kw)


def test_two_orders_within_the_window_print_as_one_plate(make_farm):
    clock = Clock()
    farm = _batching(make_farm, clock)
    a, _ = add_node(farm, "a", build_volume=(250, 210, 220))
    j1 = submit(farm, order_token="order-1", bbox=(20, 20, 10))
    assert farm.claim(a.id) is None  # a small plate waits for more parts
    clock.t += 60
    j2 = submit(farm, order_token="order-2", bbox=(20, 20, 10))
    assert farm.claim(a.id) is None  # still within the window
    clock.t += 541  # the window of the first job is over
    head = farm.claim(a.id)
    assert head.id == j1.id and head.batch_id is not None
    batch, jobs = farm.get_batch(head.batch_id)
    assert [j.id for j in jobs] == [j1.id, j2.id]
    assert {j.state for j in jobs} == {JobState.PRINTING}
    assert batch.est_seconds == pytest.approx(1200.0) and batch.node_id == a.id
    # one build file: both boxes nested on the plate, inside the bed, not overlapping
    path, _ = farm.batch_file(a.id, batch.id)
    mesh = trimesh.load(io.BytesIO(path.read_bytes()), file_type="stl")
    assert len(mesh.faces) == 24
    parts = mesh.split(only_watertight=False)
    boxes = sorted(tuple(p.bounds[0][:2]) + tuple(p.bounds[1][:2]) for p in parts)
    assert len(boxes) == 2
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes
    assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0
    assert max(ax1, bx1) <= 250 and max(ay1, by1) <= 210
    # a retried claim returns the same plate; each job is reported on its own
    assert farm.claim(a.id).batch_id == batch.id
    claimed = events(farm, "claimed")
    assert len(claimed) == 2 and all(batch.id in e.reason for e in claimed)
    clock.t += 1200
    for j in (j1, j2):
        farm.complete(a.id, j.id, actual_seconds=600, grams_used=10)
    assert {farm.get_job(j.id).state for j in (j1, j2)} == {JobState.DONE}
    assert [j.id for j in farm.jobs_for_order("order-2")] == [j2.id]


def test_rush_job_is_not_held_for_batching(make_farm):
    clock = Clock()
    farm = _batching(make_farm, clock)
    a, _ = add_node(farm, "a")
    rush = submit(farm, priority=10)
    normal = submit(farm)
    got = farm.claim(a.id)
    assert got.id == rush.id and got.batch_id is None  # at once, alone
    assert farm.get_job(normal.id).state == JobState.ASSIGNED


def test_a_failed_plate_fails_each_job_on_its_own(make_farm):
    clock = Clock()
    farm = _batching(make_farm, clock)
    a, _ = add_node(farm, "a")
    b, _ = add_node(farm, "b", materials={"PETG": 100.0})  # cannot take PLA
    jobs = [submit(farm) for _ in range(3)]
    clock.t += 601
    head = farm.claim(a.id)
    _, on_plate = farm.get_batch(head.batch_id)
    assert len(on_plate) == 3
    farm.fail(a.id, jobs[0].id, reason="plate came loose")
    farm.fail(a.id, jobs[1].id, reason="plate came loose")
    farm.fail(a.id, jobs[2].id, reason="plate came loose")
    for j in jobs:
        got = farm.get_job(j.id)
        assert (got.state, got.attempts, got.node_id) == (JobState.ASSIGNED, 1, a.id)
    assert len(events(farm, "rerouted")) == 3
    assert b.id  # b stays idle: it has no PLA


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("farm_calendar", "Mon-Fry 07:00-23:00"),
        ("farm_calendar", "Mon 07:00-25:00"),
        ("setup_s", {"FDM": -5}),
        ("batch_wait_s", -1),
        ("quote_margin", 50),
    ],
)
def test_bad_plate_settings_name_the_field(field, value):
    with pytest.raises(ValidationError) as exc:
        Settings(**{field: value})
    assert field in str(exc.value)


def test_a_quote_counts_plate_changes_and_the_morning_shift(make_farm):
    """Monday 01:00 UTC, staffed Mon-Fri 07:00-23:00: two 1-hour pieces on one printer that
    an operator must clear. The first prints now; the second waits for the 07:00 shift and
    its 300 s plate change; an auto-clear printer would take only the plate change."""
    monday_1am = 1_796_000_400.0
    farm = make_farm(clock=Clock(monday_1am), farm_calendar="Mon-Fri 07:00-23:00")
    add_node(farm, "manual", auto_clear=False, setup_s=300.0)
    piece = dict(material="PLA", technology="FDM", bbox=(20, 20, 10), est_seconds=3600.0,
                 grams=10.0, quantity=2)  # fmt: skip
    plan = farm.quote(**piece, max_age_s=0.0)
    assert plan.ready_by == pytest.approx(monday_1am + 6 * 3600 + 300 + 3600)
    farm.update_node(farm.list_nodes()[0].id, auto_clear=True)
    plan = farm.quote(**piece, max_age_s=0.0)
    assert plan.ready_by == pytest.approx(monday_1am + 3600 + 300 + 3600)
