"""``configurator bench --only load``: a real load test with locust against real servers.

For 1 and then 2 server processes (``configurator serve --workers N``) on a fresh
PostgreSQL database on loopback (``CONFIGURATOR_TEST_POSTGRES_URL``, else a throw-away
server from ``scripts/postgres.sh``): 20 nodes are registered, then locust runs
``LOAD_CUSTOMERS`` customers and ``LOAD_NODES`` nodes (:mod:`.locustfile`) for
``LOAD_SECONDS`` seconds, lets every started run finish (``--stop-timeout``) and writes its
CSV statistics. Rows: per endpoint p50/p95 (ms) and failures, runs per minute, time to the
first event, queue wait, run duration, and the ratio of runs per minute of 2 processes to
1. A 429 or a 5xx counts as a failure. ``--quick``: SQLite, 1 process, 5 customers, 3 nodes,
25 s (what the test suite runs).

Environment: ``LOAD_CUSTOMERS`` (50), ``LOAD_NODES`` (20), ``LOAD_SECONDS`` (150),
``LOAD_EVALS`` (600 evaluations per run), ``LOAD_RUN_WORKERS`` (2 per process).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from configurator.adapters.processes import stop_group
from configurator.entrypoints.bench import Row, benchmark

ADMIN = "load-admin-key"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass
class LoadResult:
    """What one locust run measured (times in ms, ``seconds`` the measured span)."""

    processes: int
    seconds: float
    stats: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    exceptions: list[dict[str, str]] = field(default_factory=list)  # raised inside a task
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def count(self, name: str) -> int:
        return int(self.stats.get(name, {}).get("Request Count", 0) or 0)

    def failed(self, name: str | None = None) -> int:
        rows = (
            [self.stats[name]] if name else [v for k, v in self.stats.items() if k != "Aggregated"]
        )
        return sum(int(r.get("Failure Count", 0) or 0) for r in rows)

    def pct(self, name: str, p: str) -> float | None:
        value = self.stats.get(name, {}).get(p)
        return None if value in (None, "", "N/A") else float(value)

    @property
    def runs_per_minute(self) -> float:
        return 60.0 * self.count("RUN finished") / max(self.seconds, 1e-9)


def _postgres() -> tuple[str, bool]:
    """A PostgreSQL URL and whether we started the server (``scripts/postgres.sh``)."""
    url = os.environ.get("CONFIGURATOR_TEST_POSTGRES_URL")
    if url:
        return url, False
    from configurator.settings import REPO_ROOT

    out = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "postgres.sh"), "start"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip(), True


def _fresh_database(base_url: str) -> tuple[str, object]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from configurator.adapters.db.engine import normalize_url

    base = make_url(normalize_url(base_url))
    name = f"load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def _serve(data: Path, database: str | None, processes: int, run_workers: int):
    import httpx

    from configurator.entrypoints.bench.farm import _free_port

    port = _free_port()
    cmd = [sys.executable, "-m", "configurator", "serve", "--port", str(port),
           "--data-dir", str(data), "--workers", str(processes), "--log-level", "warning"]  # fmt: skip
    if database:
        cmd += ["--database", database]
    env = {**os.environ, "CONFIGURATOR_ADMIN_KEY": ADMIN,
           "CONFIGURATOR_RUN_WORKERS": str(run_workers)}  # fmt: skip
    log = open(data / "server.log", "wb")  # noqa: SIM115 - closed by the caller
    # its own process group, so that stopping it stops every process it started
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("load server exited:\n" + (data / "server.log").read_text()[-2000:])
        try:
            if httpx.get(url + "/api/v1/catalogs", timeout=5).status_code == 200:
                return proc, url, log
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_group(proc, wait_s=60)
    raise RuntimeError("load server did not start")


def _warm_up(url: str, evals: int, n: int) -> None:
    """``n`` runs at once to their end before measuring (one per worker slot): the worker
    processes have imported everything and loaded the model."""
    import httpx

    with httpx.Client(base_url=url, timeout=600) as c:
        ids = []
        for seed in range(n):
            c.cookies.clear()  # each its own client: no per-client limit
            body = {"catalog_id": "enclosure", "objectives": ["mass"], "evals": evals, "seed": seed}
            ids.append(c.post("/api/v1/runs", json=body).json()["id"])
        deadline = time.monotonic() + 600
        while not all(c.get(f"/api/v1/runs/{i}").json()["finished"] for i in ids):
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up runs did not finish")
            time.sleep(0.5)


def _register_nodes(url: str, n: int, keys_path: Path) -> None:
    import httpx

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as c:
        keys = []
        for i in range(n):
            body = {"name": f"load-{i:02d}", "technology": "FDM", "build_volume": [250, 210, 220],
                    "materials": {"PLA": 1_000_000.0, "PETG": 1_000_000.0}, "speed": 1.0,
                    "auto_clear": True, "setup_s": 0.0}  # fmt: skip
            r = c.post("/api/v1/farm/nodes", json=body)
            r.raise_for_status()
            keys.append(r.json()["node_key"])
    keys_path.write_text("\n".join(keys) + "\n")


def run_load(
    *, processes: int, database: str | None, customers: int, nodes: int, seconds: int,
    evals: int, run_workers: int = 2,
) -> LoadResult:  # fmt: skip
    """Start ``processes`` servers on ``database`` (None: SQLite), run locust, read its CSV."""
    with tempfile.TemporaryDirectory(prefix="configurator-load-") as tmp:
        data = Path(tmp)
        proc, url, log = _serve(data, database, processes, run_workers)
        try:
            keys = data / "node-keys.txt"
            _register_nodes(url, nodes, keys)
            _warm_up(url, evals, processes * run_workers)
            env = {**os.environ, "LOAD_CUSTOMERS": str(customers), "LOAD_NODES": str(nodes),
                   "LOAD_EVALS": str(evals), "LOAD_NODE_KEYS": str(keys),
                   "LOAD_CSV": str(data / "load")}  # fmt: skip
            cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                   "--host", url, "--users", str(customers + nodes),
                   "--spawn-rate", str(max(customers + nodes, 1)), "--run-time", f"{seconds}s",
                   "--stop-timeout", "300", "--only-summary",
                   "--loglevel", "WARNING"]  # fmt: skip
            before = os.getloadavg()
            t0 = time.monotonic()
            done = subprocess.run(
                cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=seconds + 900
            )
            elapsed = time.monotonic() - t0
            if not (data / "load_stats.csv").exists():
                raise RuntimeError(f"locust wrote no statistics (exit {done.returncode}): "
                                   f"{done.stderr.strip()[-2000:]}")  # fmt: skip
            result = LoadResult(processes, elapsed, load_before=before, load_after=os.getloadavg())
            with open(data / "load_stats.csv", newline="") as fh:
                for row in csv.DictReader(fh):
                    result.stats[f"{row['Type']} {row['Name']}".strip()] = row
            failures = data / "load_failures.csv"
            if failures.exists():
                with open(failures, newline="") as fh:
                    result.failures = list(csv.DictReader(fh))
            exceptions = data / "load_exceptions.csv"
            if exceptions.exists():
                with open(exceptions, newline="") as fh:
                    result.exceptions = list(csv.DictReader(fh))
            return result
        finally:
            stop_group(proc, wait_s=60)
            log.close()


def _rows(r: LoadResult) -> list[Row]:
    label = f"{r.processes} process{'es' if r.processes > 1 else ''}"
    rows = [
        Row("load", f"runs per minute ({label})", r.runs_per_minute, "failures (429/5xx/other)",
            float(r.failed()), None, "0 failures", r.failed() == 0, "1/min",
            note=f"load avg {r.load_before[0]:.1f} -> {r.load_after[0]:.1f}"),
        Row("load", f"time to first event, p50 / p95 ({label})", r.pct("RUN first event", "50%"),
            "p95", r.pct("RUN first event", "95%"), None, "p95 < 1000 ms",
            (r.pct("RUN first event", "95%") or 1e9) < 1000, "ms"),
        Row("load", f"queue wait, p50 / p95 ({label})", r.pct("RUN queue wait", "50%"), "p95",
            r.pct("RUN queue wait", "95%"), None, "report", None, "ms"),
        Row("load", f"run duration, p50 / p95 ({label})", r.pct("RUN duration", "50%"), "p95",
            r.pct("RUN duration", "95%"), None, "report", None, "ms"),
    ]  # fmt: skip
    for name, stat in sorted(r.stats.items()):
        if name.startswith("RUN") or name == "Aggregated":
            continue
        rows.append(Row("load", f"{name} p50 / p95 ({label}; {stat['Request Count']} requests, "
                        f"{stat['Failure Count']} failed)", r.pct(name, "50%"), "p95",
                        r.pct(name, "95%"), None, "report", None, "ms"))  # fmt: skip
    return rows


@benchmark("load")
def bench_load(quick: bool = False) -> list[Row]:
    customers = int(os.environ.get("LOAD_CUSTOMERS", "5" if quick else "50"))
    nodes = int(os.environ.get("LOAD_NODES", "3" if quick else "20"))
    seconds = int(os.environ.get("LOAD_SECONDS", "25" if quick else "150"))
    evals = int(os.environ.get("LOAD_EVALS", "300" if quick else "600"))
    workers = int(os.environ.get("LOAD_RUN_WORKERS", "2"))
    if quick:
        r = run_load(processes=1, database=None, customers=customers, nodes=nodes,
                     seconds=seconds, evals=evals, run_workers=workers)  # fmt: skip
        return _rows(r)
    base, started = _postgres()
    results: list[LoadResult] = []
    try:
        for processes in (1, 2):
            url, drop = _fresh_database(base)
            try:
                results.append(run_load(processes=processes, database=url, customers=customers,
                                        nodes=nodes, seconds=seconds, evals=evals,
                                        run_workers=workers))  # fmt: skip
            finally:
                drop()
    finally:
        if started:
            from configurator.settings import REPO_ROOT

            subprocess.run(["bash", str(REPO_ROOT / "scripts" / "postgres.sh"), "stop"],
                           capture_output=True)  # fmt: skip
    rows = [row for r in results for row in _rows(r)]
    one, two = results[0].runs_per_minute, results[1].runs_per_minute
    rows.append(Row("load", "runs per minute, 2 processes vs 1", two, "1 process", one,
                    two / one if one else None, ">= 1.6 where CPU allows", None, "1/min",
                    note="bounded by the CPU: 2 cores for runs, servers, PostgreSQL and locust"))  # fmt: skip
    return rows
