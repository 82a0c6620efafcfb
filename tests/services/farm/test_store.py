"""Farm service + store against real databases (SQLite WAL and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from configurator.adapters.db.tables import Base, EventRow, JobRow
from configurator.core.farm.models import JobState, NodeState
from configurator.errors import AuthError, ConflictError, ForbiddenError, RequirementsError
from tests.support.farm import JOB_ARGS, Clock, add_node, submit


def events(farm, kind):
    with farm.store.transaction() as s:
        return list(s.scalars(select(EventRow).where(EventRow.kind == kind).order_by(EventRow.id)))


def test_migrations_create_exactly_the_model_schema(make_farm):
    farm = make_farm()
    farm.store.migrate()  # idempotent
    with farm.store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert [
        d for d in diff if not (d[0] == "remove_table" and d[1].name == "farm_alembic_version")
    ] == []


def test_job_lifecycle_and_idempotent_reports(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock)
    a, _ = add_node(farm, "a")
    job = submit(farm, order_token="tok-1", label="order 1")
    assert (job.state, job.node_id) == (JobState.ASSIGNED, a.id)
    place = farm.job_status(job.id)
    assert (place.position, place.est_finish) == (0, pytest.approx(clock.t + 600))
    clock.t += 5
    claimed = farm.claim(a.id)
    assert claimed.id == job.id and claimed.state == JobState.PRINTING
    assert farm.claim(a.id).id == job.id  # retried claim: same job, no second claim
    assert len(events(farm, "claimed")) == 1
    farm.progress(a.id, job.id, percent=50, seconds_left=300)
    clock.t += 590
    done = farm.complete(a.id, job.id, actual_seconds=590.0, grams_used=9.5)
    again = farm.complete(a.id, job.id, actual_seconds=590.0, grams_used=9.5)
    assert done.state == again.state == JobState.DONE
    assert len(events(farm, "completed")) == 1
    got = farm.get_job(job.id)
    assert (got.actual_seconds, got.grams_used) == (590.0, 9.5)  # kept for the estimator
    assert farm.get_node(a.id).materials["PLA"] == pytest.approx(5000 - 9.5)
    assert [j.id for j in farm.jobs_for_order("tok-1")] == [job.id]
    assert farm.claim(a.id) is None
    kinds = [e.kind for e in farm.job_events(job.id)]
    assert kinds == ["submitted", "assigned", "claimed", "completed"]


def test_reports_for_another_nodes_job_are_refused(make_farm):
    farm = make_farm()
    a, _ = add_node(farm, "a")
    b, _ = add_node(farm, "b")
    j1 = submit(farm)
    owner, other = (a, b) if j1.node_id == a.id else (b, a)
    farm.claim(owner.id)
    for call in (
        lambda: farm.complete(other.id, j1.id, actual_seconds=1, grams_used=1),
        lambda: farm.fail(other.id, j1.id, reason="x"),
        lambda: farm.progress(other.id, j1.id, percent=1, seconds_left=1),
        lambda: farm.job_file(other.id, j1.id),
    ):
        with pytest.raises(ForbiddenError):
            call()
    farm.complete(owner.id, j1.id, actual_seconds=1, grams_used=1)
    with pytest.raises(ConflictError):
        farm.fail(owner.id, j1.id, reason="too late")
    assert farm.get_job(j1.id).state == JobState.DONE


def test_heartbeat_timeout_reroutes_and_counts_the_printing_attempt(make_farm):
    clock = Clock()
    farm = make_farm(clock=clock, heartbeat_timeout_s=30, rebalance_margin_s=60)
    a, _ = add_node(farm, "a")
    jobs = [submit(farm, est_seconds=600) for _ in range(3)]
    assert all(j.node_id == a.id for j in jobs)
    farm.claim(a.id)
    b, _ = add_node(farm, "b")  # joins: the tail of a's queue moves (600 s earlier)
    assert len(events(farm, "moved")) == 1
    clock.t += 20
    farm.heartbeat(b.id, state="idle")
    assert farm.sweep() == []
    clock.t += 15  # a silent for 35 s > 30 s
    assert farm.sweep() == [a.id]
    assert farm.get_node(a.id).state == NodeState.OFFLINE
    states = {j.id: farm.get_job(j.id) for j in jobs}
    assert all(j.state == JobState.ASSIGNED and j.node_id == b.id for j in states.values())
    assert states[jobs[0].id].attempts == 1  # it was printing
    assert states[jobs[1].id].attempts == 0
    # a comes back: heartbeat brings it online and the router pulls work to it
    farm.heartbeat(a.id, state="idle")
    assert farm.get_node(a.id).state == NodeState.IDLE
    assert {farm.get_job(j.id).node_id for j in jobs} == {a.id, b.id}


def test_failures_dead_letter_and_requeue(make_farm):
    farm = make_farm(max_attempts=2)
    a, _ = add_node(farm, "a")
    job = submit(farm)
    farm.claim(a.id)
    j = farm.fail(a.id, job.id, reason="nozzle clog")
    assert (j.state, j.attempts, j.node_id) == (JobState.ASSIGNED, 1, a.id)
    farm.claim(a.id)
    j = farm.fail(a.id, job.id, reason="nozzle clog")
    assert (j.state, j.attempts) == (JobState.FAILED, 2) and "nozzle clog" in j.last_reason
    assert farm.claim(a.id) is None
    assert [x.id for x in farm.list_jobs(state="failed")] == [job.id]
    j = farm.requeue_job(job.id)
    assert (j.state, j.attempts) == (JobState.ASSIGNED, 0)
    with pytest.raises(ConflictError):
        farm.requeue_job(job.id)


def test_idle_heartbeat_while_printing_fails_the_attempt(make_farm):
    farm = make_farm()
    a, _ = add_node(farm, "a")
    job = submit(farm)
    farm.claim(a.id)
    farm.heartbeat(a.id, state="printing")
    assert farm.get_job(job.id).state == JobState.PRINTING
    farm.heartbeat(a.id, state="idle")  # the agent restarted and lost the job
    j = farm.get_job(job.id)
    assert (j.state, j.attempts) == (JobState.ASSIGNED, 1)


def test_drain_keeps_the_printing_job_and_moves_the_queue(make_farm):
    farm = make_farm()
    a, _ = add_node(farm, "a")
    jobs = [submit(farm) for _ in range(3)]
    farm.claim(a.id)
    b, _ = add_node(farm, "b", materials={"PLA": 5000.0})
    farm.drain_node(a.id)
    got = [farm.get_job(j.id) for j in jobs]
    assert got[0].state == JobState.PRINTING and got[0].node_id == a.id
    assert all(j.node_id == b.id and j.state == JobState.ASSIGNED for j in got[1:])
    assert farm.claim(a.id).id == jobs[0].id  # still its printing job
    farm.complete(a.id, jobs[0].id, actual_seconds=500, grams_used=9)
    assert farm.claim(a.id) is None
    assert farm.get_node(a.id).state == NodeState.DRAINING


def test_waiting_job_is_routed_when_a_capable_node_joins(make_farm):
    farm = make_farm()
    add_node(farm, "small", build_volume=(100, 100, 100))
    job = submit(farm, bbox=(150, 20, 20))  # 150 x 20 fits diagonally? no: 100 mm bed
    assert job.state == JobState.QUEUED and job.node_id is None
    big, _ = add_node(farm, "big", build_volume=(300, 300, 300))
    assert farm.get_job(job.id).node_id == big.id


def test_removed_node_loses_its_key_and_its_jobs(make_farm):
    farm = make_farm()
    a, key_a = add_node(farm, "a")
    b, _ = add_node(farm, "b")
    jobs = [submit(farm) for _ in range(4)]
    assert farm.authenticate_node(key_a) == a.id
    farm.claim(a.id)
    farm.remove_node(a.id)
    assert all(farm.get_job(j.id).node_id == b.id for j in jobs)
    with pytest.raises(AuthError):
        farm.authenticate_node(key_a)
    with pytest.raises(AuthError):
        farm.heartbeat(a.id)


def test_submit_validates_fields(make_farm):
    farm = make_farm()
    with pytest.raises(RequirementsError) as err:
        farm.submit_job(
            design_id="",
            material="NOPE",
            bbox=(0, 1, 1),
            est_seconds=-1,
            grams=-2,
            file_bytes=b"junk",
            file_name="x.obj",
        )
    assert set(err.value.fields) == {
        "file",
        "material",
        "bbox",
        "est_seconds",
        "grams",
        "design_id",
    }


def test_concurrent_claims_never_share_a_job(make_farm):
    farm = make_farm()
    nodes = [add_node(farm, f"n{i}")[0] for i in range(4)]
    jobs = [submit(farm, est_seconds=60 + i) for i in range(80)]
    done: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(node_id):
        try:
            while True:
                j = farm.claim(node_id)
                if j is None:
                    return
                farm.complete(node_id, j.id, actual_seconds=1, grams_used=1)
                with lock:
                    done.append((node_id, j.id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    # two threads per node race on the same queue, the others on their own queues
    threads = [threading.Thread(target=worker, args=(n.id,)) for n in nodes for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted({j for _, j in done}) == sorted(j.id for j in jobs)
    completed = Counter(e.job_id for e in events(farm, "completed"))
    assert set(completed.values()) == {1} and len(completed) == len(jobs)
    # a retried claim may hand the same printing job to both threads of a node; the second
    # complete is then a no-op: every job was claimed exactly once
    assert Counter(e.job_id for e in events(farm, "claimed")) == Counter({j.id: 1 for j in jobs})
    with farm.store.transaction() as s:
        assert set(s.scalars(select(JobRow.state))) == {JobState.DONE}


def test_submit_jobs_is_all_or_nothing(make_farm):
    """An order's pieces go in one transaction: all routed under one token, or none stored."""
    farm = make_farm()
    add_node(farm, "a")
    args = {**JOB_ARGS, "order_token": "tok"}
    jobs = farm.submit_jobs(labels=["piece 1/3", "piece 2/3", "piece 3/3"], **args)
    assert [j.label for j in farm.jobs_for_order("tok")] == ["piece 1/3", "piece 2/3", "piece 3/3"]
    assert {farm.get_job(j.id).state for j in jobs} == {"assigned"}
    with pytest.raises(RequirementsError):
        farm.submit_jobs(labels=["x", "y"], **{**args, "order_token": "tok2", "bbox": (0, 1, 1)})
    with pytest.raises(RequirementsError):
        farm.submit_jobs(labels=[], **{**args, "order_token": "tok3"})
    assert farm.jobs_for_order("tok2") == [] and farm.jobs_for_order("tok3") == []


@pytest.mark.postgres  # SQLite serializes every transaction: no read interleaves a claim
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_job_status_while_the_job_is_claimed_and_done_between_its_reads(make_farm):
    """On PostgreSQL each statement sees the newest commits: a job read as assigned can be
    claimed and finished by its node before its node's queue is read (the load test's
    ``POST /orders`` met it as a 500). The place is read again and says where it is now."""
    farm = make_farm()
    a, _ = add_node(farm, "a")
    job = submit(farm)
    plan, raced = farm._plan, []

    def plan_after_the_node_was_faster(s, node, now):
        if not raced:  # another connection: a real concurrent claim and completion
            raced.append(farm.claim(a.id).id)
            farm.complete(a.id, job.id, actual_seconds=1.0, grams_used=1.0)
        return plan(s, node, now)

    farm._plan = plan_after_the_node_was_faster
    place = farm.job_status(job.id)
    assert raced == [job.id]
    assert (place.state, place.node_name, place.position) == (JobState.DONE, "a", None)
