"""The OpenAPI document is complete: schemathesis (``--checks all``) against the live app
finds no failure — operators' operations with the admin key, the node agents' with a node
key, a bounded number of examples each — and ``/docs`` is served offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from configurator.settings import Settings
from tests.entrypoints.api.conftest import ADMIN, LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: POST /runs (requirements depend on the catalog, weights on the objectives), /orders (the
#: design must exist) and /farm/jobs (the file must be an STL or 3MF): a schema-valid body
#: may still be refused there with a field-level 422 — the rejection schemathesis' docs
#: name for rules a schema cannot express
CONFIG = """\
[[operations]]
include-path-regex = "^/api/v1/(runs|orders|farm/jobs)$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    data = tmp_path_factory.mktemp("openapi")
    settings = Settings(data_dir=data, admin_key=ADMIN, run_workers=1, max_evals_per_run=2000)
    with LiveServer(settings) as srv:
        yield srv, data


def schemathesis(url: str, key: str, cwd: Path, *filters: str) -> subprocess.CompletedProcess:
    (cwd / "schemathesis.toml").write_text(CONFIG)
    cmd = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all",
           "--max-examples", os.environ.get("CONFIGURATOR_SCHEMATHESIS_EXAMPLES", "6"),
           "--seed", "1", "--generation-database", "none", "--no-color",
           "--request-timeout", "60", "-H", f"Authorization: Bearer {key}", *filters]  # fmt: skip
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


def _summary(out: str) -> str:
    lines = out.splitlines()
    start = next((i for i, line in enumerate(lines) if "FAILURES" in line), len(lines) - 60)
    return "\n".join(lines[start : start + 80])


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")
def test_schemathesis_all_checks_node_agent_operations(live, tmp_path):
    srv, _ = live
    with srv.client(ADMIN) as admin:
        node = {"name": "st-node", "technology": "FDM", "build_volume": [200, 200, 200],
                "materials": {"PLA": 1000}}  # fmt: skip
        key = admin.post("/api/v1/farm/nodes", json=node).json()["node_key"]
    done = schemathesis(srv.url, key, tmp_path, "--include-path-regex", "/farm/agent/")
    assert done.returncode == 0, _summary(done.stdout + done.stderr)
    assert "Tested: 7" in done.stdout and "Failures:" not in done.stdout


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")
def test_schemathesis_all_checks_every_other_operation(live, tmp_path):
    srv, _ = live
    done = schemathesis(srv.url, ADMIN, tmp_path, "--exclude-path-regex", "/farm/agent/")
    assert done.returncode == 0, _summary(done.stdout + done.stderr)
    tested = int(re.search(r"Tested: (\d+)", done.stdout).group(1))
    assert tested >= 20 and "Failures:" not in done.stdout


def test_every_operation_documents_its_errors(live):
    srv, _ = live
    doc = httpx.get(srv.url + "/openapi.json").json()
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "400" in codes, (method, path)
            if op.get("security"):
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in op:
                assert {"413", "422"} <= codes, (method, path)
            for code, response in op["responses"].items():
                if code.startswith("4"):
                    assert response["content"]["application/json"]["schema"], (method, path)
    jobs = doc["paths"]["/api/v1/farm/jobs"]["post"]["requestBody"]["content"]
    form = jobs["multipart/form-data"]["schema"]
    props = doc["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]["properties"]
    assert props["deadline"] == {"type": "string", "format": "date-time",
                                 "title": "Deadline", "description": "ISO 8601"}  # fmt: skip
    assert props["material"]["pattern"] and props["bbox_x"]["exclusiveMinimum"] == 0


def test_options_lists_every_method_of_the_path(live):
    srv, _ = live
    r = httpx.options(srv.url + "/api/v1/farm/nodes/n1")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}


def test_docs_are_served_offline(live):
    srv, _ = live
    page = httpx.get(srv.url + "/docs")
    assert page.status_code == 200
    assert not re.search(r"https?://", page.text), "the docs page names another host"
    for url in re.findall(r'(?:href|src)="([^"]+)"', page.text):
        assert httpx.get(srv.url + url).status_code == 200, url
    assert httpx.get(srv.url + "/redoc").status_code == 404
