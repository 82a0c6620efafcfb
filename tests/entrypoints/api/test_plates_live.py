"""Plate batching on the real server (uvicorn on loopback, a real node agent over HTTP):
two orders of small PLA parts submitted within the batching window print as ONE build on
one node, each order's page shows its own piece done; the finished plate blocks the node
until the operator's plate-cleared; a rush order is not held for batching."""

from __future__ import annotations

import threading
import time

import pytest

from configurator.adapters.connectors import SimulatedPrinter
from configurator.adapters.farm_client import NodeClient
from configurator.entrypoints.node.agent import run_agent
from configurator.settings import Settings
from tests.support.live_app import Server, wait_finished

ADMIN = "plates-admin"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("plates"),
        admin_key=ADMIN,
        run_workers=1,
        batching=True,
        batch_wait_s=3.0,
        batch_plate_s=7 * 86400.0,  # enclosures are hours each: let the plate hold two
        farm_calendar="always",
    )
    with Server(settings) as api:
        r = api.post(
            "/api/v1/farm/nodes",
            json={
                "name": "big-01",
                "technology": "FDM",
                "build_volume": [350, 350, 300],
                "materials": {"PLA": 50_000},
                "auto_clear": False,
                "setup_s": 0,
            },
            headers=AUTH,
        )
        assert r.status_code == 201, r.text
        node = r.json()
        stop = threading.Event()
        client = NodeClient(str(api.base_url), node["node_key"], retry_for_s=5.0, stop=stop)
        agent = threading.Thread(
            target=run_agent,
            args=(client, SimulatedPrinter(speed=20_000, seed=3)),
            kwargs={"stop": stop, "poll_s": 0.1},
            daemon=True,
        )
        agent.start()
        yield api, node["node"]["id"]
        stop.set()
        agent.join(20)
        client.close()


@pytest.fixture(scope="module")
def design(farm):
    api, _ = farm
    r = api.post(
        "/api/v1/runs",
        json={"catalog_id": "enclosure", "objectives": ["mass"], "material": "PLA", "evals": 300},
    )
    run = wait_finished(api, r.json()["id"])
    assert run["status"] == "done", run["message"]
    return run["designs"][0]


def _order(api, design, priority="normal") -> str:
    r = api.post(
        "/api/v1/orders",
        json={"design_id": design["design_id"], "material": "PLA", "priority": priority},
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _wait(pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def _job(api, job_id):
    return api.get(f"/api/v1/farm/jobs/{job_id}", headers=AUTH).json()


def test_two_orders_one_build_then_plate_cleared_then_rush(farm, design):
    api, node_id = farm
    first, second = _order(api, design), _order(api, design)
    orders = {t: api.get(f"/api/v1/orders/{t}").json() for t in (first, second)}
    ids = [o["jobs"][0]["job_id"] for o in orders.values()]
    _wait(lambda: all(api.get(f"/api/v1/orders/{t}").json()["state"] == "done" for t in orders))
    jobs = [_job(api, i) for i in ids]
    assert {j["node_id"] for j in jobs} == {node_id}
    batch = jobs[0]["batch_id"]
    assert batch is not None and jobs[1]["batch_id"] == batch  # one build
    claims = [e for j in jobs for e in j["events"] if e["kind"] == "claimed"]
    assert len(claims) == 2 and all(f"plate {batch}: 2 jobs" in e["reason"] for e in claims)
    for token, job_id in zip(orders, ids, strict=True):  # each page shows its own piece done
        page = api.get(f"/orders/{token}")
        assert page.status_code == 200 and '<dd id="order-state">done</dd>' in page.text
        mine = api.get(f"/api/v1/orders/{token}").json()["jobs"]
        assert [(j["job_id"], j["state"]) for j in mine] == [(job_id, "done")]
    # the finished plate waits for the operator; a rush order is routed but not started
    node = api.get(f"/api/v1/farm/nodes/{node_id}", headers=AUTH).json()
    assert node["plate_clear_at"] is None
    rush = _order(api, design, priority="rush")
    rush_id = api.get(f"/api/v1/orders/{rush}").json()["jobs"][0]["job_id"]
    time.sleep(1.0)  # the agent polls every 0.1 s: it is refused (204) meanwhile
    assert _job(api, rush_id)["state"] == "assigned"
    r = api.post(f"/api/v1/farm/nodes/{node_id}/plate-cleared", headers=AUTH)
    assert r.status_code == 200 and r.json()["plate_clear_at"] is not None
    cleared = time.monotonic()
    _wait(lambda: _job(api, rush_id)["state"] in ("printing", "done"), timeout=10)
    assert time.monotonic() - cleared < 3.0  # not held for the 3 s batching window
    _wait(lambda: api.get(f"/api/v1/orders/{rush}").json()["state"] == "done")
    done = _job(api, rush_id)
    assert done["batch_id"] is None
    kinds = [e["kind"] for e in api.get("/api/v1/farm/status", headers=AUTH).json()["events"]]
    assert "plate-cleared" in kinds


def test_plate_cleared_needs_the_operator_key_and_a_known_node(farm):
    api, node_id = farm
    assert api.post(f"/api/v1/farm/nodes/{node_id}/plate-cleared").status_code == 401
    r = api.post("/api/v1/farm/nodes/nope/plate-cleared", headers=AUTH)
    assert r.status_code == 404
