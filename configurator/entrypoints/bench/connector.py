"""Real-printer connector benchmark (``configurator bench --only connector``).

A farm server (subprocess, SQLite), one OctoPrint 1.11.8 with its Virtual Printer
(:class:`~configurator.adapters.connectors.octoprint_lab.VirtualOctoPrint`, installed on
first use) and one node agent (the real loop, in a thread of this process, with the
OctoPrint connector and ``poll_s`` = 1 s as ``node run`` defaults). Jobs (20×20×5 mm PLA
boxes) are submitted one at a time; a watcher polls OctoPrint's ``GET /api/job`` every
20 ms for the moment each file shows ``Printing``.

* overhead per job = (OctoPrint shows "Printing") − (the claim's reply reached the agent)
  − slicing time: download, checks, upload and OctoPrint's start. Peer: a bare
  ``POST /api/files/local`` (select+print) of the same G-code to the same OctoPrint,
  from the request to "Printing". Medians; ratio = ours / peer.
* agent CPU while printing: CPU seconds of the agent thread (``/proc`` per-thread
  counters) over the wall time of its prints (polling, progress reports, heartbeats),
  one printer per agent thread: % of one core per printer.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

from configurator.entrypoints.bench import Row, benchmark


def _thread_cpu_s(tid: int) -> float:
    """utime + stime of thread ``tid`` of this process, seconds."""
    import os

    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Watcher(threading.Thread):
    """Records when each file first shows "Printing" on OctoPrint (perf_counter s)."""

    def __init__(self, api) -> None:
        super().__init__(daemon=True)
        self.api, self.seen, self.halt = api, {}, threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                j = self.api.job()
            except Exception:  # OctoPrint stopping at the end of the bench
                return
            name = ((j.get("job") or {}).get("file") or {}).get("name")
            if j.get("state") == "Printing" and name and name not in self.seen:
                self.seen[name] = time.perf_counter()
            self.halt.wait(0.02)

    def wait_for(self, name: str, timeout_s: float = 60.0) -> float:
        deadline = time.monotonic() + timeout_s
        while name not in self.seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"bench: {name} never showed Printing")
            time.sleep(0.01)
        return self.seen[name]


@benchmark("connector")
def bench_connector(quick: bool = False) -> list[Row]:
    import tempfile

    from configurator.adapters.connectors import JobRef, OctoPrintConnector
    from configurator.adapters.connectors.octoprint import file_name
    from configurator.adapters.connectors.octoprint_lab import VirtualOctoPrint
    from configurator.adapters.connectors.slicing import NodeSlicer
    from configurator.adapters.farm_client import NodeClient, OperatorClient
    from configurator.core.farm.demo import box_stl
    from configurator.entrypoints.bench.farm import BENCH_ADMIN, _start_server
    from configurator.entrypoints.node.agent import run_agent

    n_jobs = 2 if quick else 5
    claimed_at: dict[int, float] = {}
    slice_s: dict[int, float] = {}

    class TimedClient(NodeClient):
        def claim(self):
            reply = super().claim()
            if reply is not None:
                claimed_at.setdefault(int(reply["job"]["id"]), time.perf_counter())
            return reply

    class TimedConnector(OctoPrintConnector):
        def start(self, job):
            super().start(job)
            slice_s[job.job_id] = self.last_start["slice_s"]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server, url = _start_server(root / "data")
        octo = VirtualOctoPrint(root / "octoprint")
        stop = threading.Event()
        watcher = None
        try:
            octo.start()
            op = OperatorClient(url, BENCH_ADMIN)
            reg = op.register_node(
                name="octo", technology="FDM", build_volume=(200, 200, 200), materials={"PLA": 1e5},
                auto_clear=True, setup_s=0.0,  # back-to-back jobs, as a belt printer takes them
            )  # fmt: skip
            client = TimedClient(url, reg["node_key"], stop=stop)
            connector = TimedConnector(octo.url, octo.app_key(), slicer=NodeSlicer(root / "work"))
            connector.check()
            tid: list[int] = []

            def agent() -> None:
                tid.append(threading.get_native_id())
                run_agent(client, connector, stop=stop, poll_s=1.0, auto_clear=True)

            watcher = _Watcher(octo.api)
            watcher.start()
            thread = threading.Thread(target=agent, daemon=True)
            thread.start()
            fields = {"design_id": "bench", "material": "PLA", "bbox_x": 20, "bbox_y": 20,
                      "bbox_z": 5, "est_seconds": 600, "grams": 2}  # fmt: skip
            ours, peer, cpu_s, print_s = [], [], 0.0, 0.0
            for i in range(n_jobs):
                job_id = op.submit_job(
                    file_name="b.stl", file_bytes=box_stl(20, 20, 5), fields=fields
                )["id"]
                name = file_name(JobRef(reg["node"]["id"], job_id, 1))
                t_print = watcher.wait_for(name)
                cpu0, wall0 = _thread_cpu_s(tid[0]), time.perf_counter()
                while op.job(job_id)["state"] == "printing":
                    time.sleep(0.05)
                cpu_s += _thread_cpu_s(tid[0]) - cpu0
                print_s += time.perf_counter() - wall0
                if op.job(job_id)["state"] != "done":
                    raise RuntimeError(f"bench: job {job_id} is {op.job(job_id)['state']}")
                ours.append(t_print - claimed_at[job_id] - slice_s[job_id])
                # the peer: the same G-code, uploaded bare to the same (now idle) printer
                octo.wait_state("Operational")
                gcode = connector.slicer.load(name.removesuffix(".gcode")).gcode
                bare = f"bare{i}.gcode"
                t0 = time.perf_counter()
                if not octo.api.upload(bare, gcode, select=True, print_=True)["effectivePrint"]:
                    raise RuntimeError("bench: the bare upload did not start")
                peer.append(watcher.wait_for(bare) - t0)
                octo.wait_state("Operational", 120)
            slicing = statistics.median(slice_s.values())
        finally:
            stop.set()
            if watcher is not None:
                watcher.halt.set()
                watcher.join(5)
            octo.stop()
            server.terminate()
            server.wait(10)
    mine, theirs = statistics.median(ours), statistics.median(peer)
    cpu_pct = 100.0 * cpu_s / print_s
    return [
        Row(
            area="connector",
            metric=f"claim → 'Printing' on OctoPrint minus slicing, per job (median of {n_jobs})",
            ours=mine,
            peer_name="bare upload+print of the same G-code, same OctoPrint",
            peer=theirs,
            ratio=mine / theirs,
            target="report",
            ok=None,
            unit="s",
            note=f"slicing {slicing:.2f} s per job (median), not included",
        ),
        Row(
            area="connector",
            metric="agent CPU per printer while printing (1 s polls, reports, heartbeats)",
            ours=cpu_pct,
            peer_name="",
            peer=None,
            ratio=None,
            target="< 5 % of a core",
            ok=cpu_pct < 5.0,
            unit="% core",
            note=f"{cpu_s:.2f} CPU s over {print_s:.0f} s of printing",
        ),
    ]
