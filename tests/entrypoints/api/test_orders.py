"""Orders API against the real app on loopback: a design from a real run becomes one farm
job per piece, routed to a registered node; the order reads back by its token only."""

from __future__ import annotations

import time

import pytest

from configurator.settings import Settings
from tests.support.live_app import Server, wait_finished

ADMIN = "orders-admin"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("orders"), admin_key=ADMIN, run_workers=1)
    with Server(settings) as client:
        node = client.post(
            "/api/v1/farm/nodes",
            json={
                "name": "mk4-test",
                "technology": "FDM",
                "build_volume": [250, 210, 220],
                "materials": {"PLA": 5000, "PETG": 5000},
                "speed": 1.0,
            },
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert node.status_code == 201, node.text
        yield client


@pytest.fixture(scope="module")
def design(api):
    r = api.post(
        "/api/v1/runs",
        json={
            "catalog_id": "enclosure",
            "objectives": ["mass"],
            "material": "PLA",
            "evals": 300,
            "top": 2,
        },
    )
    run = wait_finished(api, r.json()["id"])
    assert run["status"] == "done", run["message"]
    return run["designs"][0]


def test_order_creates_routed_jobs_and_reads_back(api, design):
    r = api.post(
        "/api/v1/orders",
        json={
            "design_id": design["design_id"],
            "material": "PLA",
            "quantity": 2,
            "priority": "rush",
        },
    )
    assert r.status_code == 201, r.text
    order = r.json()
    token = order["token"]
    assert len(token) >= 32 and r.headers["location"] == f"/orders/{token}"
    assert order["quantity"] == 2 and order["priority"] == "rush" and order["material"] == "PLA"
    assert order["price_each"] > 0 and order["price_total"] == pytest.approx(
        2 * order["price_each"], abs=0.011
    )
    assert len(order["jobs"]) == 2
    for piece, job in enumerate(order["jobs"], start=1):
        assert job["piece"] == piece
        assert job["state"] == "assigned" and job["node_name"] == "mk4-test"
        assert job["est_finish"] > time.time()
    assert [j["queue_position"] for j in order["jobs"]] == [0, 1]
    again = api.get(f"/api/v1/orders/{token}").json()
    assert [j["job_id"] for j in again["jobs"]] == [j["job_id"] for j in order["jobs"]]
    page = api.get(f"/orders/{token}")
    # the page carries the order (jobs, nodes) for its script to render and refresh
    assert page.status_code == 200 and token in page.text and "mk4-test" in page.text
    # the farm got the design's 3MF
    jobs = api.get(
        "/api/v1/farm/jobs",
        params={"node_id": order["jobs"][0]["node_id"]},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()
    mine = [j for j in jobs if j["id"] in {x["job_id"] for x in order["jobs"]}]
    assert {j["file_name"].rsplit(".", 1)[1] for j in mine} == {"3mf"}
    assert {j["priority"] for j in mine} == {10}


def test_unknown_token_is_404(api):
    assert api.get("/api/v1/orders/not-a-real-token-at-all").status_code == 404
    assert api.get("/orders/not-a-real-token-at-all").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"design_id": "f" * 64}, "design_id"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 21}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"material": "Ti-6Al-4V"}, "material"),
        ({"priority": "yesterday"}, "priority"),
    ],
)
def test_bad_order_is_a_field_level_422(api, design, body, field):
    r = api.post("/api/v1/orders", json={"design_id": design["design_id"], **body})
    assert r.status_code == 422, r.text
    assert field in [e["loc"][-1] for e in r.json()["detail"]], r.json()
