"""Farm-aware configurator benchmarks.

``quote``: p50 latency of ``GET /api/v1/designs/{id}/quote`` (estimate and plate memoised
after the first call, the farm's capability view cached a few seconds: what a customer
changing the quantity pays) ÷ p50 of the bare ``GET /api/v1/catalogs/{id}`` on the same
server (``configurator serve`` in a subprocess, SQLite in a temporary data dir, one FDM
node), measured in interleaved blocks with one httpx client. Target ≤ 3×.

``farm-run``: wall-clock seconds of the same design run (enclosure, mass + stiffness,
NSGA-II, seeded; a board whose plate only fits some of the farm's beds, turned) with the
farm constraint (the six-node demo farm attached: its materials, its printers, the plate
checked against its beds every generation) ÷ without (the catalog's printers), the best of
alternating repeats on each side (the machine is shared: the minimum is the run least
disturbed by others). Target ≤ 1.1×.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from configurator.entrypoints.bench import Row, benchmark

ADMIN = "bench-quote-admin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _design_record(data_dir: Path) -> str:
    """File the enclosure's default PLA design where the server's design book finds it."""
    from configurator.adapters.storage import write_bytes_atomic
    from configurator.core.design.space import DesignSpace
    from configurator.services.catalogs import resolve_catalog

    space = DesignSpace(resolve_catalog("enclosure"), material="PLA")
    record = space.record(space.default_x())
    path = data_dir / "records" / f"{record.design_id}.json"
    write_bytes_atomic(path, record.model_dump_json(indent=1).encode())
    return record.design_id


def _serve(data_dir: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = {**os.environ, "CONFIGURATOR_ADMIN_KEY": ADMIN, "CONFIGURATOR_DATABASE_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "configurator", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("bench server exited")
        try:
            if httpx.get(f"{url}/api/v1/catalogs", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("bench server did not start")


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


@benchmark("quote")
def bench_quote(quick: bool = False) -> list[Row]:
    import httpx

    from configurator.adapters.farm_client import OperatorClient

    n = 60 if quick else 300
    rounds = 10
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        design = _design_record(data)
        proc, url = _serve(data)
        try:
            with OperatorClient(url, ADMIN) as op:
                op.register_node(
                    name="bench-x1c", technology="FDM", build_volume=(256, 256, 256),
                    materials={"PLA": 1e6}, speed=1.8, auto_clear=True, setup_s=0.0,
                )  # fmt: skip
            quote_url = f"/api/v1/designs/{design}/quote?material=PLA&quantity=2"
            with httpx.Client(base_url=url, timeout=120) as http:
                first = time.perf_counter()
                r = http.get(quote_url)
                first_s = time.perf_counter() - first
                if r.status_code != 200:
                    raise RuntimeError(f"bench: quote answered {r.status_code} {r.text[:200]}")
                for _ in range(20):  # warm up both
                    http.get(quote_url)
                    http.get("/api/v1/catalogs/enclosure")
                quote_s: list[float] = []
                catalog_s: list[float] = []
                for _ in range(rounds):  # interleaved: load drift hits both
                    for path, out in (
                        (quote_url, quote_s),
                        ("/api/v1/catalogs/enclosure", catalog_s),
                    ):
                        for _ in range(n // rounds):
                            t0 = time.perf_counter()
                            http.get(path).raise_for_status()
                            out.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(10)
    ours, peer = _p50(quote_s) * 1000, _p50(catalog_s) * 1000
    ratio = ours / peer
    return [
        Row(
            area="quote",
            metric="quote p50 latency (GET /designs/{id}/quote, 2 pieces)",
            ours=ours,
            peer_name="GET /catalogs/enclosure, same server",
            peer=peer,
            ratio=ratio,
            target="<= 3",
            ok=ratio <= 3,
            unit="ms",
            note=f"{len(quote_s)} requests each, interleaved; first quote (mesh + estimate) "
            f"{first_s:.2f} s",
        )
    ]


def _demo_profile():
    from configurator.core.farm.capability import FarmProfile
    from configurator.core.farm.demo import demo_node
    from configurator.core.farm.models import NodeSnapshot, Technology

    nodes = []
    for i in range(6):
        name, spec = demo_node(i)
        nodes.append(
            NodeSnapshot(
                name, Technology(spec.technology), spec.build_volume, spec.materials, name=name
            )
        )
    return FarmProfile.of(nodes)


@benchmark("farm-run")
def bench_farm_run(quick: bool = False) -> list[Row]:
    from configurator.services.design.request import RunContext, parse_request
    from configurator.services.design.service import run_request

    evals, repeats = (600, 3) if quick else (3000, 5)
    request = parse_request(
        {
            "catalog_id": "enclosure",
            "requirements": {"board_length": 120, "board_width": 60},
            "objectives": ["mass", "stiffness"],
            "evals": evals,
            "seed": 1,
            "top": 8,
        }
    )
    farm = _demo_profile()
    contexts = {"farm": RunContext(farm=farm), "plain": RunContext()}
    run_request(request, contexts["plain"])  # warm up: imports, the estimator's model
    times: dict[str, list[float]] = {"farm": [], "plain": []}
    for _ in range(repeats):
        for name, context in contexts.items():
            t0 = time.perf_counter()
            result = run_request(request, context)
            times[name].append(time.perf_counter() - t0)
            if result.status != "ok":
                raise RuntimeError(f"bench: the {name} run ended {result.status}")
    ours, peer = min(times["farm"]), min(times["plain"])
    ratio = ours / peer
    return [
        Row(
            area="quote",
            metric="design run with the farm constraint (6 demo printers)",
            ours=ours,
            peer_name="same run on the catalog's printers",
            peer=peer,
            ratio=ratio,
            target="<= 1.1",
            ok=ratio <= 1.1,
            unit="s",
            note=f"enclosure, NSGA-II, {evals} evaluations, best of {repeats} alternating runs "
            f"(medians {statistics.median(times['farm']):.2f} s / "
            f"{statistics.median(times['plain']):.2f} s)",
        )
    ]
