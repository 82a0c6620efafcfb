"""``configurator design``: files, exit codes and one-line errors (in-process, real catalog)."""

from __future__ import annotations

import json

import pytest

from configurator.entrypoints.cli import main
from configurator.settings import REPO_ROOT

ENCLOSURE = str(REPO_ROOT / "catalogs" / "enclosure.yaml")


def _run(capsys, *argv):
    code = main(["design", *argv])
    return code, capsys.readouterr()


def test_writes_byte_identical_designs_json(tmp_path, capsys):
    args = [
        "--require",
        "board_length=100",
        "board_width=60",
        "--require",
        "load=30",
        "--objective",
        "mass",
        "stiffness",
        "--evals",
        "600",
        "--seed",
        "4",
        "--top",
        "3",
    ]
    code, out = _run(capsys, ENCLOSURE, *args, "--out", str(tmp_path / "a"))
    assert code == 0, out.err
    code, _ = _run(capsys, ENCLOSURE, *args, "--out", str(tmp_path / "b"))
    a = (tmp_path / "a" / "designs.json").read_bytes()
    assert a == (tmp_path / "b" / "designs.json").read_bytes()
    records = json.loads(a)
    assert 1 <= len(records) <= 3
    assert {r["requirements"]["board_length"] for r in records} == {100.0}
    assert {r["requirements"]["load"] for r in records} == {30.0}
    assert "gen " in out.err  # compact progress lines when stderr is not a terminal


def test_locks_bounds_and_weights(tmp_path, capsys):
    code, out = _run(
        capsys,
        "enclosure",
        "--lock",
        "screw=M2",
        "--bound",
        "wall=2:3",
        "--objective",
        "mass",
        "stiffness",
        "--weights",
        "mass=3",
        "stiffness=1",
        "--algorithm",
        "pso",
        "--evals",
        "400",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert code == 0, out.err
    records = json.loads((tmp_path / "designs.json").read_text())
    assert records
    for r in records:
        assert r["parameters"]["screw"]["value"] == "M2"
        assert 2 <= r["parameters"]["wall"]["value"] <= 3


def test_meshes_are_written_next_to_the_records(tmp_path, capsys):
    code, out = _run(
        capsys,
        "enclosure",
        "--objective",
        "mass",
        "--evals",
        "300",
        "--top",
        "1",
        "--format",
        "stl",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert code == 0, out.err
    (record,) = json.loads((tmp_path / "designs.json").read_text())
    assert set(record["files"]) == {"base", "lid"}
    for name in record["files"].values():
        assert (tmp_path / name).stat().st_size > 84
    assert all(record["mesh"]["checks"].values())


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--require", "bogus=1"], "bogus"),
        (["--require", "board_length"], "NAME=VALUE"),
        (["--require", "board_length=huge"], "board_length"),
        (["--objective", "beauty"], "beauty"),
        (["--objective", "mass", "stiffness", "--algorithm", "ga"], "one objective"),
        (["--objective", "mass", "stiffness", "--weights", "1"], "weights"),
        (["--weights", "a", "b"], "weights"),
        (["--bound", "wall=3"], "LO:HI"),
        (["--evals", "3"], "evals"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    code, out = _run(capsys, "enclosure", *argv, "--quiet", "--out", str(tmp_path))
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.err


def test_unknown_catalog_is_exit_2(tmp_path, capsys):
    code, out = _run(capsys, "no-such-family", "--out", str(tmp_path))
    assert code == 2 and "unknown catalog" in out.err


def test_infeasible_is_exit_3_naming_the_constraint(tmp_path, capsys):
    code, out = _run(
        capsys,
        "enclosure",
        "--require",
        "board_length=240",
        "board_width=190",
        "load=500",
        "max_deflection=0.1",
        "--evals",
        "400",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    assert code == 3
    assert "lid stiff enough" in out.err and "missed by" in out.err and "mm" in out.err
    assert not (tmp_path / "designs.json").exists()
    report = json.loads((tmp_path / "infeasibility.json").read_text())
    assert report["violations"][0]["name"] == "lid stiff enough"


@pytest.mark.parametrize("where", ["a-file", "a-file/sub"])
def test_unusable_out_is_exit_2_before_the_run(tmp_path, capsys, where):
    """Regression: an --out that is a file (or under one) ran the whole optimization,
    then died as an internal error (exit 4, FileExistsError/NotADirectoryError)."""
    (tmp_path / "a-file").write_text("not a directory")
    code, out = _run(capsys, "enclosure", "--evals", "200", "--out", str(tmp_path / where))
    assert code == 2, out.err
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configurator: error: out: "), out.err
    assert str(tmp_path / where) in lines[0]
    assert (tmp_path / "a-file").read_text() == "not a directory"


def test_out_directory_is_created_with_its_parents(tmp_path, capsys):
    out_dir = tmp_path / "x" / "y"
    code, out = _run(
        capsys, "enclosure", "--evals", "200", "--top", "1", "--quiet", "--out", str(out_dir)
    )
    assert code == 0, out.err
    assert json.loads((out_dir / "designs.json").read_text())
