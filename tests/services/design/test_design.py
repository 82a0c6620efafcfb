"""The design service on the shipped enclosure catalog: composition, files, Dask runs."""

from __future__ import annotations

import json

import pytest

from configurator.errors import CatalogError, RequirementsError
from configurator.services.design.service import (
    DesignRequest,
    design,
    designs_json,
    run_many,
    run_request,
    write_result,
)
from configurator.settings import REPO_ROOT

ENCLOSURE = REPO_ROOT / "catalogs" / "enclosure.yaml"
#: a big board, a heavy load and a tiny allowed deflection: no lid is stiff enough
IMPOSSIBLE = {"board_length": 240, "board_width": 190, "load": 500, "max_deflection": 0.1}


def test_design_by_id_and_by_path_agree():
    kwargs = {
        "requirements": {"board_length": 100},
        "objectives": ["mass"],
        "evals": 400,
        "seed": 3,
    }
    by_id = design("enclosure", catalog_dir=REPO_ROOT / "catalogs", **kwargs)
    by_path = design(str(ENCLOSURE), **kwargs)
    assert by_id.status == "ok" and by_id.records
    assert designs_json(by_id) == designs_json(by_path)
    rec = by_id.records[0]
    assert rec.catalog_id == "enclosure" and rec.requirements["board_length"] == 100.0
    assert rec.requirements["board_width"] == 50.0  # left out -> catalog default
    assert rec.feasible and rec.verify()


def test_text_values_from_a_command_line_are_accepted():
    res = design(
        ENCLOSURE,
        requirements={"board_length": "90"},
        locks={"screw": "M2.5", "vent_count": "2"},
        objectives=["mass"],
        evals=300,
    )
    assert {r.parameters["screw"].value for r in res.records} == {"M2.5"}
    assert {r.parameters["vent_count"].value for r in res.records} == {2}


def test_files_are_byte_identical_for_the_same_seed(tmp_path):
    a = design(ENCLOSURE, objectives=["mass", "stiffness"], evals=600, seed=1, top=4)
    b = design(ENCLOSURE, objectives=["mass", "stiffness"], evals=600, seed=1, top=4)
    (pa,) = write_result(tmp_path / "a", a)
    (pb,) = write_result(tmp_path / "b", b)
    assert pa.name == "designs.json" and pa.read_bytes() == pb.read_bytes()
    data = json.loads(pa.read_text())
    assert [d["design_id"] for d in data] == [r.design_id for r in a.records]


def test_infeasible_requirements_name_a_requirement_change_that_works(tmp_path):
    res = design(ENCLOSURE, requirements=IMPOSSIBLE, objectives=["mass"], evals=600)
    assert res.status == "infeasible" and res.records == []
    report = res.infeasibility
    assert report.violations[0].name == "lid stiff enough"
    assert report.violations[0].unit == "mm"
    changes = {c.name: c for c in report.requirement_changes}
    assert "load" in changes and changes["load"].direction == "decrease"
    assert "would need" in report.summary
    # the suggestion is real: with it, the service finds feasible designs
    fixed = design(
        ENCLOSURE,
        requirements={**IMPOSSIBLE, "load": changes["load"].suggested},
        objectives=["mass"],
        evals=600,
    )
    assert fixed.status == "ok" and fixed.records
    (path,) = write_result(tmp_path, res)
    assert path.name == "infeasibility.json"
    assert json.loads(path.read_text())["violations"][0]["name"] == "lid stiff enough"


@pytest.mark.parametrize(
    ("catalog", "error"),
    [("no-such-catalog", RequirementsError), ("missing/dir/x.yaml", RequirementsError)],
)
def test_unknown_catalogs_are_clear_errors(catalog, error):
    with pytest.raises(error) as exc:
        design(catalog, catalog_dir=REPO_ROOT / "catalogs", evals=100)
    assert "catalog" in exc.value.fields


def test_a_broken_catalog_file_reports_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(ENCLOSURE.read_text().replace("sense: min", "sense: smallest", 1))
    with pytest.raises(CatalogError) as exc:
        design(bad, evals=100)
    assert str(bad) in str(exc.value)


def test_runs_on_a_dask_cluster_match_local_runs():
    distributed = pytest.importorskip("distributed")
    requests = [
        DesignRequest(catalog_id=str(ENCLOSURE), objectives=["mass"], evals=300, seed=s, top=2)
        for s in range(3)
    ]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = run_many(requests, client_or_address=client)
        by_address = run_many(requests[:1], client_or_address=cluster.scheduler_address)
        bad = DesignRequest(catalog_id=str(ENCLOSURE), requirements={"nope": 1}, evals=300)
        with pytest.raises(RequirementsError) as exc:
            run_many([bad], client_or_address=client)
        assert "nope" in exc.value.fields
    local = [run_request(r) for r in requests]
    assert [designs_json(r) for r in remote] == [designs_json(r) for r in local]
    assert designs_json(by_address[0]) == designs_json(local[0])
