"""The lean load test of the suite: locust (its own process) with a few customers and nodes
against a real server on loopback for ~20 s — every run started finishes ``done``, no
request fails (a 429 or a 5xx would), every scenario step was exercised. The full one is
``configurator bench --only load`` (50 customers + 20 nodes, 1 and 2 processes, PostgreSQL)."""

from __future__ import annotations

import importlib.util

import pytest

from configurator.entrypoints.bench.load import run_load

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("locust") is None, reason="locust is not installed"
)


def test_customers_and_nodes_under_load_finish_without_failures():
    r = run_load(processes=1, database=None, customers=4, nodes=3, seconds=20, evals=300,
                 run_workers=1)  # fmt: skip
    assert r.failed() == 0, r.failures
    assert not r.exceptions, r.exceptions
    started = r.count("POST /api/v1/runs")
    assert started >= 4 and r.count("RUN finished") == started  # every run finished
    for step in ("GET / (gallery)", "GET /api/v1/runs/{id}/events",
                 "GET /api/v1/designs/{id}/quote", "POST /api/v1/orders",
                 "GET /orders/{token} (page)", "POST /farm/agent/heartbeat",
                 "POST /farm/agent/claim"):  # fmt: skip
        assert r.count(step) > 0, (step, sorted(r.stats))
    assert r.count("RUN first event") == started
    assert r.pct("RUN first event", "95%") is not None
