"""Production records and reprints over HTTP (the real app on loopback): the customer's
order record and page, the operator's job record, a reprint, the nodes' ``record`` and
``printer`` reports validated field by field; unknown tokens and jobs are 404."""

from __future__ import annotations

from configurator.services.design.service import build_space
from tests.entrypoints.api.conftest import ADMIN


def test_records_reprint_and_bad_input(live):
    admin, anon = live.client(ADMIN), live.client()
    r = admin.post(
        "/api/v1/farm/nodes",
        json={"name": "mk4", "technology": "FDM", "build_volume": [250, 210, 220],
              "materials": {"PLA": 5000}, "material_lots": {"PLA": "SPOOL-7"}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["node"]["material_lots"] == {"PLA": "SPOOL-7"}
    node = live.client(r.json()["node_key"])
    c = live.app.state.container
    space = build_space(c.catalogs.get("enclosure"), material="PLA", settings=c.settings)
    record = space.record(space.default_x())
    c.book.put(record)
    order = anon.post("/api/v1/orders", json={"design_id": record.design_id, "material": "PLA"})
    assert order.status_code == 201, order.text
    token = order.json()["token"]
    # bad reports: field-level 422, never a 500
    nested = node.post("/api/v1/farm/agent/heartbeat", json={"printer": {"a": {"b": 1}}})
    assert nested.status_code == 422 and "printer" in nested.text
    many = node.post(
        "/api/v1/farm/agent/heartbeat", json={"printer": {f"k{i}": i for i in range(33)}}
    )
    assert many.status_code == 422
    ok = node.post(
        "/api/v1/farm/agent/heartbeat", json={"state": "idle", "printer": {"firmware": "6.1"}}
    )
    assert ok.status_code == 200 and ok.json()["node"]["printer"] == {"firmware": "6.1"}
    job = node.post("/api/v1/farm/agent/claim").json()["job"]
    long = node.post(f"/api/v1/farm/agent/jobs/{job['id']}/complete",
                     json={"actual_seconds": 100, "grams_used": 5, "record": {"slicer": "x" * 513}})  # fmt: skip
    assert long.status_code == 422 and "record" in long.text
    done = node.post(f"/api/v1/farm/agent/jobs/{job['id']}/complete",
                     json={"actual_seconds": 100, "grams_used": 5,
                           "record": {"slicer": "PrusaSlicer 2.7", "gcode_sha256": "ef" * 32}})  # fmt: skip
    assert done.status_code == 200, done.text
    # the customer's record and page; the operator's record
    rec = anon.get(f"/api/v1/orders/{token}/record")
    assert rec.status_code == 200
    piece = rec.json()["pieces"][0]
    assert piece["slicing"]["slicer"] == "PrusaSlicer 2.7" and piece["material"]["lot"] == "SPOOL-7"
    assert "id" not in piece["node"] and "operator" not in rec.text.replace('"operator"', "")
    page = anon.get(f"/orders/{token}/record")
    assert (
        page.status_code == 200 and "SPOOL-7" in page.text and "not clinical fitness" in page.text
    )
    assert f"/orders/{token}/record" in anon.get(f"/orders/{token}").text
    assert anon.get(f"/api/v1/farm/jobs/{job['id']}/record").status_code == 401
    op = admin.get(f"/api/v1/farm/jobs/{job['id']}/record")
    assert op.status_code == 200 and op.json()["node"]["id"] and op.json()["history"][0]["hash"]
    assert anon.get(f"/farm/jobs/{job['id']}/record").status_code == 200
    # exact reprint
    again = anon.post(f"/api/v1/orders/{token}/reprint", json={"quantity": 2, "priority": "low"})
    assert again.status_code == 201, again.text
    assert again.json()["reprint_of"] == token and again.json()["quantity"] == 2
    # unknown: 404, bad input: 422
    assert anon.get("/api/v1/orders/nope/record").status_code == 404
    assert anon.get("/orders/nope/record").status_code == 404
    assert anon.post("/api/v1/orders/nope/reprint", json={}).status_code == 404
    assert anon.post(f"/api/v1/orders/{token}/reprint", json={"quantity": 0}).status_code == 422
    assert admin.get("/api/v1/farm/jobs/99999/record").status_code == 404
