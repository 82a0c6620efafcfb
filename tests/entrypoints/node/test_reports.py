"""What the node client reports reaches the farm (in-thread uvicorn, real store): the
printer's details and auto-clear with heartbeats, ``offline`` with the printer's reason
(its jobs go elsewhere at once), back with an idle heartbeat, an operator's pause in the
reply, and the production record with the completion."""

from __future__ import annotations

from configurator.adapters.farm_client import NodeClient, OperatorClient
from configurator.core.farm.demo import box_stl
from configurator.settings import Settings
from tests.entrypoints.api.conftest import ADMIN, LiveServer

FIELDS = {"design_id": "d", "material": "PLA", "bbox_x": 20, "bbox_y": 20, "bbox_z": 5,
          "est_seconds": 60, "grams": 2}  # fmt: skip


def test_node_reports_reach_the_farm(tmp_path):
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN, farm_calendar="always")
    with LiveServer(settings) as live:
        farm = live.app.state.container.farm
        op = OperatorClient(live.url, ADMIN)
        key = op.register_node(
            name="n", technology="FDM", build_volume=(200, 200, 200), materials={"PLA": 100},
            auto_clear=True, setup_s=0.0,
        )["node_key"]  # fmt: skip
        job_id = op.submit_job(file_name="b.stl", file_bytes=box_stl(20, 20, 5), fields=FIELDS)[
            "id"
        ]
        with NodeClient(live.url, key) as node:
            reply = node.heartbeat("idle", printer={"state": "Operational", "bed_c": 60.0},
                                   auto_clear=True)  # fmt: skip
            assert reply["node"]["printer"] == {"state": "Operational", "bed_c": 60.0}
            assert reply["command"] is None

            reply = node.heartbeat("offline", reason="MINTEMP triggered!")
            assert reply["node"]["state"] == "offline"
            assert reply["node"]["state_reason"] == "MINTEMP triggered!"
            assert op.job(job_id)["node_id"] is None  # nowhere else to go: it waits
            assert node.heartbeat("idle")["node"]["state"] == "idle"

            assert node.claim()["job"]["id"] == job_id
            op.request("POST", f"/api/v1/farm/jobs/{job_id}/pause")
            got = node.progress(job_id, percent=10.0, seconds_left=50.0)
            assert got["command"] == "pause"
            assert node.progress(job_id, percent=11.0, seconds_left=49.0)["command"] is None

            done = node.complete(job_id, actual_seconds=12, grams_used=1.5,
                                 record={"slicer": "PrusaSlicer-2.5.0", "gcode_sha256": "ab"})  # fmt: skip
            assert done["state"] == "done" and done["actual_seconds"] == 12
        assert farm.get_job(job_id).record == {"slicer": "PrusaSlicer-2.5.0", "gcode_sha256": "ab"}
        op.close()
