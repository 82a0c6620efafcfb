"""``configurator node run`` with a real printer: bad input is one line and exit 2; an
OctoPrint that is not up yet is waited for with the node reported offline."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from configurator.adapters.connectors.octoprint_lab import VirtualOctoPrint
from configurator.adapters.farm_client import OperatorClient
from configurator.entrypoints.node.printers import load_config
from configurator.errors import SettingsError
from tests.services.farm.cluster import ADMIN, Server


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "configurator", "node", "run", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("node ")]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


SERVER = ["--server", f"http://127.0.0.1:{_closed_port()}", "--node-key", "k"]


@pytest.mark.slow
def test_a_wrong_octoprint_key_exits_2_at_start(octoprint):
    proc = node_run(*SERVER, "--octoprint", octoprint.url, "--octoprint-key", "wrong")
    assert "OctoPrint refused the key (403)" in one_line(proc)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--octoprint", "http://127.0.0.1:1"], "OctoPrint API key is required"),
        (["--octoprint", "ftp://x", "--octoprint-key", "k"], "must be http(s)"),
        (["--octoprint", "http://x", "--octoprint-key", "k", "--simulate"], "not both"),
        ([], "say which printer"),
        (["--simulate", "--slicer-profile", "a.ini"], "OctoPrint printers only"),
        (
            ["--octoprint", "http://x", "--octoprint-key", "k", "--slicer-profile", "nope.ini"],
            "nope.ini does not exist",
        ),
    ],
)
def test_bad_printer_flags_are_one_line(extra, needle):
    assert needle in one_line(node_run(*SERVER, *extra))


def test_a_profile_without_filament_type_is_refused_before_anything_runs(tmp_path):
    ini = tmp_path / "mine.ini"
    ini.write_text("layer_height = 0.2\n")
    args = [
        "--octoprint",
        "http://127.0.0.1:1",
        "--octoprint-key",
        "k",
        "--slicer-profile",
        str(ini),
    ]
    assert "sets no filament_type" in one_line(node_run(*SERVER, *args))


def test_config_files_list_printers_and_bad_ones_are_named(tmp_path):
    (tmp_path / "pla.ini").write_text("filament_type = PLA\n")
    good = tmp_path / "printers.yaml"
    good.write_text(
        "server: http://farm:8000\nprinters:\n"
        "  - {name: a, node_key: k1, octoprint: 'http://10.0.0.2', octoprint_key: o1, slicer_profile: pla.ini}\n"
        "  - {name: b, node_key: k2, simulate: {speed: 60}, auto_clear: true}\n"
    )
    server, specs = load_config(good)
    assert server == "http://farm:8000" and [s.name for s in specs] == ["a", "b"]
    assert specs[0].slicer_profile == (tmp_path / "pla.ini",) and specs[1].auto_clear
    bad = tmp_path / "bad.yaml"
    bad.write_text("printers:\n  - {name: a, node_key: k, octoprint: 'http://x', colour: red}\n")
    with pytest.raises(SettingsError, match=r"printers\[0\] has unknown keys \['colour'\]"):
        load_config(bad)
    assert "unknown keys" in one_line(node_run("--server", "http://x", "--config", str(bad)))


@pytest.mark.slow
def test_an_unreachable_octoprint_is_waited_for_with_the_node_offline(tmp_path):
    (tmp_path / "data").mkdir()
    server = Server(tmp_path / "data", env={"CONFIGURATOR_HEARTBEAT_TIMEOUT_S": "2"})
    server.start(timeout_s=60)
    op = OperatorClient(server.url, ADMIN)
    later = VirtualOctoPrint(tmp_path / "octoprint")
    key = op.register_node(
        name="late", technology="FDM", build_volume=(200, 200, 200), materials={"PLA": 100}
    )["node_key"]
    agent = subprocess.Popen(
        [sys.executable, "-m", "configurator", "node", "run", "--server", server.url,
         "--node-key", key, "--octoprint", later.url, "--octoprint-key", "set-below",
         "--workdir", str(tmp_path / "work")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while op.request("GET", "/api/v1/farm/nodes").json()[0]["state"] != "offline":
            assert time.monotonic() < deadline and agent.poll() is None
            time.sleep(0.2)
        # OctoPrint comes up (its global key is the one the agent was given)
        later.api_key = "set-below"
        later.start()
        deadline = time.monotonic() + 30
        while op.request("GET", "/api/v1/farm/nodes").json()[0]["state"] != "idle":
            assert time.monotonic() < deadline and agent.poll() is None
            time.sleep(0.2)
    finally:
        agent.terminate()
        err = agent.communicate(timeout=20)[1]
        later.stop()
        op.close()
        server.stop()
    assert "did not answer" in err and "retrying every 5 s (node reported offline)" in err
