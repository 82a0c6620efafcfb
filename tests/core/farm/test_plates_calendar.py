"""Calendar arithmetic, footprint packing, plate planning and the router's setup and
shift-aware cost (pure core)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configurator.core.export.threemf import threemf_bytes
from configurator.core.export.threemf_read import read_threemf
from configurator.core.farm.calendar import Calendar, parse_windows
from configurator.core.farm.models import JobSnapshot, NodeSnapshot, Technology
from configurator.core.farm.plates import PlateRules, pack_footprints, plan_plate
from configurator.core.farm.router import FarmState, make_policy, route
from configurator.errors import RequirementsError

H = 3600.0
MON = datetime(2027, 1, 4, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC


def test_calendar_queries_by_hand():
    cal = Calendar("Mon-Fri 07:00-23:00", "UTC")
    t = np.array([MON, MON + 8 * H, MON + 23.5 * H, MON + 4 * 24 * H + 23.5 * H])
    assert list((cal.next_staffed(t) - MON) / H) == [7, 8, 31, 7 * 24 + 7]
    assert list(cal.staffed(t)) == [False, True, False, False]
    # 600 s of work starting 22:55 on Monday: 300 s on Monday, the rest Tuesday 07:00
    assert float(cal.add_staffed(MON + 22 * H + 55 * 60, 600.0)) == MON + 31 * H + 300
    # a 30 h job of staffed time from Monday 00:00 ends Tuesday 21:00
    assert float(cal.add_staffed(MON, 30 * H)) == MON + 45 * H
    done = cal.clear_done(np.array([MON + 2 * H, MON + 2 * H]), 300.0, np.array([True, False]))
    assert list(done) == [MON + 2 * H + 300, MON + 7 * H + 300]
    assert cal.windows_between(MON, MON + 7 * 24 * H) == 5
    assert cal.unstaffed_between(MON, MON + 24 * H) == [(MON + 23 * H, MON + 31 * H)]


def test_calendar_spec_forms_and_time_zone():
    assert parse_windows("always") == ()
    assert parse_windows("Sat-Mon 08:00-12:00") == ((0, 480, 720), (5, 480, 720), (6, 480, 720))
    assert parse_windows("daily 22:00-06:00")[:2] == ((0, 0, 360), (0, 1320, 1440))
    berlin = Calendar("Mon-Fri 07:00-23:00", "Europe/Berlin")  # UTC+1 in January
    assert float(berlin.next_staffed(MON)) == MON + 6 * H
    # daylight saving: on 2027-03-29 (Monday, CEST) the shift starts at 05:00 UTC
    spring = datetime(2027, 3, 29, tzinfo=UTC).timestamp()
    assert float(berlin.next_staffed(spring)) == spring + 5 * H
    always = Calendar()
    assert always.always and float(always.add_staffed(5.0, 7.0)) == 12.0


@pytest.mark.parametrize(
    "spec",
    ["", "Mon-Fry 07:00-23:00", "Mon 07:00-25:00", "Mon 07:00", "Mon 07:00-07:00", "Mon 7-9"],
)
def test_bad_calendar_is_a_field_error(spec):
    with pytest.raises(RequirementsError) as exc:
        Calendar(spec)
    assert "calendar" in exc.value.fields


def test_bad_time_zone_is_a_field_error():
    with pytest.raises(RequirementsError) as exc:
        Calendar("always", "Mars/Olympus")
    assert "timezone" in exc.value.fields


def _staffed_seconds(spec: str, a: float, b: float) -> float:
    """Reference: overlap of [a, b] with the weekly windows, day by day (UTC)."""
    total = 0.0
    day0 = int((a - MON) // 86400) - 1
    for day in range(day0, int((b - MON) // 86400) + 2):
        base = MON + day * 86400
        for wd, s0, s1 in parse_windows(spec):
            if wd == day % 7:
                lo, hi = max(a, base + s0 * 60), min(b, base + s1 * 60)
                total += max(hi - lo, 0.0)
    return total


@settings(max_examples=60, deadline=None)
@given(
    t=st.floats(0, 30 * 86400),
    d=st.floats(0, 86400),
    spec=st.sampled_from(["Mon-Fri 07:00-23:00", "daily 22:00-06:00", "Sat 08:00-09:00"]),
)
def test_add_staffed_counts_exactly_d_seconds_of_staffed_time(t, d, spec):
    cal = Calendar(spec)
    start = MON + t
    end = float(cal.add_staffed(start, d))
    assert end >= start
    assert _staffed_seconds(spec, start, end) == pytest.approx(d, abs=1e-3)
    if d > 1e-3:
        assert bool(cal.staffed(end - min(d, 1.0) / 2))  # it ends in staffed time


def test_packing_places_parts_without_overlap_inside_the_bed():
    foot = [(60, 60), (70, 50), (100, 100), (30, 200)]
    placed = pack_footprints(foot, (250, 210), gap_mm=5)
    assert placed is not None
    rects = []
    for (w, h), (x, y, turned) in zip(foot, placed, strict=True):
        if (w, h) != (max(w, h), min(w, h)):
            w, h = h, w
        if turned:
            w, h = h, w
        w, h = max(w, h), min(w, h)
        rects.append((x, y, x + (w if not turned else h), y + (h if not turned else w)))
    assert all(x1 <= 250 + 1e-9 and y1 <= 210 + 1e-9 for _, _, x1, y1 in rects)
    assert pack_footprints([(200, 200), (100, 100)], (250, 210)) is None  # area too large
    assert pack_footprints([(260, 10)], (250, 210)) is None


def _job(jid, est, *, prio=0, deadline=None, box=(40.0, 40.0, 10.0), material="PLA"):
    return JobSnapshot(
        jid, Technology.FDM, material, box, est, 10.0, prio, deadline, seq=int(jid[1:])
    )


def test_plan_plate_rules():
    rules = PlateRules(batching=True, wait_s=900.0, plate_s=3600.0)
    head = _job("j1", 600.0)
    others = [(_job("j2", 600.0), None), (_job("j3", 600.0, prio=1), None),
              (_job("j4", 600.0, material="PETG"), None), (_job("j5", 3000.0), None)]  # fmt: skip
    plate = plan_plate(head, others, bed=(250, 210), speed=1.0, now=0.0, since=0.0,
                       horizon=lambda f: f, rules=rules)  # fmt: skip
    # j3 (other priority), j4 (other material) and j5 (past the day plate) stay out
    assert [j.id for j in plate.jobs] == ["j1", "j2"] and plate.est_seconds == 1200.0
    assert plate.hold_until == 900.0  # small: wait for parts until 900 s after the head came
    # a night horizon lets the plate grow to the morning
    night = plan_plate(head, others, bed=(250, 210), speed=1.0, now=0.0, since=0.0,
                       horizon=lambda f: 8 * H, rules=rules)  # fmt: skip
    assert [j.id for j in night.jobs] == ["j1", "j2", "j5"] and night.hold_until is None
    # a deadline caps both the plate and the wait
    tight = plan_plate(_job("j1", 600.0, deadline=1000.0), others, bed=(250, 210), speed=1.0,
                       now=0.0, since=0.0, horizon=lambda f: f, rules=rules)  # fmt: skip
    assert [j.id for j in tight.jobs] == ["j1"] and tight.hold_until == 400.0
    # a job from another queue joins only if it finishes no later than there
    limited = plan_plate(head, [(_job("j2", 600.0), 1100.0)], bed=(250, 210), speed=1.0, now=0.0,
                         since=0.0, horizon=lambda f: f, rules=rules)  # fmt: skip
    assert [j.id for j in limited.jobs] == ["j1"]
    rush = plan_plate(_job("j9", 600.0, prio=2), [], bed=(250, 210), speed=1.0, now=0.0,
                      since=0.0, horizon=lambda f: f, rules=rules)  # fmt: skip
    assert rush.hold_until is None


def _node(nid, *, speed=1.0, setup=0.0, auto=True, busy=0.0):
    return NodeSnapshot(nid, Technology.FDM, (250, 210, 220), {"PLA": 5000.0}, speed,
                        busy_s=busy, setup_s=setup, auto_clear=auto)  # fmt: skip


def test_router_counts_plate_changes_and_staffed_clearing():
    state = FarmState([_node("a", setup=300.0, auto=False, busy=H)], now=MON,
                      calendar=Calendar("Mon-Fri 07:00-23:00"))  # fmt: skip
    # Monday 00:00: a prints 1 h more; its plate is cleared at 07:05; a new 1 h job ends 08:05
    job = _job("j1", H)
    assert float(state.finish_times(job, now=MON)[0]) == MON + 8 * H + 300
    a = route(state, job, make_policy("least-loaded"), now=MON)
    assert a.finish_at == MON + 8 * H + 300
    # without a calendar: busy + setup + print
    plain = FarmState([_node("a", setup=300.0, auto=False, busy=H)], now=0.0)
    assert float(plain.finish_times(job, now=0.0)[0]) == 2 * H + 300


def test_shift_aware_least_loaded_prefers_a_finish_in_staffed_hours():
    # Monday 20:00. Node f (speed 2) would finish a 4 h job at 22:00 + nothing; node s
    # (speed 1) at 00:00. Earliest finish picks f anyway; a 7 h job ends 23:30 on f (after
    # the shift: its plate waits for 07:00) and 03:00 on s: both wait for 07:00, so the
    # shift-aware cost ties and the lower index wins; a job ending in the shift on one node
    # and after it on the other goes where it ends in the shift.
    cal = Calendar("Mon-Fri 07:00-23:00")
    now = MON + 20 * H
    state = FarmState([_node("f", speed=2.0, auto=False, setup=300.0, busy=0.5 * H),
                       _node("s", speed=1.0, auto=False, setup=300.0)], now=now, calendar=cal)  # fmt: skip
    job = _job("j1", 4 * H)  # f: 20:30 + 300 s + 2 h = 22:35 (staffed); s: 24:00
    assert state.costs(job, now=now).tolist() == [now + 2.5 * H + 300, now + 11 * H]
    assert make_policy("least-loaded").choose(state, job, np.array([True, True]), now=now) == 0
    late = _job("j2", 5.5 * H)  # f: 23:20 (unstaffed -> 07:00), s: 01:30 (-> 07:00)
    costs = state.costs(late, now=now)
    assert costs[0] == costs[1] == MON + 31 * H
    assert make_policy("least-loaded").choose(state, late, np.array([True, True]), now=now) == 0


def test_threemf_reader_applies_build_transforms():
    v = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=float)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    data = threemf_bytes({"t": (v, f)})
    got_v, got_f = read_threemf(data)
    assert np.allclose(got_v, v) and (got_f == f).all()
    # the same package with a translated build item
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for name in zin.namelist():
            body = zin.read(name)
            if name == "3D/3dmodel.model":
                body = body.replace(
                    b'<item objectid="1"/>',
                    b'<item objectid="1" transform="1 0 0 0 1 0 0 0 1 5 6 7"/>',
                )
            zout.writestr(name, body)
    got_v, _ = read_threemf(buf.getvalue())
    assert np.allclose(got_v, v + [5, 6, 7])
