"""Every registry's items are reachable from the command line and the HTTP API.

Registries: product families (``core.geometry.registry``, one catalog each), optimization
algorithms (``engines.optimize.algorithms.ALGORITHMS``), exporters
(``core.export.EXPORTERS``), routing policies (``core.farm.router.POLICIES``; the server
runs the one ``Settings.routing_policy`` names), printer connectors
(``adapters.connectors.CONNECTORS``; a node-side concept: reachable from ``configurator node
run``, and through the farm API as the node it drives). Estimate technologies have their
own test (tests/services/estimate).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from configurator.adapters.catalog_yaml import catalog_paths, load_catalog
from configurator.adapters.connectors import CONNECTORS
from configurator.core.export import EXPORTERS
from configurator.core.farm.demo import box_stl
from configurator.core.farm.router import POLICIES
from configurator.core.geometry import registry
from configurator.engines.optimize.algorithms import ALGORITHMS
from configurator.settings import REPO_ROOT, Settings
from tests.support.farm import register_printer
from tests.support.live_app import Server, wait_finished

CATALOGS = {load_catalog(p).id: load_catalog(p) for p in catalog_paths(REPO_ROOT / "catalogs")}
ADMIN = "registry-admin"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "configurator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("registries"), admin_key=ADMIN, run_workers=1
    )
    with Server(settings) as client:
        register_printer(str(client.base_url), ADMIN)  # runs are limited to the server's farm
        yield client


def _built_in_families() -> list[str]:
    """Families registered by the package (tests register their own toy generators)."""
    return [
        n
        for n in registry.names()
        if registry.entry(n).fn.__module__.startswith("configurator.core.geometry.families.")
    ]


def test_every_family_has_a_catalog_listed_by_cli_and_api(api):
    families = {c.generator: cid for cid, c in CATALOGS.items()}
    built_in = _built_in_families()
    assert built_in and set(built_in) <= set(families), "a built-in family without a catalog"
    listed = cli("catalog", "list")
    assert listed.returncode == 0, listed.stderr
    served = {c["id"] for c in api.get("/api/v1/catalogs").json()}
    for name in built_in:
        assert families[name] in listed.stdout
        assert families[name] in served


def _objectives(algorithm: str) -> list[str]:
    return ["mass", "stiffness"] if ALGORITHMS[algorithm].multi_objective else ["mass"]


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_every_algorithm_runs_from_cli_and_api(algorithm, api, tmp_path):
    form = api.get("/api/v1/catalogs/enclosure").json()
    assert algorithm in form["algorithms"]
    run = api.post(
        "/api/v1/runs",
        json={
            "catalog_id": "enclosure",
            "objectives": _objectives(algorithm),
            "algorithm": algorithm,
            "evals": 200,
            "top": 2,
        },
    )
    assert run.status_code == 202, run.text
    done = wait_finished(api, run.json()["id"], timeout=120)
    assert done["status"] == "done" and done["stats"]["algorithm"] == algorithm
    out = cli(
        "design", "enclosure", "--algorithm", algorithm, "--evals", "200", "--top", "1",
        "--objective", *_objectives(algorithm), "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "designs.json").read_text())


@pytest.fixture(scope="module")
def api_design(api) -> dict:
    run = api.post(
        "/api/v1/runs",
        json={"catalog_id": "enclosure", "objectives": ["mass"], "evals": 200, "top": 1},
    )
    return wait_finished(api, run.json()["id"], timeout=120)["designs"][0]


@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_every_exporter_writes_from_cli_and_serves_from_api(fmt, api, api_design, tmp_path):
    out = cli(
        "design", "enclosure", "--objective", "mass", "--evals", "200", "--top", "1",
        "--format", fmt, "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert list(tmp_path.glob(f"*.{fmt}")), f"no .{fmt} written"
    got = api.get(api_design["links"][fmt])
    assert got.status_code == 200 and got.headers["content-type"] == EXPORTERS[fmt].media_type
    assert got.content


@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_routing_policy_from_cli_and_the_server(policy, tmp_path):
    out = cli(
        "farm", "simulate", "--policy", policy, "--nodes", "3", "--jobs", "20", "--seed", "1",
        "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["policy"] == policy
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN, routing_policy=policy)
    with Server(settings) as api:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        node = {"technology": "FDM", "build_volume": [200, 200, 200], "materials": {"PLA": 1e4},
                "auto_clear": True, "setup_s": 0}  # fmt: skip
        for name in ("a", "b"):
            r = api.post("/api/v1/farm/nodes", json={"name": name, **node}, headers=auth)
            assert r.status_code == 201, r.text
        job = api.post(
            "/api/v1/farm/jobs",
            headers=auth,
            files={"file": ("p.stl", box_stl(20, 20, 5), "application/octet-stream")},
            data={"design_id": "d", "material": "PLA", "bbox_x": 20, "bbox_y": 20,
                  "bbox_z": 5, "est_seconds": 60, "grams": 2},
        )  # fmt: skip
        assert job.status_code == 201, job.text
        detail = api.get(f"/api/v1/farm/jobs/{job.json()['id']}", headers=auth).json()
        assigned = [e for e in detail["events"] if e["kind"] == "assigned"]
        assert assigned and assigned[0]["reason"].startswith(f"{policy}:")


def test_unknown_routing_policy_is_a_settings_error():
    with pytest.raises(ValueError, match="unknown routing policy"):
        Settings(routing_policy="fastest-first")


#: the ``node run`` flag that selects each connector (the OctoPrint connector is driven
#: end to end against real OctoPrint instances in tests/services/farm/test_octoprint_farm.py)
CONNECTOR_FLAGS = {"simulated": "--simulate", "octoprint": "--octoprint"}


def test_every_connector_is_selectable_from_the_cli():
    assert set(CONNECTORS) == set(CONNECTOR_FLAGS), "add the new connector's flag here"
    help_text = cli("node", "run", "--help").stdout
    for flag in CONNECTOR_FLAGS.values():
        assert flag in help_text


def test_the_simulated_connector_prints_a_job_through_the_farm_api(tmp_path):
    settings = Settings(data_dir=tmp_path, admin_key=ADMIN)
    with Server(settings) as api:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        reg = api.post(
            "/api/v1/farm/nodes",
            headers=auth,
            json={"name": "n", "technology": "FDM", "build_volume": [200, 200, 200],
                  "materials": {"PLA": 1e4}},
        )  # fmt: skip
        key = reg.json()["node_key"]
        job = api.post(
            "/api/v1/farm/jobs",
            headers=auth,
            files={"file": ("p.stl", box_stl(20, 20, 5), "application/octet-stream")},
            data={"design_id": "d", "material": "PLA", "bbox_x": 20, "bbox_y": 20,
                  "bbox_z": 5, "est_seconds": 60, "grams": 2},
        ).json()  # fmt: skip
        out = cli(
            "node", "run", "--server", str(api.base_url).rstrip("/"), "--node-key", key,
            "--simulate", "--speed", "1000", "--poll", "0.1", "--max-jobs", "1",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        final = api.get(f"/api/v1/farm/jobs/{job['id']}", headers=auth).json()
        assert final["state"] == "done"
