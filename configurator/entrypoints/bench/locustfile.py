"""Locust scenarios of ``configurator bench --only load`` (run by locust in its own process:
``locust -f this_file --headless ...``; never imported by the package).

* ``Customer``: gallery → product page → ``POST /runs`` → the run's server-sent events
  until ``end`` → the run → the design with its estimate (``GET /designs/{id}``) → its
  quote (``GET /designs/{id}/quote``, what the product page shows before ordering) →
  ``POST /orders`` → the order page.
  Custom rows: ``RUN first event`` (from sending ``POST /runs`` to the first event, queued
  or progress), ``RUN queue wait`` (queued → running), ``RUN duration`` (running → end),
  ``RUN finished`` (one per run; a run that does not end ``done`` is a failure).
* ``Node``: a registered node (keys from ``LOAD_NODE_KEYS``): heartbeat, claim, and for a
  job: download its file, report progress, complete it.

Any non-2xx answer (204 for an empty claim excepted) — a 429 or a 5xx included — is a
failure. Environment: ``LOAD_CUSTOMERS``, ``LOAD_NODES`` (user counts), ``LOAD_EVALS``
(evaluation budget per run), ``LOAD_NODE_KEYS`` (a file with one node key per line),
``LOAD_CSV`` (a path prefix: the final statistics are written to ``<prefix>_stats.csv``,
``_failures.csv`` and ``_exceptions.csv`` once every user has stopped — locust's own
``--csv`` files are snapshots taken each second, so they miss what the last second
recorded, such as the end of the runs that finish during the graceful stop).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import time

from locust import HttpUser, between, constant, events, task
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

EVALS = int(os.environ.get("LOAD_EVALS", "600"))
_KEYS = (
    [k for k in open(os.environ["LOAD_NODE_KEYS"]).read().split() if k]
    if os.environ.get("LOAD_NODE_KEYS")
    else []
)
_next_key = itertools.count()


@events.test_stop.add_listener
def _write_final_stats(environment, **_kwargs) -> None:
    """The statistics once every user has stopped, in locust's CSV format."""
    prefix = os.environ.get("LOAD_CSV")
    if not prefix:
        return
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                          ("exceptions", writer.exceptions_csv)):  # fmt: skip
        with open(f"{prefix}_{suffix}.csv", "w", newline="") as fh:
            write(csv.writer(fh))


def _record(name: str, ms: float, exc: Exception | None = None) -> None:
    events.request.fire(request_type="RUN", name=name, response_time=ms, response_length=0,
                        exception=exc, context={})  # fmt: skip


class Customer(HttpUser):
    fixed_count = int(os.environ.get("LOAD_CUSTOMERS", "50"))
    wait_time = between(1, 3)

    @task
    def configure_and_order(self) -> None:
        self.client.get("/", name="/ (gallery)")
        self.client.get("/products/enclosure", name="/products/{id}")
        body = {
            "catalog_id": "enclosure",
            "requirements": {"board_length": random.choice([60, 80, 100]), "board_width": 50},
            "objectives": ["mass"],
            "material": "PLA",
            "evals": EVALS,
            "seed": random.randrange(1_000_000),
            "top": 3,
        }
        t0 = time.perf_counter()
        with self.client.post("/api/v1/runs", json=body, catch_response=True,
                              name="/api/v1/runs") as r:  # fmt: skip
            if r.status_code != 202:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return
            run_id = r.json()["id"]
        end = self._follow(run_id, t0)
        if end is None:
            return
        run = self.client.get(f"/api/v1/runs/{run_id}", name="/api/v1/runs/{id}").json()
        design = run["designs"][0]["design_id"]
        self.client.get(f"/api/v1/designs/{design}", name="/api/v1/designs/{id} (estimate)")
        self.client.get(f"/api/v1/designs/{design}/quote?material=PLA&quantity=1",
                        name="/api/v1/designs/{id}/quote")  # fmt: skip
        with self.client.post("/api/v1/orders", json={"design_id": design, "material": "PLA"},
                              catch_response=True, name="/api/v1/orders") as r:  # fmt: skip
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return
            token = r.json()["token"]
        self.client.get(f"/orders/{token}", name="/orders/{token} (page)")

    def _follow(self, run_id: str, t0: float) -> dict | None:
        """Read the run's events until ``end``; record first event, queue wait, duration."""
        first = queued_at = running_at = None
        kind = None
        with self.client.get(f"/api/v1/runs/{run_id}/events", stream=True, catch_response=True,
                             name="/api/v1/runs/{id}/events", timeout=600) as r:  # fmt: skip
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
                return None
            for raw in r.iter_lines():
                line = raw.decode() if isinstance(raw, bytes) else raw
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    now = time.perf_counter()
                    data = json.loads(line[6:])
                    if first is None:
                        first = now
                        _record("first event", (now - t0) * 1000)
                    if kind == "status" and data.get("status") == "queued" and queued_at is None:
                        queued_at = now
                    if kind == "status" and data.get("status") == "running":
                        running_at = now
                        _record("queue wait", (now - (queued_at or now)) * 1000)
                    if kind == "end":
                        _record("duration", (now - (running_at or now)) * 1000)
                        ok = data.get("status") == "done"
                        exc = None if ok else RuntimeError(f"run ended {data}")
                        _record("finished", (now - t0) * 1000, exc)
                        r.success()
                        return data if ok else None
            r.failure("the stream ended without an end event")
            _record("finished", (time.perf_counter() - t0) * 1000, RuntimeError("no end event"))
        return None


class Node(HttpUser):
    fixed_count = int(os.environ.get("LOAD_NODES", "20"))
    wait_time = constant(1)

    def on_start(self) -> None:
        key = _KEYS[next(_next_key) % len(_KEYS)]
        self.client.headers["Authorization"] = f"Bearer {key}"
        self.last_beat = 0.0

    @task
    def work(self) -> None:
        if time.monotonic() - self.last_beat > 3:
            self.client.post("/api/v1/farm/agent/heartbeat", json={"state": "idle"},
                             name="/farm/agent/heartbeat")  # fmt: skip
            self.last_beat = time.monotonic()
        with self.client.post("/api/v1/farm/agent/claim", catch_response=True,
                              name="/farm/agent/claim") as r:  # fmt: skip
            if r.status_code == 204:
                r.success()
                return
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return
            job = r.json()["job"]
        jid = job["id"]
        self.client.get(f"/api/v1/farm/agent/jobs/{jid}/file", name="/farm/agent/jobs/{id}/file")
        self.client.post(f"/api/v1/farm/agent/jobs/{jid}/progress",
                         json={"percent": 50.0, "seconds_left": 1.0},
                         name="/farm/agent/jobs/{id}/progress")  # fmt: skip
        self.client.post(f"/api/v1/farm/agent/jobs/{jid}/complete",
                         json={"actual_seconds": max(job["est_seconds"], 1.0),
                               "grams_used": job["grams"]},
                         name="/farm/agent/jobs/{id}/complete")  # fmt: skip
