"""``configurator bench --only run-events``: how fast a run's events cross server processes,
and what it costs the database — PostgreSQL ``LISTEN/NOTIFY`` against polling.

A writer process appends progress events to ``RUNS`` runs (round robin, ``RATE`` events a
second in all, each carrying its wall-clock send time) through the run store, as an
executing server does; this process streams every run through an
:class:`~configurator.services.design.run_events.EventHub`, as a serving process does, with
the ``notify`` transport and then with ``poll`` (every 0.1 s, the setting's default).
Rows: delivery latency p50/p95 (send → the stream yields it, ms) and the transactions a
second the serving side adds to PostgreSQL (``pg_stat_database.xact_commit`` over the
window, less the writer's own). Needs ``CONFIGURATOR_TEST_POSTGRES_URL`` or starts
``scripts/postgres.sh``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from types import SimpleNamespace

from configurator.entrypoints.bench import Row, benchmark

RUNS = 10
RATE = 50.0
POLL_S = 0.1

_WRITER = """
import sys, time
from configurator.adapters.db.store import Store
from configurator.adapters.db.runs import RunStore
url, ids, rate, seconds = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3]), float(sys.argv[4])
runs = RunStore(Store(url))
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < seconds:
    rid = ids[n % len(ids)]
    runs.append(rid, [("progress", {"t": time.time(), "n": n})], time.time())
    n += 1
    time.sleep(max(0.0, t0 + n / rate - time.monotonic()))
for rid in ids:
    runs.append(rid, [("end", {"status": "done", "message": "", "t": time.time()})], time.time(),
                status="done", message="", finished_at=time.time())
print(n + len(ids))
"""


def _commits(url: str) -> int:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as c:
        c.execute(text("SELECT pg_stat_clear_snapshot()"))
        n = c.execute(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar()
    eng.dispose()
    return int(n)


def _measure(url: str, transport: str, seconds: float) -> tuple[list[float], float]:
    """(latencies in ms, serving-side transactions per second)."""
    from configurator.adapters.db.runs import RunStore
    from configurator.adapters.db.store import Store
    from configurator.services.design.run_events import EventHub

    store = Store(url)
    store.migrate()
    runs = RunStore(store)
    now = time.time()
    ids = []
    for i in range(RUNS):
        row = runs.create(
            {"id": f"{transport}-{i}-{int(now)}", "catalog_id": "bench", "client": "bench",
             "request": {}, "context": {}, "pareto": False, "message": ""},
            check=lambda counts: None, first_event=lambda ahead, cap: ("status", {"status": "queued"}),
            now=now, lease_s=10.0,
        )  # fmt: skip
        runs.append(row.id, [("status", {"status": "running"})], now, status="running")
        ids.append(row.id)
    hub = EventHub(runs, transport=transport, poll_s=POLL_S, queue_info=lambda ahead: {})
    hub.start()
    latencies: list[float] = []

    async def consume(run_id: str) -> None:
        async for chunk in hub.stream(run_id):
            for line in chunk.splitlines():
                if line.startswith("data: ") and '"t"' in line:
                    latencies.append((time.time() - json.loads(line[6:])["t"]) * 1000)

    async def main() -> tuple[int, float]:
        tasks = [asyncio.create_task(consume(i)) for i in ids]
        await asyncio.sleep(1.0)  # streams attached
        before = _commits(url)
        t0 = time.monotonic()
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WRITER, url, ",".join(ids), str(RATE), str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await writer.communicate()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        elapsed = time.monotonic() - t0
        return _commits(url) - before - int(out.decode().strip() or 0), elapsed

    try:
        extra, elapsed = asyncio.run(main())
    finally:
        hub.close()
        store.dispose()
    return latencies, max(extra, 0) / elapsed


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@benchmark("run-events")
def bench_run_events(quick: bool = False) -> list[Row]:
    from configurator.entrypoints.bench.load import _fresh_database, _postgres
    from configurator.settings import REPO_ROOT

    seconds = 5.0 if quick else 20.0
    base, started = _postgres()
    results = {}
    try:
        for transport in ("notify", "poll"):
            url, drop = _fresh_database(base)
            try:
                results[transport] = _measure(url, transport, seconds)
            finally:
                drop()
    finally:
        if started:
            subprocess.run(["bash", str(REPO_ROOT / "scripts" / "postgres.sh"), "stop"],
                           capture_output=True)  # fmt: skip
    n, p = (SimpleNamespace(lat=results[t][0], tps=results[t][1]) for t in ("notify", "poll"))
    return [
        Row("run-events", "event delivery across processes, p50 [ms]", _pct(n.lat, 0.5),
            f"polling every {POLL_S} s", _pct(p.lat, 0.5), None, "report", None, "ms",
            note=f"{len(n.lat)} / {len(p.lat)} events"),
        Row("run-events", "event delivery across processes, p95 [ms]", _pct(n.lat, 0.95),
            f"polling every {POLL_S} s", _pct(p.lat, 0.95), None, "report", None, "ms"),
        Row("run-events", f"serving-side database transactions, {RUNS} streams [1/s]", n.tps,
            f"polling every {POLL_S} s", p.tps, None, "report", None, "1/s"),
    ]  # fmt: skip
