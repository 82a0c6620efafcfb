"""Runs API against the real app on loopback: 202 + SSE progress + designs, per-field 422s,
the 429 and evaluation-budget limits, cancellation, design files, catalogs, and the
run manager on a real (local) Dask cluster."""

from __future__ import annotations

import io
import json
import time
import zipfile

import httpx
import numpy as np
import pytest
from stl import mesh as stl_mesh

from configurator.settings import Settings
from tests.support.farm import register_printer
from tests.support.live_app import Server, wait_finished


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("runs"),
        admin_key="admin",
        max_evals_per_run=20_000,
        run_workers=1,
    )
    with Server(settings) as client:
        # runs are limited to what the server's farm can make: one FDM printer for the enclosure
        node = client.post(
            "/api/v1/farm/nodes",
            json={
                "name": "x1c-runs",
                "technology": "FDM",
                "build_volume": [256, 256, 256],
                "materials": {"PLA": 5000, "PETG": 5000, "ASA": 5000},
            },
            headers={"Authorization": "Bearer admin"},
        )
        assert node.status_code == 201, node.text
        yield client


def sse_events(
    api: httpx.Client, run_id: str, headers: dict | None = None
) -> list[tuple[str, dict]]:
    """Every (event, data) of a run's stream, read until the terminal `end` event."""
    out, kind = [], None
    with api.stream("GET", f"/api/v1/runs/{run_id}/events", headers=headers) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
                if kind == "end":
                    break
    return out


RUN = {
    "catalog_id": "enclosure",
    "requirements": {"board_length": 90, "board_width": 60},
    "objectives": ["mass", "stiffness"],
    "evals": 400,
    "seed": 3,
    "top": 5,
}


@pytest.fixture(scope="module")
def finished_run(api):
    r = api.post("/api/v1/runs", json=RUN)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/runs/{r.json()['id']}"
    events = sse_events(api, r.json()["id"])
    return r.json()["id"], events, api.get(f"/api/v1/runs/{r.json()['id']}").json()


def test_run_streams_progress_then_designs(finished_run):
    run_id, events, run = finished_run
    kinds = [k for k, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    assert "running" in [d.get("status") for k, d in events if k == "status"]
    progress = [d for k, d in events if k == "progress"]
    assert progress, kinds
    assert [p["generation"] for p in progress] == sorted(p["generation"] for p in progress)
    last = progress[-1]
    assert last["evaluations"] <= last["budget"] == 400
    assert set(last["best"]) >= {"mass", "stiffness"}
    assert events[-1][1]["status"] == "done"
    assert run["status"] == "done" and run["pareto"] is True
    assert [o["name"] for o in run["objectives"]] == ["mass", "stiffness"]
    assert 1 <= len(run["designs"]) <= 5
    for d in run["designs"]:
        assert d["feasible"] and d["requirements"]["board_length"] == 90
        assert d["links"]["stl"] == f"/api/v1/designs/{d['design_id']}.stl"


def test_same_seed_same_designs(api, finished_run):
    _, _, first = finished_run
    r = api.post("/api/v1/runs", json=RUN)
    again = wait_finished(api, r.json()["id"])
    assert [d["design_id"] for d in again["designs"]] == [d["design_id"] for d in first["designs"]]


def test_late_subscriber_replays_everything(api, finished_run):
    run_id, events, _ = finished_run
    assert sse_events(api, run_id) == events


def test_design_files_and_detail(api, finished_run):
    design = finished_run[2]["designs"][0]
    stl = api.get(design["links"]["stl"])
    assert stl.status_code == 200 and stl.headers["content-type"] == "model/stl"
    m = stl_mesh.Mesh.from_file("d.stl", fh=io.BytesIO(stl.content))
    assert len(m.vectors) > 100
    extent = m.max_ - m.min_
    assert np.all(extent > 5)
    assert m.is_closed(exact=True)
    three = api.get(design["links"]["3mf"])
    assert three.status_code == 200
    assert "3D/3dmodel.model" in zipfile.ZipFile(io.BytesIO(three.content)).namelist()
    detail = api.get(design["links"]["self"]).json()
    assert detail["design_id"] == design["design_id"]
    assert "estimate" in detail
    assert api.get("/api/v1/designs/" + "0" * 64 + ".stl").status_code == 404
    assert api.get("/api/v1/designs/not-a-design").status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"requirements": {"board_length": 5}}, ["body", "requirements", "board_length"]),
        ({"requirements": {"nonsense": 1}}, ["body", "requirements", "nonsense"]),
        ({"locks": {"wall": 99}}, ["body", "locks", "wall"]),
        ({"objectives": ["beauty"]}, ["body", "objectives"]),
        ({"material": "gold"}, ["body", "material"]),
        ({"evals": 50}, ["body", "evals"]),
        ({"evals": 25_000}, ["body", "evals"]),
        ({"catalog_id": "nope"}, ["body", "catalog_id"]),
    ],
)
def test_bad_input_is_a_field_level_422(api, body, loc):
    r = api.post("/api/v1/runs", json={**RUN, **body})
    assert r.status_code == 422, r.text
    assert loc in [e["loc"] for e in r.json()["detail"]], r.json()


def test_runs_queue_behind_the_worker_then_cancel(api):
    """One worker: a second run is accepted and queued (its first event says where, and
    when it should start), moves on when the worker frees; a running run cancels."""
    long_run = {**RUN, "evals": 20_000, "objectives": ["mass"], "seed": 9}
    first = api.post("/api/v1/runs", json=long_run)
    assert first.status_code == 202
    run_id = first.json()["id"]
    deadline = time.monotonic() + 30  # let it start, so cancelling stops a running search
    while api.get(f"/api/v1/runs/{run_id}").json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = api.post("/api/v1/runs", json=RUN)
    assert second.status_code == 202, second.text
    queued = second.json()
    assert queued["status"] == "queued"
    assert queued["queue"]["position"] == 1 and queued["queue"]["ahead"] == 0
    assert queued["queue"]["expected_start"] >= queued["created_at"]
    with api.stream("GET", f"/api/v1/runs/{queued['id']}/events") as resp:
        lines = resp.iter_lines()
        first_event = [next(lines) for _ in range(5)]
    assert first_event[2:4] == ["id: 1", "event: status"], first_event
    data = json.loads(first_event[4][6:])
    assert data["status"] == "queued" and data["position"] == 1

    assert api.delete(f"/api/v1/runs/{run_id}").status_code == 202
    run = wait_finished(api, run_id)
    assert run["status"] == "cancelled"
    assert run["stats"]["stopped_by"] == "cancelled"
    assert run["stats"]["evaluations"] < 20_000
    assert sse_events(api, run_id)[-1][1]["status"] == "cancelled"
    # the queued one moves on and finishes
    done = wait_finished(api, queued["id"])
    assert done["status"] == "done" and done["queue"] is None
    kinds = [(k, d.get("status")) for k, d in sse_events(api, queued["id"])]
    assert kinds[0] == ("status", "queued") and ("status", "running") in kinds


def test_cancel_a_queued_run_ends_it_at_once(api):
    long_run = {**RUN, "evals": 20_000, "objectives": ["mass"], "seed": 11}
    first = api.post("/api/v1/runs", json=long_run).json()
    second = api.post("/api/v1/runs", json=RUN).json()
    assert second["status"] == "queued"
    r = api.delete(f"/api/v1/runs/{second['id']}")
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert sse_events(api, second["id"])[-1] == (
        "end",
        {"status": "cancelled", "message": "Cancelled before it started."},
    )
    api.delete(f"/api/v1/runs/{first['id']}")
    wait_finished(api, first["id"])


def test_a_clients_own_limits_are_429(tmp_path):
    """Past a client's queued-or-running runs: 429 with Retry-After; another client (its own
    cookie) is still queued."""
    settings = Settings(
        data_dir=tmp_path, admin_key="admin", run_workers=1, max_active_runs_per_client=2
    )
    slow = {**RUN, "evals": 20_000, "objectives": ["mass"]}
    with Server(settings) as client:
        register_printer(str(client.base_url), "admin")  # runs need a farm that can make them
        client.get("/")  # the page gives this browser its client cookie
        assert client.cookies.get("cfg_client")
        ids = [client.post("/api/v1/runs", json={**slow, "seed": s}).json()["id"] for s in (1, 2)]
        refused = client.post("/api/v1/runs", json=slow)
        assert refused.status_code == 429, refused.text
        assert "waiting or running" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
        with httpx.Client(base_url=client.base_url, timeout=30) as other:
            other.get("/products/enclosure")
            accepted = other.post("/api/v1/runs", json=RUN)
            assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
            other.delete(f"/api/v1/runs/{accepted.json()['id']}")
        for run_id in ids:
            client.delete(f"/api/v1/runs/{run_id}")
        for run_id in ids:
            assert wait_finished(client, run_id)["status"] == "cancelled"


def test_infeasible_run_reports_what_to_relax(api):
    r = api.post(
        "/api/v1/runs",
        json={**RUN, "requirements": {"load": 500, "max_deflection": 0.1}, "objectives": ["mass"]},
    )
    run = wait_finished(api, r.json()["id"])
    assert run["status"] == "infeasible" and run["designs"] == []
    report = run["infeasibility"]
    assert report["violations"][0]["name"] == "lid stiff enough"
    changes = {c["name"]: c for c in report["requirement_changes"]}
    assert changes["max_deflection"]["direction"] == "increase"
    assert changes["load"]["direction"] == "decrease"


@pytest.mark.parametrize(
    "last_event_id",
    ["abc", "-1", "1.5", "\u00b2".encode("latin-1"), "9" * 5000, "99999999999999999999", "9999"],
)
def test_odd_last_event_id_never_fails_nor_hangs(api, finished_run, last_event_id):
    """Regression: ``²`` (a latin-1 "digit") and a 5000-digit id made int() raise (500);
    an id past the run's last event streamed keep-alives forever instead of ``end``."""
    run_id, events, _ = finished_run
    with httpx.Client(base_url=api.base_url, timeout=5) as client:  # a hang is a ReadTimeout
        got = sse_events(client, run_id, headers={"Last-Event-ID": last_event_id})
    assert got[-1] == events[-1] and got[-1][0] == "end"
    assert got in (events, events[-1:])  # replayed from the start, or just the end


def test_unknown_run_is_404(api):
    assert api.get("/api/v1/runs/nope").status_code == 404
    assert api.delete("/api/v1/runs/nope").status_code == 404
    assert api.get("/api/v1/runs/nope/events").status_code == 404


def test_catalogs_carry_the_servers_bounds(api):
    listed = api.get("/api/v1/catalogs").json()
    assert {"enclosure", "bone-plate"} <= {c["id"] for c in listed}
    detail = api.get("/api/v1/catalogs/enclosure").json()
    reqs = {f["name"]: f for f in detail["requirements"]}
    assert (reqs["board_length"]["min"], reqs["board_length"]["max"]) == (20, 250)
    assert detail["limits"]["max_evals"] == 20_000
    assert {m["name"] for m in detail["materials"]} >= {"PLA", "PETG"}
    assert api.get("/api/v1/catalogs/nope").status_code == 404
    png = api.get("/api/v1/catalogs/enclosure/thumbnail.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert api.get("/api/v1/catalogs/enclosure/thumbnail.png").content == png.content


def test_pages_and_offline_assets(api):
    assert "Electronics enclosure" in api.get("/").text
    page = api.get("/products/enclosure").text
    assert 'id="catalog-data"' in page and "/vendor/three/build/three.module.js" in page
    assert "http://" not in page and "https://" not in page  # no CDN, no external fonts
    assert api.get("/products/nope").status_code == 404
    assert api.get("/static/js/product.js").status_code == 200
    three = api.get("/vendor/three/build/three.module.js")
    assert three.status_code == 200 and "javascript" in three.headers["content-type"]
    assert api.get("/vendor/three/examples/jsm/controls/OrbitControls.js").status_code == 200


def test_run_manager_on_a_dask_cluster(tmp_path):
    """The same run through Dask worker processes: progress comes back over
    distributed.Queue into the store, the result as a future."""
    distributed = pytest.importorskip("distributed")
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.adapters.db.store import Store
    from configurator.services.design.request import DesignRequest
    from configurator.services.design.runs import RunManager
    from configurator.settings import REPO_ROOT

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        settings = Settings(data_dir=tmp_path, dask_address=cluster.scheduler_address)
        store = Store(settings.resolved_database_url)
        store.migrate()
        records: list = []
        manager = RunManager(settings, store, on_records=records.extend)
        try:
            request = DesignRequest(
                catalog_id="enclosure", objectives=["mass"], evals=600, seed=1, top=3
            )
            catalog = load_catalog(REPO_ROOT / "catalogs" / "enclosure.yaml")
            run = manager.submit(request, catalog=catalog)
            deadline = time.monotonic() + 90
            while manager.get(run.id).status not in ("done", "failed", "cancelled"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert manager.backend == "dask"
            run = manager.get(run.id)
            assert run.status == "done", run.message
            kinds = [e.kind for e in manager.runs.events_after(run.id, 0)]
            assert kinds.count("progress") >= 2 and kinds[-1] == "end"
            assert records and records[0].design_id == run.result["records"][0]["design_id"]
        finally:
            manager.shutdown()
            store.dispose()
