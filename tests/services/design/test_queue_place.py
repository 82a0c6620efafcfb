"""The public place of a queued run (pure): position, wait and an expected start that is
never before the moment it was computed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from configurator.adapters.db.runs import Capacity
from configurator.services.design.runs import queue_place


@given(
    ahead=st.integers(0, 500),
    running=st.integers(0, 8),
    slots=st.integers(0, 8),
    mean=st.none() | st.floats(0.0, 3600.0),
    now=st.floats(1.5e9, 2.5e9),
)
def test_expected_start_is_never_before_now(ahead, running, slots, mean, now):
    place = queue_place(ahead, Capacity(running=running, slots=slots, mean_run_s=mean), now=now)
    assert place["position"] == ahead + 1 and place["ahead"] == ahead
    assert place["expected_start"] >= now
    # both rounded to 0.1 s: the start up, the wait to the nearest
    assert place["expected_start"] - now <= place["expected_wait_s"] + 0.15 + 1e-6


def test_a_free_slot_starts_now_a_busy_one_waits_half_a_run():
    now = 1_796_639_368.5005
    free = queue_place(0, Capacity(running=0, slots=1, mean_run_s=10.0), now=now)
    assert (free["expected_wait_s"], free["expected_start"]) == (0.0, 1_796_639_368.6)
    busy = queue_place(0, Capacity(running=1, slots=1, mean_run_s=10.0), now=now)
    assert busy["expected_wait_s"] == 5.0 and busy["expected_start"] >= now + 5.0
    later = queue_place(3, Capacity(running=2, slots=2, mean_run_s=10.0), now=now)
    assert later["expected_wait_s"] == 15.0  # one full wave of 2, then half a run
