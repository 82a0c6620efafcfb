"""``configurator estimate``: evaluate, train, mesh, --from-history; errors are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from configurator.adapters.dataset import DATASET_PATH, load_dataset
from configurator.adapters.model_store import load_model
from configurator.entrypoints.cli import main


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """The committed FDM data set cut to a third of its parts (same columns, real rows)."""
    lines = DATASET_PATH.read_text().splitlines(keepends=True)
    ds = load_dataset()
    keep_groups = set(np.unique(ds.group)[::3].tolist())
    keep = [i for i, g in enumerate(ds.group) if g in keep_groups]
    path = tmp_path_factory.mktemp("cli") / "small.csv"
    path.write_text(lines[0] + "".join(lines[i + 1] for i in keep))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_reports_model_and_baseline_per_family(capsys, small_csv) -> None:
    code, out, _ = run(
        capsys, "estimate", "evaluate", "--technology", "FDM", "--data", str(small_csv), "--json"
    )
    assert code == 0
    report = json.loads(out)["FDM"]
    assert report["split"] == "leave one shape family out"
    for target in ("seconds", "grams"):
        r = report[target]
        assert r["model"]["mape"] < r["baseline"]["mape"]
        assert set(r["model"]["by_family"]) == set(report["families"])
        assert "/" in r["model"]["worst_part"]
    code, out, _ = run(
        capsys, "estimate", "evaluate", "--technology", "FDM", "--data", str(small_csv)
    )
    assert code == 0 and "baseline MAPE" in out and "by family" in out and "worst part" in out


def test_train_writes_a_loadable_model(capsys, small_csv, tmp_path) -> None:
    code, out, _ = run(
        capsys, "estimate", "train", "--data", str(small_csv), "--out", str(tmp_path), "--no-eval"
    )
    assert code == 0 and "trained FDM" in out
    assert {"PLA", "PETG", "ASA"} <= set(load_model(tmp_path).materials)


def test_mesh_estimate(capsys, tmp_path) -> None:
    stl = tmp_path / "cube.stl"
    stl.write_bytes(trimesh.creation.box((30, 30, 30)).export(file_type="stl"))
    code, out, _ = run(capsys, "estimate", "mesh", str(stl), "--material", "PETG", "--json")
    assert code == 0
    est = json.loads(out)
    assert est["seconds"] > 0 and est["grams"] > 0 and est["profile"] == "PETG"
    code, out, _ = run(
        capsys, "estimate", "mesh", str(stl), "--catalog", "enclosure", "--material", "ASA"
    )
    assert code == 0 and "price" in out and "FDM" in out


def test_mesh_estimate_in_resin_names_sla(capsys, tmp_path) -> None:
    stl = tmp_path / "block.stl"
    stl.write_bytes(trimesh.creation.box((20, 12, 6)).export(file_type="stl"))
    code, out, _ = run(capsys, "estimate", "mesh", str(stl), "--material", "Resin")
    assert code == 0 and ": SLA, " in out and "profile Resin" in out
    code, out, _ = run(capsys, "estimate", "mesh", str(stl), "--material", "Resin", "--json")
    est = json.loads(out)
    assert est["technology"] == "SLA" and est["seconds"] > 0 and est["grams"] > 0


@pytest.mark.parametrize(
    "argv",
    [
        ("estimate", "evaluate", "--technology", "FDM", "--data", "/nonexistent.csv"),
        ("estimate", "evaluate", "--data", "/nonexistent.csv"),
        ("estimate", "mesh", "/nonexistent.stl"),
        ("estimate", "mesh", "{stl}", "--material", "Unobtainium"),
        ("estimate", "mesh", "{stl}", "--catalog", "enclosure", "--material", "Resin"),
        ("estimate", "train", "--from-history", "--data-dir", "{tmp}"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv) -> None:
    stl = tmp_path / "c.stl"
    stl.write_bytes(trimesh.creation.box((5, 5, 5)).export(file_type="stl"))
    argv = [a.format(stl=stl, tmp=tmp_path) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("configurator: error:")
