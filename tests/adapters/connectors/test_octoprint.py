"""The OctoPrint connector against a real OctoPrint 1.11.8 with its Virtual Printer (no
mock of OctoPrint): printing, re-attaching, busy printers, faults, control."""

from __future__ import annotations

import hashlib
import time
from unittest.mock import ANY

import pytest

from configurator.adapters.connectors import (
    CONNECTORS,
    OctoPrintConnector,
    PrinterBusyError,
    PrinterConnector,
    PrintJob,
)
from configurator.adapters.connectors.octoprint import file_name, parse_file_name
from configurator.adapters.connectors.octoprint_api import OctoPrintAuthError
from configurator.adapters.connectors.slicing import NodeSlicer
from configurator.core.farm.demo import box_stl

pytestmark = pytest.mark.slow


def job(job_id: int = 1, attempt: int = 1, size=(20, 20, 5), material="PLA") -> PrintJob:
    return PrintJob(
        job_id, attempt, material, "FDM", 60.0, 2.0, f"part{job_id}.stl", box_stl(*size),
        node_id="n0c7e5t",
    )  # fmt: skip


@pytest.fixture
def connector(octoprint, tmp_path):
    c = OctoPrintConnector(
        octoprint.url, octoprint.app_key(), slicer=NodeSlicer(tmp_path / "work"),
        unreachable_grace_s=1.0,
    )  # fmt: skip
    c.check()
    yield c
    c.close()


def wait_phase(c: OctoPrintConnector, phases: set[str], timeout_s: float = 90.0, *, min_pct=0.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = c.poll()
        if s.phase in phases and (s.percent or 0.0) >= min_pct:
            return s
        if s.phase in ("done", "failed", "idle") and s.phase not in phases:
            raise AssertionError(f"ended {s}")
        time.sleep(0.1)
    raise AssertionError(f"no {phases} within {timeout_s} s (last {s})")


def history(octoprint, name: str, prints: int = 1) -> dict:
    """The file's metadata once OctoPrint logged ``prints`` prints (it logs in a thread)."""
    deadline = time.monotonic() + 10
    while True:
        info = octoprint.api.file(name)
        p = info["prints"] if info else {}
        if p.get("success", 0) + p.get("failure", 0) >= prints or time.monotonic() > deadline:
            return info


def xy_range(gcode: bytes) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for line in gcode.decode().splitlines():
        if line.startswith("G1 ") and " E" in line:  # extruding moves
            for word in line.split()[1:]:
                if word[0] == "X":
                    xs.append(float(word[1:]))
                elif word[0] == "Y":
                    ys.append(float(word[1:]))
    return min(xs), max(xs), min(ys), max(ys)


def test_registered_and_implements_the_protocol(connector):
    assert CONNECTORS["octoprint"] is OctoPrintConnector
    assert isinstance(connector, PrinterConnector)
    ref = job(42, 3).ref
    assert parse_file_name(file_name(ref)) == ref
    assert parse_file_name("benchy.gcode") is None


def test_a_wrong_key_is_refused_with_octoprints_status(octoprint, tmp_path):
    c = OctoPrintConnector(octoprint.url, "not-a-key", slicer=NodeSlicer(tmp_path))
    with pytest.raises(OctoPrintAuthError, match=r"OctoPrint refused the key \(403\)"):
        c.check()
    info = c.printer()
    assert info.state == "offline" and "refused the key (403)" in info.reason


def test_prints_a_job_with_the_bed_from_octoprint_and_reports_the_gcode_facts(connector, octoprint):
    info = connector.printer()
    assert info.state == "idle" and info.details["bed_x_mm"] == 200.0
    connector.start(job(1))
    printing = connector.printer()
    assert printing.state == "printing" and printing.job == job(1).ref
    done = wait_phase(connector, {"done"})
    name = file_name(job(1).ref)
    stored = history(octoprint, name)
    assert stored["prints"]["success"] == 1 and stored["prints"]["failure"] == 0
    # the G-code OctoPrint printed is the one the record names, sliced for its 200 mm bed
    gcode = octoprint.api.download(name)
    assert done.record["gcode_sha256"] == hashlib.sha256(gcode).hexdigest()
    x0, x1, y0, y1 = xy_range(gcode)
    assert 80 < x0 < 100 < x1 < 120 and 80 < y0 < 100 < y1 < 120  # centred on 200, not 800
    assert done.record["slicer"].startswith("PrusaSlicer-")
    assert done.grams_used == pytest.approx(done.record["filament_g"]) and done.grams_used > 0
    assert done.actual_seconds == pytest.approx(stored["prints"]["last"]["printTime"], abs=1.0)
    assert connector.printer().state == "idle"


def test_a_restarted_agent_reattaches_without_uploading_again(connector, octoprint, tmp_path):
    connector.start(job(2, size=(30, 30, 8)))
    wait_phase(connector, {"printing"}, min_pct=1.0)
    uploaded = octoprint.api.file(file_name(job(2).ref))["date"]
    # a new process: same work dir, and one that lost it (G-code facts from OctoPrint)
    agains = []
    for workdir in (connector.slicer.workdir, tmp_path / "fresh"):
        again = OctoPrintConnector(octoprint.url, octoprint.app_key(), slicer=NodeSlicer(workdir))
        assert not again.resume_job(job(2, attempt=2))  # another attempt is a new print
        assert again.resume_job(job(2))
        assert again.poll().phase == "printing"
        agains.append(again)
    first = wait_phase(connector, {"done"})
    for again in agains:
        done = wait_phase(again, {"done"})
        assert done.grams_used == pytest.approx(first.grams_used) and done.grams_used > 0
        assert done.record["gcode_sha256"] == first.record["gcode_sha256"]
        again.close()
    info = history(octoprint, file_name(job(2).ref))
    assert info["date"] == uploaded and info["prints"]["success"] == 1
    # once done, a repeated claim still re-attaches (history) and reports done again
    late = OctoPrintConnector(octoprint.url, octoprint.app_key(), slicer=NodeSlicer(tmp_path / "l"))
    assert late.resume_job(job(2)) and late.poll().phase == "done"
    late.close()


class StartsAForeignPrint(NodeSlicer):
    """Someone presses Print in OctoPrint's UI while the node is slicing."""

    def __init__(self, workdir, octoprint, gcode: bytes):
        super().__init__(workdir)
        self.octoprint, self.gcode = octoprint, gcode

    def slice(self, job, name, bed):
        sliced = super().slice(job, name, bed)
        self.octoprint.api.upload("manual.gcode", self.gcode, select=True, print_=True)
        return sliced


def test_a_printer_busy_with_a_foreign_print_is_never_given_the_job(connector, octoprint, tmp_path):
    foreign = NodeSlicer(tmp_path / "manual").slice(job(9, size=(30, 30, 8)), "manual", None)
    racer = OctoPrintConnector(
        octoprint.url, octoprint.app_key(),
        slicer=StartsAForeignPrint(tmp_path / "w", octoprint, foreign.gcode.read_bytes()),
    )  # fmt: skip
    with pytest.raises(PrinterBusyError, match="effectivePrint false"):
        racer.start(job(3))  # the upload's 201 said effectivePrint: false
    assert octoprint.api.file(file_name(job(3).ref)) is None  # not left behind
    busy = connector.printer()
    assert busy.state == "printing" and busy.job is None  # a print the farm did not start
    with pytest.raises(PrinterBusyError, match="OctoPrint is Printing"):
        connector.start(job(4))
    connector.cancel()  # never cancels someone else's print
    assert octoprint.api.job()["job"]["file"]["name"] == "manual.gcode"
    assert octoprint.state() == "Printing"
    racer.close()


@pytest.mark.parametrize(
    ("debug", "reason"),
    [
        ("trigger_fatal_error_marlin", "Thermal Runaway, system stopped!"),
        ("mintemp_error", "MINTEMP triggered!"),
        ("drop_connection", "SerialTimeoutException"),
    ],
)
def test_a_printer_fault_fails_the_print_with_octoprints_reason(
    connector, octoprint, debug, reason
):
    connector.start(job(5, size=(30, 30, 8)))
    wait_phase(connector, {"printing"}, min_pct=1.0)
    octoprint.debug(debug)
    failed = wait_phase(connector, {"failed"}, 30)
    assert reason in failed.reason
    info = connector.printer()
    assert info.state == "offline" and reason in info.reason
    octoprint.api.connect()  # an operator reconnects: the printer is back
    octoprint.wait_state("Operational", 30)
    assert connector.printer().state == "idle"


def test_cancel_pause_and_resume_reach_octoprint(connector, octoprint):
    connector.start(job(6, size=(30, 30, 8)))
    wait_phase(connector, {"printing"}, min_pct=1.0)
    connector.pause()
    paused = wait_phase(connector, {"paused"}, 30)
    assert connector.printer().state == "paused"
    time.sleep(1.0)
    assert connector.poll().percent == pytest.approx(paused.percent)  # paused for real
    connector.resume()
    wait_phase(connector, {"printing"}, 30)
    connector.cancel()
    octoprint.wait_state("Operational", 30)
    assert history(octoprint, file_name(job(6).ref))["prints"]["failure"] == 1
    assert connector.poll().phase == "idle"


def test_an_octoprint_that_stops_answering_fails_the_print_and_it_is_cancelled_later(
    connector, octoprint
):
    connector.start(job(7, size=(30, 30, 8)))
    wait_phase(connector, {"printing"}, min_pct=1.0)
    octoprint.freeze()
    try:
        failed = wait_phase(connector, {"failed"}, 30)
        assert "did not answer" in failed.reason and "gave up after 1 s" in failed.reason
        assert connector.printer().state == "offline"
    finally:
        octoprint.thaw()
    # back: the print the farm gave up (and re-routed) is cancelled, not finished twice
    connector.printer()
    octoprint.wait_state("Operational", 30)
    assert history(octoprint, file_name(job(7).ref))["prints"] == {
        "success": 0,
        "failure": 1,
        "last": ANY,
    }
