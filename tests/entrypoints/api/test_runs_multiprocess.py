"""Runs across server processes: two ``configurator serve`` processes on one PostgreSQL
database and one data dir — a run created on one is streamed to its end, read and
cancelled on the other; a server killed while executing leaves its run failed with a
reason (the other one notices); ``serve --workers 2`` starts two processes (and refuses
SQLite); a killed worker process fails only its own run."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest

from configurator.adapters.db.store import Store
from configurator.adapters.db.tables import RunRow, RunServerRow
from configurator.settings import Settings
from tests.support.farm import register_printer
from tests.support.live_app import Server, wait_finished
from tests.support.servers import PG_ENV, ServerProcess, fresh_postgres_database

SLOW = {"catalog_id": "enclosure", "objectives": ["mass"], "evals": 20_000, "seed": 5, "top": 3}
QUICK = {"catalog_id": "enclosure", "objectives": ["mass", "stiffness"], "evals": 500, "seed": 2}
ENV = {"CONFIGURATOR_ADMIN_KEY": "mp-admin", "CONFIGURATOR_RUN_WORKERS": "1",
       "CONFIGURATOR_RUN_LEASE_S": "3"}  # fmt: skip

needs_pg = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set")


def events(base_url: str, run_id: str, *, headers=None, until=("end",)) -> list:
    """(id, event, data) of a run's stream on one server, until an event kind in ``until``."""
    out, seq, kind = [], None, None
    with (
        httpx.Client(base_url=base_url, timeout=120) as c,
        c.stream("GET", f"/api/v1/runs/{run_id}/events", headers=headers) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((seq, kind, json.loads(line[6:])))
                seq = None
                if kind in until:
                    break
    return out


def run_row(db: str, run_id: str) -> RunRow:
    store = Store(db)
    try:
        with store.transaction() as s:
            return s.get(RunRow, run_id)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    """``serve --workers 2`` (two processes behind one port) and a plain ``serve``, on one
    fresh PostgreSQL database and one data dir."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set (scripts/test.sh starts PostgreSQL)")
    data = tmp_path_factory.mktemp("mp")
    with fresh_postgres_database() as db:
        a = ServerProcess(data, database=db, env=ENV, args=["--workers", "2"])
        b = ServerProcess(data, database=db, env=ENV)
        try:
            a.wait_ready(240)
            b.wait_ready(240)
            register_printer(a.url, ENV["CONFIGURATOR_ADMIN_KEY"])  # runs need a farm
            yield a, b, db
        finally:
            for s in (a, b):
                s.stop()


def server_pids(db: str) -> set[int]:
    store = Store(db)
    try:
        with store.transaction() as s:
            return {r.pid for r in s.query(RunServerRow).all()}
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_run_made_on_one_server_streams_to_its_end_on_the_other(two_servers):
    a, b, db = two_servers
    created = httpx.post(b.url + "/api/v1/runs", json=QUICK, timeout=60)
    assert created.status_code == 202, created.text
    run_id = created.json()["id"]
    got = events(a.url, run_id)
    assert got[0][:2] == (1, "status") and got[0][2]["status"] == "queued"
    ids = [e[0] for e in got if e[0] is not None]
    assert ids == list(range(1, len(ids) + 1))  # stored events, in order, none missing
    assert any(kind == "progress" for _, kind, _ in got)
    assert got[-1][1] == "end" and got[-1][2]["status"] == "done"
    on_a = httpx.get(f"{a.url}/api/v1/runs/{run_id}", timeout=30).json()
    on_b = httpx.get(f"{b.url}/api/v1/runs/{run_id}", timeout=30).json()
    assert on_a == on_b and on_b["status"] == "done" and on_b["designs"]
    design = on_b["designs"][0]["design_id"]
    for server in (a, b):  # either serves the design (one data dir)
        assert httpx.get(f"{server.url}/api/v1/designs/{design}", timeout=60).status_code == 200
    # resume on the other server after the 2nd event: the rest, ending with `end`
    resumed = events(b.url, run_id, headers={"Last-Event-ID": "2"})
    assert [e[0] for e in resumed] == ids[2:]


@pytest.mark.postgres
def test_serve_workers_runs_n_processes(two_servers):
    a, b, db = two_servers
    pids = server_pids(db)
    assert len(pids) == 3 and b.pid in pids and a.pid not in pids  # a's two children + b


@pytest.mark.postgres
def test_cancel_from_the_other_server(two_servers):
    a, b, db = two_servers
    run_id = httpx.post(a.url + "/api/v1/runs", json=SLOW, timeout=60).json()["id"]
    seen = events(b.url, run_id, until=("progress",))  # running somewhere, streamed on b
    assert seen[-1][1] == "progress"
    cancelled = httpx.delete(f"{b.url}/api/v1/runs/{run_id}", timeout=30)
    assert cancelled.status_code == 202
    end = events(a.url, run_id)[-1]
    assert end[1] == "end" and end[2]["status"] == "cancelled"
    run = wait_finished(httpx.Client(base_url=a.url, timeout=30), run_id)
    assert run["status"] == "cancelled" and run["stats"]["stopped_by"] == "cancelled"


@pytest.mark.postgres
def test_a_killed_server_leaves_its_run_failed_with_a_reason(two_servers):
    """SIGKILL the process executing a run (one of `--workers 2`'s, or the plain server):
    another process fails the run with the reason once its lease is past."""
    a, b, db = two_servers
    run_id = httpx.post(b.url + "/api/v1/runs", json=SLOW, timeout=60).json()["id"]
    deadline = time.monotonic() + 60
    while (row := run_row(db, run_id)).status != "running" or row.worker is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    owner_pid = int(row.owner.split(":")[1])
    os.kill(owner_pid, signal.SIGKILL)  # no chance to clean up
    survivor = a if owner_pid == b.pid else b  # a's supervisor restarts its killed child
    end = events(survivor.url, run_id)[-1]
    assert end[1] == "end" and end[2]["status"] == "failed"
    assert "server process executing the search stopped" in end[2]["message"]
    run = httpx.get(f"{survivor.url}/api/v1/runs/{run_id}", timeout=30).json()
    assert run["status"] == "failed" and run["finished"]
    again = httpx.post(survivor.url + "/api/v1/runs", json=QUICK, timeout=60).json()
    assert events(survivor.url, again["id"])[-1][2]["status"] == "done"


def test_serve_workers_needs_postgres(tmp_path):
    server = ServerProcess(tmp_path, args=["--workers", "2"])
    assert server.proc.wait(60) == 2
    out = server.output()
    server.stop()
    assert "needs PostgreSQL" in out and "Traceback" not in out


def test_a_killed_worker_process_fails_only_its_run(tmp_path):
    settings = Settings(data_dir=tmp_path, admin_key="admin", run_workers=1)
    with Server(settings) as api:
        register_printer(str(api.base_url), "admin")
        run_id = api.post("/api/v1/runs", json=SLOW).json()["id"]
        deadline = time.monotonic() + 60
        while (row := run_row(settings.resolved_database_url, run_id)).worker is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(int(row.worker.rsplit(":", 1)[1]), signal.SIGKILL)
        run = wait_finished(api, run_id)
        assert run["status"] == "failed"
        assert "killed by SIGKILL" in run["message"], run["message"]
        again = api.post("/api/v1/runs", json=QUICK).json()  # a fresh worker takes the next
        assert wait_finished(api, again["id"])["status"] == "done"
