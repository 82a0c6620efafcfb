"""What a node agent reports about its printer: offline with the printer's reason (jobs
rerouted at once, back with the next idle heartbeat), and an operator's pause/resume
delivered once with the node's next heartbeat or progress report."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator.adapters.db.tables import EventRow
from configurator.core.farm.models import JobState, NodeState
from configurator.errors import ConflictError, RequirementsError
from tests.support.farm import Clock, add_node, submit


def _events(farm, kind):
    with farm.store.transaction() as s:
        return list(s.scalars(select(EventRow).where(EventRow.kind == kind)))


def test_an_offline_report_reroutes_at_once_and_an_idle_one_brings_the_node_back(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    a, _ = add_node(farm, "a")
    b, _ = add_node(farm, "b")
    jobs = [submit(farm) for _ in range(4)]
    printing = farm.claim(a.id)
    assert printing is not None
    on_a = {j.id for j in jobs if farm.get_job(j.id).node_id == a.id}
    assert printing.id in on_a

    clock.t += 1
    node = farm.heartbeat(a.id, state="offline", reason="Thermal Runaway (E1)")
    assert (node.state, node.state_reason) == (NodeState.OFFLINE, "Thermal Runaway (E1)")
    for jid in on_a:  # nothing stays on the faulted printer
        job = farm.get_job(jid)
        assert job.node_id != a.id and job.state in (JobState.ASSIGNED, JobState.QUEUED)
    assert farm.get_job(printing.id).attempts == 1  # the print it was on counts an attempt
    (off,) = _events(farm, "node-offline")
    assert "Thermal Runaway (E1)" in off.reason and off.actor == "node:a"
    assert farm.claim(b.id) is not None

    # still offline: the reason follows the printer, no second event, nothing routed to it
    clock.t += 1
    farm.heartbeat(a.id, state="offline", reason="busy with a print the farm did not start")
    assert farm.get_node(a.id).state_reason == "busy with a print the farm did not start"
    assert len(_events(farm, "node-offline")) == 1
    assert all(farm.get_job(j.id).node_id != a.id for j in jobs)

    clock.t += 1
    back = farm.heartbeat(a.id, state="idle")
    assert (back.state, back.state_reason) == (NodeState.IDLE, None)
    assert len(_events(farm, "node-back")) == 1
    assert any(farm.get_job(j.id).node_id == a.id for j in jobs)  # work comes back to it


def test_pause_and_resume_reach_the_printing_node_once(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    a, _ = add_node(farm, "a")
    job = submit(farm)
    with pytest.raises(ConflictError, match="not printing"):
        farm.request_command(job.id, "pause")
    assert farm.claim(a.id).id == job.id
    with pytest.raises(RequirementsError):
        farm.request_command(job.id, "explode")

    assert farm.request_command(job.id, "pause").command == "pause"
    node, command = farm.heartbeat_report(a.id, state="printing")
    assert command == "pause"
    assert farm.heartbeat_report(a.id, state="printing")[1] is None  # delivered once
    node, _ = farm.heartbeat_report(a.id, state="paused")
    assert node.state == NodeState.PAUSED  # a paused print stays the node's job
    assert farm.get_job(job.id).state == JobState.PRINTING

    farm.request_command(job.id, "resume")
    got, command = farm.progress_report(a.id, job.id, percent=40.0, seconds_left=100.0)
    assert command == "resume" and got.command is None
    assert farm.progress_report(a.id, job.id, percent=41.0, seconds_left=99.0)[1] is None
    assert farm.heartbeat_report(a.id, state="printing")[0].state == NodeState.PRINTING
    kinds = [e.kind for e in _events(farm, "pause-requested") + _events(farm, "resume-requested")]
    assert kinds == ["pause-requested", "resume-requested"]
