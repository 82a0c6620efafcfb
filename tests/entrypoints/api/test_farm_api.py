"""Farm API over real HTTP: authentication of every endpoint, ownership, validation."""

from __future__ import annotations

import pytest

from configurator.core.farm.demo import box_stl
from tests.entrypoints.api.conftest import ADMIN

STL = box_stl(30, 20, 10)
NODE = {
    "name": "n1",
    "technology": "FDM",
    "build_volume": [200, 200, 200],
    "materials": {"PLA": 1000},
    "auto_clear": True,
    "setup_s": 0,
}
JOB_FIELDS = {
    "design_id": "d1",
    "material": "PLA",
    "bbox_x": "30",
    "bbox_y": "20",
    "bbox_z": "10",
    "est_seconds": "600",
    "grams": "12",
}


@pytest.fixture
def farm(live):
    """Two nodes; job 1 claimed by its node (``owner``), the other node is ``other``."""
    admin = live.client(ADMIN)
    keys = {}
    for name in ("n1", "n2"):
        r = admin.post("/api/v1/farm/nodes", json={**NODE, "name": name})
        assert r.status_code == 201, r.text
        keys[r.json()["node"]["id"]] = r.json()["node_key"]
    r = admin.post("/api/v1/farm/jobs", files={"file": ("p.stl", STL)}, data=JOB_FIELDS)
    assert r.status_code == 201, r.text
    job = r.json()
    owner = live.client(keys[job["node_id"]])
    other = live.client(next(k for n, k in keys.items() if n != job["node_id"]))
    r = owner.post("/api/v1/farm/agent/claim")
    assert r.status_code == 200 and r.json()["job"]["id"] == job["id"]
    return {"admin": admin, "owner": owner, "other": other, "job": job, "keys": keys}


def operator_calls(job_id, node_id):
    return [
        ("POST", "/api/v1/farm/nodes", {"json": {**NODE, "name": "n9"}}),
        ("GET", "/api/v1/farm/nodes", {}),
        ("GET", f"/api/v1/farm/nodes/{node_id}", {}),
        ("PATCH", f"/api/v1/farm/nodes/{node_id}", {"json": {"speed": 1.5}}),
        ("POST", f"/api/v1/farm/nodes/{node_id}/drain", {}),
        ("DELETE", f"/api/v1/farm/nodes/{node_id}", {}),
        ("GET", "/api/v1/farm/jobs", {}),
        ("POST", "/api/v1/farm/jobs", {"files": {"file": ("p.stl", STL)}, "data": JOB_FIELDS}),
        ("GET", f"/api/v1/farm/jobs/{job_id}", {}),
        ("POST", f"/api/v1/farm/jobs/{job_id}/cancel", {}),
        ("POST", f"/api/v1/farm/jobs/{job_id}/requeue", {}),
        ("GET", "/api/v1/farm/status", {}),
    ]


def node_calls(job_id):
    return [
        ("POST", "/api/v1/farm/agent/heartbeat", {"json": {"state": "printing"}}),
        ("POST", "/api/v1/farm/agent/claim", {}),
        ("GET", f"/api/v1/farm/agent/jobs/{job_id}/file", {}),
        (
            "POST",
            f"/api/v1/farm/agent/jobs/{job_id}/progress",
            {"json": {"percent": 10, "seconds_left": 500}},
        ),
        (
            "POST",
            f"/api/v1/farm/agent/jobs/{job_id}/complete",
            {"json": {"actual_seconds": 550, "grams_used": 11}},
        ),
        ("POST", f"/api/v1/farm/agent/jobs/{job_id}/fail", {"json": {"reason": "x"}}),
    ]


def test_every_endpoint_refuses_missing_wrong_and_cross_keys(live, farm):
    job_id, node_id = farm["job"]["id"], farm["job"]["node_id"]
    anon, wrong = live.client(), live.client("cfn_not-a-key")
    for method, path, kw in operator_calls(job_id, node_id):
        assert anon.request(method, path, **kw).status_code == 401, path
        r = wrong.request(method, path, **kw)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert farm["owner"].request(method, path, **kw).status_code == 403, path
    for method, path, kw in node_calls(job_id):
        assert anon.request(method, path, **kw).status_code == 401, path
        assert wrong.request(method, path, **kw).status_code == 401, path
        assert farm["admin"].request(method, path, **kw).status_code == 403, path
    # another node can never act on this node's job
    for method, path, kw in node_calls(job_id)[2:]:
        assert farm["other"].request(method, path, **kw).status_code == 403, path


def test_operator_endpoints_work_with_the_admin_key(live, farm):
    admin, job_id, node_id = farm["admin"], farm["job"]["id"], farm["job"]["node_id"]
    expected = [201, 200, 200, 200, 200, 204, 200, 201, 200, 200, 409, 200]
    got = [admin.request(m, p, **kw).status_code for m, p, kw in operator_calls(job_id, node_id)]
    assert got == expected  # requeue of a cancelled (not dead-letter) job is a conflict


def test_node_endpoints_work_with_the_node_key(farm):
    owner, job_id = farm["owner"], farm["job"]["id"]
    assert (
        owner.post("/api/v1/farm/agent/heartbeat", json={"state": "printing"}).json()["node"][
            "state"
        ]
        == "printing"
    )
    assert (
        owner.post("/api/v1/farm/agent/claim").json()["job"]["id"] == job_id
    )  # already printing it
    r = owner.get(f"/api/v1/farm/agent/jobs/{job_id}/file")
    assert r.content == STL and r.headers["content-type"] == "model/stl"
    assert (
        owner.post(
            f"/api/v1/farm/agent/jobs/{job_id}/progress", json={"percent": 50, "seconds_left": 300}
        ).json()["progress_pct"]
        == 50
    )
    body = {"actual_seconds": 580.5, "grams_used": 11.5}
    first = owner.post(f"/api/v1/farm/agent/jobs/{job_id}/complete", json=body)
    again = owner.post(f"/api/v1/farm/agent/jobs/{job_id}/complete", json=body)
    assert first.status_code == again.status_code == 200 and again.json()["state"] == "done"
    assert (
        owner.post(f"/api/v1/farm/agent/jobs/{job_id}/fail", json={"reason": "late"}).status_code
        == 409
    )
    assert owner.post("/api/v1/farm/agent/claim").status_code == 204
    detail = farm["admin"].get(f"/api/v1/farm/jobs/{job_id}").json()
    assert detail["actual_seconds"] == 580.5 and [e["kind"] for e in detail["events"]] == [
        "submitted",
        "assigned",
        "claimed",
        "completed",
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/farm/nodes", {**NODE, "build_volume": [200, -1, 200]}, "build_volume"),
        ("/api/v1/farm/nodes", {**NODE, "technology": "FFF"}, "technology"),
        ("/api/v1/farm/nodes", {**NODE, "speed": 0}, "speed"),
        ("/api/v1/farm/nodes", {**NODE, "speed": 1e-300}, "speed"),
        ("/api/v1/farm/nodes", {**NODE, "materials": {"PLA": -5}}, "materials"),
        ("/api/v1/farm/nodes", {**NODE, "colour": "red"}, "colour"),
        ("/api/v1/farm/nodes", {**NODE, "setup_s": -1}, "setup_s"),
        ("/api/v1/farm/nodes", {**NODE, "setup_s": 1e9}, "setup_s"),
        ("/api/v1/farm/nodes", {**NODE, "auto_clear": "sometimes"}, "auto_clear"),
    ],
)
def test_node_registration_validation_names_the_field(farm, path, body, field):
    r = farm["admin"].post(path, json=body)
    assert r.status_code == 422
    assert any(field in map(str, d["loc"]) for d in r.json()["detail"]), r.json()


@pytest.mark.parametrize(
    ("override", "file", "field"),
    [
        ({"bbox_x": "-3"}, ("p.stl", STL), "bbox_x"),
        ({"est_seconds": "abc"}, ("p.stl", STL), "est_seconds"),
        ({"material": "UNOBTAINIUM"}, ("p.stl", STL), "material"),
        ({"deadline": "tomorrow"}, ("p.stl", STL), "deadline"),
        ({}, ("p.obj", STL), "file"),
        ({}, ("p.stl", b"solid nothing here"), "file"),
        ({}, ("p.3mf", STL), "file"),
    ],
)
def test_job_submission_validation_names_the_field(farm, override, file, field):
    r = farm["admin"].post(
        "/api/v1/farm/jobs", files={"file": file}, data={**JOB_FIELDS, **override}
    )
    assert r.status_code == 422
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


def test_agent_reports_are_validated(farm):
    owner, job_id = farm["owner"], farm["job"]["id"]
    r = owner.post(
        f"/api/v1/farm/agent/jobs/{job_id}/progress", json={"percent": 140, "seconds_left": 5}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "percent"
    r = owner.post("/api/v1/farm/agent/heartbeat", json={"state": "maintenance"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "state"
    r = owner.post("/api/v1/farm/agent/heartbeat", json={"state": "offline", "reason": "x" * 501})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = owner.post(
        f"/api/v1/farm/agent/jobs/{job_id}/complete", json={"actual_seconds": 0, "grams_used": 1}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "actual_seconds"


def test_status_and_openapi_examples(live, farm):
    st = farm["admin"].get("/api/v1/farm/status").json()
    assert st["jobs"]["printing"] == 1 and len(st["nodes"]) == 2
    busy = next(n for n in st["nodes"] if n["node"]["id"] == farm["job"]["node_id"])
    assert busy["queue"] == [farm["job"]["id"]] and busy["load_s"] == pytest.approx(600, abs=5)
    spec = live.client().get("/openapi.json").json()
    for name in (
        "NodeCreate",
        "NodeRegistered",
        "JobPublic",
        "FarmStatus",
        "Heartbeat",
        "Progress",
        "Complete",
        "Fail",
    ):
        assert spec["components"]["schemas"][name].get("examples"), name
    assert {"OperatorKey", "NodeKey"} <= set(spec["components"]["securitySchemes"])


BIG = 10**23  # past a 64-bit integer: the database cannot even compare with it


def test_out_of_range_job_ids_are_field_422s_not_500s(farm):
    """Regression: a job id past 64 bits reached SQLite and raised OverflowError (500)."""
    for client, method, path, kw in [
        (farm["admin"], "GET", f"/api/v1/farm/jobs/{BIG}", {}),
        (farm["admin"], "POST", f"/api/v1/farm/jobs/{BIG}/cancel", {}),
        (farm["admin"], "POST", f"/api/v1/farm/jobs/{BIG}/requeue", {}),
        (farm["admin"], "GET", "/api/v1/farm/jobs/0", {}),
        *((farm["owner"], m, p, kw) for m, p, kw in node_calls(BIG)[2:]),
    ]:
        r = client.request(method, path, **kw)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["loc"] == ["path", "job_id"], path
    r = farm["admin"].get("/api/v1/farm/jobs", params={"offset": BIG})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "offset"]


@pytest.mark.parametrize("deadline", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"])
def test_deadline_without_a_utc_date_is_refused_and_the_job_list_survives(farm, deadline):
    """Regression: such a deadline was stored, then every GET /farm/jobs answered 500."""
    admin = farm["admin"]
    r = admin.post(
        "/api/v1/farm/jobs",
        files={"file": ("p.stl", STL)},
        data={**JOB_FIELDS, "deadline": deadline},
    )
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "deadline"]]
    assert admin.get("/api/v1/farm/jobs").status_code == 200


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_json_are_field_422s(farm, number):
    """Regression: FastAPI echoed the non-finite input in its 422, which strict JSON
    cannot render, so the client got a bare 500 instead."""
    body = '{"name": "n5", "technology": "FDM", "build_volume": [100, 100, NUMBER]}'
    body = body.replace("NUMBER", number)
    r = farm["admin"].post(
        "/api/v1/farm/nodes", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "build_volume", 2]
    assert error["input"] in ("NaN", "Infinity", "-Infinity")
