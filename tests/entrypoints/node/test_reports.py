"""The node client's newer report fields against the current farm API (in-thread
uvicorn): refused once as unknown, then the agent reports with the first API, and an
``offline`` heartbeat is left to the server's heartbeat timeout."""

from __future__ import annotations

from configurator.adapters.farm_client import NodeClient, OperatorClient
from configurator.core.farm.demo import box_stl
from configurator.settings import Settings
from tests.entrypoints.api.conftest import ADMIN, LiveServer


def test_new_fields_fall_back_to_the_first_api(tmp_path):
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN)
    with LiveServer(settings) as live:
        op = OperatorClient(live.url, ADMIN)
        key = op.register_node(
            name="n", technology="FDM", build_volume=(200, 200, 200), materials={"PLA": 100}
        )["node_key"]
        fields = {"design_id": "d", "material": "PLA", "bbox_x": 20, "bbox_y": 20, "bbox_z": 5,
                  "est_seconds": 60, "grams": 2}  # fmt: skip
        job_id = op.submit_job(file_name="b.stl", file_bytes=box_stl(20, 20, 5), fields=fields)[
            "id"
        ]
        with NodeClient(live.url, key) as node:
            reply = node.heartbeat("idle", printer={"bed_c": 60.0}, auto_clear=True)
            assert not node.extended and reply["node"]["state"] == "idle"
            assert node.heartbeat("offline", reason="MINTEMP triggered!") is None  # not sent
            assert node.claim()["job"]["id"] == job_id
        with NodeClient(live.url, key) as fresh:  # the farm takes ``record`` (issue 16)
            done = fresh.complete(job_id, actual_seconds=12, grams_used=1.5, record={"slicer": "x"})
            assert done["state"] == "done" and done["actual_seconds"] == 12 and fresh.extended
            assert live.app.state.container.farm.get_job(job_id).record == {"slicer": "x"}
        op.close()
