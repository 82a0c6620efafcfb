"""Farm benchmarks.

``farm-api``: claim→complete cycles per second through the HTTP API (one node, one httpx
client, sequential) ÷ requests per second of a bare FastAPI endpoint
(``GET /api/v1/farm/_bench/noop``, mounted only in the bench app) on the same uvicorn
server, measured with the same client. Target ≥ 0.3. The server is a subprocess
(``uvicorn --factory configurator.entrypoints.bench.farm:bench_app``) on a free loopback port, with
SQLite in a temporary data dir.

``farm-router``: routing decisions per second with 1,000 nodes and 100,000 jobs already
queued on them (least-loaded, incremental loads, numpy over nodes), against round-robin
and first-idle in the same state — the cheapest policies there are. Target: least-loaded
within 2× of round-robin's cost (ratio ≥ 0.5) and ≥ 5,000 decisions/s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from configurator.entrypoints.bench import Row, benchmark

BENCH_ADMIN = "bench-admin-key"


def bench_app():
    """uvicorn factory: the real app plus a bare endpoint (settings from the environment)."""
    from configurator.entrypoints.api.app import API_PREFIX, create_app
    from configurator.settings import Settings

    app = create_app(Settings(), sweep=False)

    @app.get(f"{API_PREFIX}/farm/_bench/noop", include_in_schema=False)
    def noop() -> dict:
        return {"ok": True}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "CONFIGURATOR_DATA_DIR": str(data_dir),
        "CONFIGURATOR_ADMIN_KEY": BENCH_ADMIN,
        "CONFIGURATOR_DATABASE_URL": "",
        # the one-job hot path (plates of several jobs take the planner's path)
        "CONFIGURATOR_BATCHING": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "configurator.entrypoints.bench.farm:bench_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("bench server exited")
        try:
            if httpx.get(f"{url}/api/v1/farm/_bench/noop", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("bench server did not start")


@benchmark("farm-api")
def bench_api(quick: bool = False) -> list[Row]:
    import httpx

    from configurator.adapters.farm_client import NodeClient, OperatorClient
    from configurator.core.farm.demo import box_stl

    n_jobs = 100 if quick else 400
    n_bare = 200 if quick else 800
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start_server(Path(tmp))
        try:
            op = OperatorClient(url, BENCH_ADMIN)
            reg = op.register_node(
                name="bench", technology="FDM", build_volume=(250, 250, 250),
                materials={"PLA": 1e6}, auto_clear=True, setup_s=0.0,
            )  # fmt: skip
            stl = box_stl(20, 20, 20)
            fields = {"design_id": "bench", "material": "PLA", "bbox_x": 20, "bbox_y": 20, "bbox_z": 20, "est_seconds": 600, "grams": 10}  # fmt: skip
            for _ in range(n_jobs):
                op.submit_job(file_name="b.stl", file_bytes=stl, fields=fields)
            node = NodeClient(url, reg["node_key"])
            node.heartbeat("idle")
            bare = httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {reg['node_key']}"}
            )
            for _ in range(50):  # warm up
                bare.get("/api/v1/farm/_bench/noop")
            # interleave blocks of both measurements so load drift on the machine hits both
            rounds = 20
            bare_s = cycle_s = 0.0
            done = 0
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(n_bare // rounds):
                    bare.get("/api/v1/farm/_bench/noop")
                bare_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                for _ in range(n_jobs // rounds):
                    claimed = node.claim()
                    node.complete(claimed["job"]["id"], actual_seconds=590.0, grams_used=9.8)
                    done += 1
                cycle_s += time.perf_counter() - t0
            if node.claim() is not None or done != n_jobs:
                raise RuntimeError(f"bench: {done} cycles for {n_jobs} jobs")
            bare_rate = (n_bare // rounds) * rounds / bare_s
            cycle_rate = done / cycle_s
            for c in (bare, node, op):
                c.close()
        finally:
            proc.terminate()
            proc.wait(10)
    ratio = cycle_rate / bare_rate
    return [
        Row(
            area="farm",
            metric="claim→complete cycles/s over HTTP",
            ours=cycle_rate,
            peer_name="bare FastAPI GET, same server",
            peer=bare_rate,
            ratio=ratio,
            target=">= 0.3",
            ok=ratio >= 0.3,
            unit="1/s",
            note=f"{n_jobs} cycles (2 requests each), SQLite WAL, sequential httpx client",
        )
    ]


def _router_state(n_nodes: int, n_jobs: int, seed: int):
    import numpy as np

    from configurator.core.farm.models import JobSnapshot, JobState, NodeSnapshot, Technology
    from configurator.core.farm.router import FarmState

    rng = np.random.default_rng(seed)
    techs = [Technology.FDM] * 8 + [Technology.SLA, Technology.SLS]
    mats = {
        Technology.FDM: ["PLA", "PETG", "ABS"],
        Technology.SLA: ["RESIN"],
        Technology.SLS: ["PA12"],
    }
    nodes = []
    for i in range(n_nodes):
        t = techs[i % len(techs)]
        size = float(rng.choice([180, 220, 256, 350]))
        loaded = {m: 1e9 for m in mats[t] if rng.random() < 0.8} or {mats[t][0]: 1e9}
        nodes.append(NodeSnapshot(f"n{i:05d}", t, (size, size, size), loaded, float(rng.uniform(0.5, 2.0)), busy_s=float(rng.uniform(0, 3600))))  # fmt: skip
    ids = [n.id for n in nodes]

    def job(k: int, placed: bool) -> JobSnapshot:
        t = techs[int(rng.integers(len(techs)))]
        return JobSnapshot(
            id=f"j{k}", technology=t, material=str(rng.choice(mats[t])),
            bbox=tuple(float(v) for v in rng.uniform(10, 170, 3)), est_seconds=float(rng.lognormal(8, 0.7)),
            grams=float(rng.uniform(5, 200)), priority=int(rng.integers(0, 3)), seq=k,
            state=JobState.ASSIGNED if placed else JobState.QUEUED,
            node_id=ids[int(rng.integers(n_nodes))] if placed else None,
        )  # fmt: skip

    state = FarmState(nodes, now=0.0)
    state.add_jobs(job(k, True) for k in range(n_jobs))
    return state, [job(n_jobs + k, False) for k in range(2000)]


@benchmark("farm-router")
def bench_router(quick: bool = False) -> list[Row]:
    import copy

    from configurator.core.farm.router import make_policy, route

    n_nodes, n_jobs = (200, 20_000) if quick else (1000, 100_000)
    t0 = time.perf_counter()
    base, new_jobs = _router_state(n_nodes, n_jobs, seed=1)
    build_s = time.perf_counter() - t0
    rates = {}
    for name in ("least-loaded", "round-robin", "first-idle"):
        state, policy = copy.deepcopy(base), make_policy(name)
        t0 = time.perf_counter()
        for j in new_jobs:
            route(state, j, policy, now=0.0)
        rates[name] = len(new_jobs) / (time.perf_counter() - t0)
    ll = rates["least-loaded"]
    label = f"{n_nodes:,} nodes, {n_jobs:,} jobs queued, {len(new_jobs):,} decisions"
    return [
        Row(
            area="farm",
            metric="routing decisions/s (least-loaded)",
            ours=ll,
            peer_name="round-robin, same state",
            peer=rates["round-robin"],
            ratio=ll / rates["round-robin"],
            target=">= 0.5 and >= 5,000/s",
            ok=ll / rates["round-robin"] >= 0.5 and ll >= 5000,
            unit="1/s",
            note=f"{label}; state built in {build_s:.1f} s",
        ),
        Row(
            area="farm",
            metric="routing decisions/s (least-loaded)",
            ours=ll,
            peer_name="first-idle, same state",
            peer=rates["first-idle"],
            ratio=ll / rates["first-idle"],
            target="report",
            ok=None,
            unit="1/s",
            note=label,
        ),
    ]
