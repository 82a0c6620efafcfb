"""``configurator design-space``: explains the space, evaluates defaults, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

from configurator.entrypoints.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_text_output_shows_space_and_defaults(capsys):
    code = main(
        [
            "design-space",
            "enclosure",
            "--require",
            "board_length=120",
            "--lock",
            "screw=M2.5",
            "--bounds",
            "wall=1:3",
            "--objective",
            "mass",
            "stiffness",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "board_length     = 120 mm  (given)" in out
    assert "screw = M2.5" in out
    assert "wall           real    1 .. 3  step 0.1  mm" in out
    assert "min mass [g]" in out and "max stiffness [N/mm]" in out
    assert "feasible: yes" in out


def test_json_output(capsys):
    assert (
        main(
            [
                "design-space",
                str(REPO / "catalogs" / "bone-plate.yaml"),
                "--material",
                "PEEK",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["catalog"]["id"] == "bone-plate"
    assert "material" not in [v["name"] for v in data["variables"]]
    d = data["defaults"]
    assert d["material"] == "PEEK"
    # unfilled PEEK is far too weak for the default patient: the explanation says so
    assert d["feasible"] is False and d["constraints"]["strong enough"]["satisfied"] is False
    assert len(d["design_id"]) == 64


def test_bad_requirements_exit_2_with_reasons(capsys):
    code = main(["design-space", "enclosure", "--require", "board_length=5", "colour=red"])
    err = capsys.readouterr().err
    assert code == 2
    assert "board_length: must be between 20 and 250 mm (got 5)" in err
    assert "colour: unknown requirement" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_malformed_pairs_and_unknown_catalog(capsys):
    assert main(["design-space", "enclosure", "--require", "board_length"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    assert main(["design-space", "enclosure", "--bounds", "wall=1"]) == 2
    assert "expected LOW:HIGH" in capsys.readouterr().err
    assert main(["design-space", "teapot"]) == 2
    assert "unknown catalog 'teapot'" in capsys.readouterr().err


def test_broken_catalog_file_reports_positions(capsys):
    path = REPO / "tests" / "adapters" / "catalog_yaml" / "broken" / "unknown_name.yaml"
    assert main(["design-space", str(path)]) == 2
    assert f"{path}:25:24: derived.area: unknown name 'outer_width'" in capsys.readouterr().err
