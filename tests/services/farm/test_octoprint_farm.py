"""The farm with real printers: a ``configurator serve`` process, two OctoPrint 1.11.8
instances (Virtual Printer) and one ``configurator node run --octoprint`` agent process
per printer. Nothing about OctoPrint is mocked; OctoPrint's own file history is the
witness of what was printed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from configurator.adapters.connectors.octoprint import parse_file_name
from configurator.adapters.connectors.octoprint_lab import VirtualOctoPrint
from configurator.adapters.farm_client import OperatorClient
from configurator.core.farm.demo import box_stl
from tests.services.farm.cluster import ADMIN, Server

pytestmark = pytest.mark.slow

SMALL = (20, 20, 5)  # ~5 s on the quick Virtual Printer
LONGER = (30, 30, 8)  # ~9 s: time to interfere mid-print


class OctoAgent:
    """``configurator node run --octoprint`` in a subprocess (SIGKILL-able, restartable)."""

    def __init__(self, server: Server, node_key: str, op: VirtualOctoPrint, workdir: Path):
        self.op, self.log = op, workdir / "agent.log"
        self.args = [
            sys.executable, "-m", "configurator", "node", "run", "--server", server.url,
            "--node-key", node_key, "--octoprint", op.url, "--octoprint-key", op.app_key(),
            "--auto-clear", "--workdir", str(workdir), "--poll", "0.3", "--retry-for", "30",
        ]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def farm(tmp_path, two_octoprints):
    """A server, two registered 200 mm PLA nodes, each behind an OctoPrint and an agent."""
    (tmp_path / "data").mkdir()
    env = {"CONFIGURATOR_HEARTBEAT_TIMEOUT_S": "10", "CONFIGURATOR_FARM_CALENDAR": "always"}
    server = Server(tmp_path / "data", env=env)
    server.start(timeout_s=60)  # a loaded machine can take a while
    op = OperatorClient(server.url, ADMIN)
    agents = []
    for i, printer in enumerate(two_octoprints):
        reg = op.register_node(
            name=f"octo-{i}", technology="FDM", build_volume=(200, 200, 200),
            materials={"PLA": 10_000}, auto_clear=True, setup_s=0.0,
        )  # fmt: skip
        (tmp_path / f"agent{i}").mkdir()
        agents.append(OctoAgent(server, reg["node_key"], printer, tmp_path / f"agent{i}"))
    for a in agents:
        a.start()
    yield server, op, agents
    for a in agents:
        a.stop()
    op.close()
    server.stop()


def submit(op: OperatorClient, size=SMALL, label="order 1") -> int:
    fields = {
        "design_id": "box", "material": "PLA", "bbox_x": size[0], "bbox_y": size[1],
        "bbox_z": size[2], "est_seconds": 600, "grams": 5, "label": label,
    }  # fmt: skip
    return op.submit_job(file_name="box.stl", file_bytes=box_stl(*size), fields=fields)["id"]


def wait_jobs(op: OperatorClient, ids: list[int], timeout_s: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = [op.job(i) for i in ids]
        if all(j["state"] in ("done", "failed", "cancelled") for j in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs not finished: {[(j['id'], j['state']) for j in jobs]}")
        time.sleep(0.3)


def farm_prints(op_: VirtualOctoPrint) -> dict[int, dict]:
    """OctoPrint's history of farm files: job id -> {"success": n, "failure": n, ...}."""
    out: dict[int, Counter] = {}
    for f in op_.api.files():
        ref = parse_file_name(f.get("name"))
        if ref is not None:
            info = op_.api.file(f["name"]) or {}
            prints = info.get("prints") or {}
            c = out.setdefault(ref.job_id, Counter())
            c.update(success=prints.get("success", 0), failure=prints.get("failure", 0), files=1)
    return out


def printing_on(agents: list[OctoAgent], job_id: int, pct: float, timeout_s=60) -> OctoAgent:
    """The agent whose OctoPrint prints ``job_id`` past ``pct`` %."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for a in agents:
            j = a.op.api.job()
            ref = parse_file_name(j["job"]["file"]["name"])
            done = j["progress"]["completion"] or 0
            if ref is not None and ref.job_id == job_id and j["state"] == "Printing" and done > pct:
                return a
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never printed past {pct}%")


def test_two_printers_print_an_order_once_each(farm):
    server, op, agents = farm
    ids = [submit(op) for _ in range(4)]
    jobs = wait_jobs(op, ids)
    assert [j["state"] for j in jobs] == ["done"] * 4
    history = [farm_prints(a.op) for a in agents]
    for i in ids:  # OctoPrint's own history: exactly one successful print per job
        events = [(e["kind"], e["reason"]) for e in op.job(i)["events"]]
        assert sum(h.get(i, Counter())["success"] for h in history) == 1, (history, events)
        assert sum(h.get(i, Counter())["failure"] for h in history) == 0
    assert all(history), "both printers printed"
    for j in jobs:  # what the estimator's refit learns from: the printer's time, G-code grams
        assert j["actual_seconds"] >= 1 and 0 < j["grams_used"] < 5


def test_a_fatal_printer_error_fails_the_attempt_and_the_other_printer_prints_it(farm):
    server, op, agents = farm
    job_id = submit(op, LONGER)
    victim = printing_on(agents, job_id, 2.0)
    victim.op.debug("trigger_fatal_error_marlin")
    (job,) = wait_jobs(op, [job_id])
    assert job["state"] == "done" and job["attempts"] == 1
    reasons = [e["reason"] for e in op.job(job_id)["events"]]
    assert any("Thermal Runaway" in r for r in reasons), reasons
    other = next(a for a in agents if a is not victim)
    assert farm_prints(other.op)[job_id]["success"] == 1
    assert farm_prints(victim.op)[job_id]["success"] == 0
    assert victim.op.state() == "Offline after error"  # nobody reconnected it for us


def test_an_agent_killed_mid_print_reattaches_without_a_second_upload(farm):
    server, op, agents = farm
    job_id = submit(op, LONGER)
    victim = printing_on(agents, job_id, 2.0)
    name = victim.op.api.job()["job"]["file"]["name"]
    uploaded = victim.op.api.file(name)["date"]
    victim.kill()
    victim.start()
    (job,) = wait_jobs(op, [job_id])
    assert job["state"] == "done" and job["attempts"] == 0
    info = victim.op.api.file(name)
    assert info["date"] == uploaded  # the same upload...
    assert farm_prints(victim.op)[job_id] == Counter(success=1, failure=0, files=1)  # ...once
    assert job_id not in farm_prints(next(a for a in agents if a is not victim).op)
    assert "re-attached to job" in victim.log.read_text()


def test_a_farm_side_cancel_stops_the_octoprint_job(farm):
    server, op, agents = farm
    job_id = submit(op, LONGER)
    victim = printing_on(agents, job_id, 2.0)
    op.request("POST", f"/api/v1/farm/jobs/{job_id}/cancel")
    deadline = time.monotonic() + 30
    while victim.op.state() != "Operational" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert victim.op.state() == "Operational"
    assert op.job(job_id)["state"] == "cancelled"
    assert farm_prints(victim.op)[job_id]["success"] == 0


def test_a_printer_busy_with_its_own_print_is_never_given_a_job(farm):
    server, op, agents = farm
    busy = agents[0].op
    # someone prints from OctoPrint's own UI before the farm has work
    busy.api.upload("manual.gcode", _long_gcode(), select=True, print_=True)
    busy.wait_state("Printing", 10)
    ids = [submit(op) for _ in range(2)]
    jobs = wait_jobs(op, ids)
    assert [j["state"] for j in jobs] == ["done", "done"]
    assert farm_prints(busy) == {}  # nothing of the farm's was ever stored there
    assert set(farm_prints(agents[1].op)) == set(ids)
    assert busy.api.job()["job"]["file"]["name"] == "manual.gcode"
    assert busy.state() == "Printing"  # and it was never interrupted


def _long_gcode() -> bytes:
    """A hand-made print that runs for minutes on the Virtual Printer (slow moves)."""
    lines = ["G28", "G1 F1"]
    lines += [f"G1 X{10 + (i % 2) * 5} Y10" for i in range(400)]
    return ("\n".join(lines) + "\n").encode()


def test_a_node_without_auto_clear_waits_for_the_plate_to_be_cleared(farm):
    server, op, agents = farm
    for node in op.request("GET", "/api/v1/farm/nodes").json():  # operators clear the plates
        op.request("PATCH", f"/api/v1/farm/nodes/{node['id']}", json={"auto_clear": False})
    first, second = submit(op), submit(op)
    wait_jobs(op, [first])
    done = op.job(first)
    time.sleep(3)
    node_jobs = [j for j in op.jobs(node_id=done["node_id"]) if j["id"] == second]
    assert not node_jobs or node_jobs[0]["state"] != "printing"
    op.request("POST", f"/api/v1/farm/nodes/{done['node_id']}/plate-cleared")
    wait_jobs(op, [second])


def test_pause_and_resume_from_the_dashboard_reach_octoprint(farm):
    server, op, agents = farm
    job_id = submit(op, LONGER)
    victim = printing_on(agents, job_id, 2.0)
    op.request("POST", f"/api/v1/farm/jobs/{job_id}/pause")
    victim.op.wait_state("Paused", 30)
    op.request("POST", f"/api/v1/farm/jobs/{job_id}/resume")
    (job,) = wait_jobs(op, [job_id])
    assert job["state"] == "done"
