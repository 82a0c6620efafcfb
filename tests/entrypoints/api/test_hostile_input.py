"""Hostile input is a 4xx and nothing else, on SQLite and PostgreSQL: the regression corpus
of the issue (lone surrogates, raw invalid UTF-8, NUL characters, an 11 MB heartbeat, a
chunked body past the limit, too many materials), and a property test throwing random
Unicode and bytes at every JSON endpoint of the live app."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.entrypoints.api.app import _validation_response
from configurator.settings import Settings
from tests.entrypoints.api.conftest import ADMIN, LiveServer
from tests.support.farm import STL

NODE = {"name": "mk4", "technology": "FDM", "build_volume": [200, 200, 200]}
JSON = {"content-type": "application/json"}


@pytest.fixture
def farm(db_url, tmp_path):
    """The live app on ``db_url`` with one node; yields (server, admin client, node client)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, admin_key=ADMIN)
    with LiveServer(settings) as srv:
        admin = srv.client(ADMIN)
        key = admin.post("/api/v1/farm/nodes", json={**NODE, "materials": {"PLA": 900}}).json()
        node = srv.client(key["node_key"])
        yield srv, admin, node
        admin.close()
        node.close()


def _detail_locs(r: httpx.Response) -> list[list]:
    return [e["loc"] for e in r.json()["detail"]]


def test_lone_surrogates_and_raw_bytes_are_422(farm):
    srv, admin, node = farm
    r = node.post("/api/v1/farm/agent/heartbeat", content=b'{"state":"\\udcff"}', headers=JSON)
    assert r.status_code == 422 and _detail_locs(r) == [["body", "state"]]
    assert "surrogate" in r.json()["detail"][0]["msg"]
    # the same connection serves the next request (it used to be reset)
    assert node.post("/api/v1/farm/agent/heartbeat", json={"state": "idle"}).status_code == 200
    body = json.dumps({**NODE, "name": "\ud800"}).encode()  # ensure_ascii: "\ud800" escape
    r = admin.post("/api/v1/farm/nodes", content=body, headers=JSON)
    assert r.status_code == 422 and _detail_locs(r) == [["body", "name"]]
    raw = b'{"name":"\xed\xa0\x80","technology":"FDM","build_volume":[200,200,200]}'
    r = admin.post("/api/v1/farm/nodes", content=raw, headers=JSON)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "unicode_error"
    key = json.dumps({"state": "idle", "materials": {"\udcffPLA": 1}}).encode()
    r = node.post("/api/v1/farm/agent/heartbeat", content=key, headers=JSON)
    assert r.status_code == 422 and _detail_locs(r)[0][:2] == ["body", "materials"]
    assert [n["name"] for n in admin.get("/api/v1/farm/nodes").json()] == ["mk4"]


def test_nul_characters_are_422_everywhere(farm):
    srv, admin, node = farm
    r = admin.post("/api/v1/farm/nodes", json={**NODE, "name": "a\x00b"})
    assert r.status_code == 422 and _detail_locs(r) == [["body", "name"]]
    job = admin.post(
        "/api/v1/farm/jobs",
        files={"file": ("part.stl", STL)},
        data={"design_id": "d1", "material": "PLA", "bbox_x": 20, "bbox_y": 20, "bbox_z": 10,
              "est_seconds": 60, "grams": 5, "label": "order\x00 1"},
    )  # fmt: skip
    assert job.status_code == 422 and _detail_locs(job) == [["body", "label"]]
    ok = admin.post(
        "/api/v1/farm/jobs",
        files={"file": ("part.stl", STL)},
        data={"design_id": "d1", "material": "PLA", "bbox_x": 20, "bbox_y": 20, "bbox_z": 10,
              "est_seconds": 60, "grams": 5},
    )  # fmt: skip
    assert ok.status_code == 201, ok.text
    claimed = node.post("/api/v1/farm/agent/claim").json()["job"]
    r = node.post(f"/api/v1/farm/agent/jobs/{claimed['id']}/fail", json={"reason": "jam\x00"})
    assert r.status_code == 422 and _detail_locs(r) == [["body", "reason"]]
    r = admin.get("/api/v1/farm/jobs", params={"node_id": "n\x00"})
    assert r.status_code == 422 and _detail_locs(r) == [["query", "node_id"]]
    r = admin.get("/api/v1/farm/nodes/n%00x")
    assert r.status_code in (404, 422)
    r = httpx.post(srv.url + "/api/v1/runs", json={"catalog_id": "enclosure\x00"})
    assert r.status_code == 422 and _detail_locs(r) == [["body", "catalog_id"]]
    assert node.post(f"/api/v1/farm/agent/jobs/{claimed['id']}/fail",
                     json={"reason": "jam"}).status_code == 200  # fmt: skip


def test_bodies_past_their_limit_are_413(farm):
    srv, admin, node = farm
    huge = {"state": "idle", "materials": {f"M{i}": 1.0 for i in range(800_000)}}
    body = json.dumps(huge).encode()
    assert len(body) > 10_000_000
    r = node.post("/api/v1/farm/agent/heartbeat", content=body, headers=JSON)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(100):
            yield b" " * 1024

    r = node.post("/api/v1/farm/agent/heartbeat", content=chunks(), headers=JSON)
    assert r.status_code == 413
    many = {"state": "idle", "materials": {f"M{i}": 1.0 for i in range(65)}}
    r = node.post("/api/v1/farm/agent/heartbeat", json=many)
    assert r.status_code == 422 and _detail_locs(r) == [["body", "materials"]]
    # the farm is as fast as before: the node still has its one material
    ok = node.post("/api/v1/farm/agent/heartbeat", json={"state": "idle"})
    assert ok.status_code == 200 and ok.json()["node"]["materials"] == {"PLA": 900.0}
    big_run = {"catalog_id": "enclosure", "requirements": {f"r{i}": 1 for i in range(20_000)}}
    assert httpx.post(srv.url + "/api/v1/runs", json=big_run).status_code == 413


def test_the_validation_handler_never_fails_on_what_it_echoes():
    exc = RequestValidationError(
        [
            {"type": "x", "loc": ("body", "\ud800"), "msg": "m", "input": b"\xed\xa0\x80\x00"},
            {"type": "y", "loc": ("body",), "msg": "m", "input": {"\udcff": float("nan")}},
            {"type": "z", "loc": ("body",), "msg": "m", "input": object()},
        ]
    )
    r = _validation_response(exc)
    assert r.status_code == 422
    detail = json.loads(r.body)["detail"]
    assert detail[0]["loc"] == ["body", "\\ud800"]
    assert detail[1]["input"] == {"\\udcff": "NaN"}


# ------------------------------------------------------------------ property test
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    VALUES.map(lambda v: json.dumps(v, ensure_ascii=True, allow_nan=True).encode()),
    st.dictionaries(TEXT, VALUES, max_size=5).map(
        lambda v: json.dumps(v, ensure_ascii=True, allow_nan=True).encode()
    ),
    st.binary(max_size=200),
)


def json_operations(app) -> list[tuple[str, str]]:
    """(method, path) of every operation taking a JSON body, path ids filled in."""
    ops = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ops.append(
                    (method.upper(), path.replace("{node_id}", "nX").replace("{job_id}", "1"))
                )
    return sorted(ops)


def test_random_unicode_and_bytes_at_every_json_endpoint(farm):
    srv, admin, node = farm
    ops = json_operations(srv.app)
    assert ("POST", "/api/v1/farm/agent/heartbeat") in ops and ("POST", "/api/v1/runs") in ops
    clients = [admin, node]

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.sampled_from(ops), BODIES, st.sampled_from([0, 1]), st.booleans())
    def throw(op, body, who, with_type):
        method, path = op
        headers = JSON if with_type else {}
        r = clients[who].request(method, path, content=body, headers=headers)
        assert r.status_code < 500, (method, path, body, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/json")

    throw()
