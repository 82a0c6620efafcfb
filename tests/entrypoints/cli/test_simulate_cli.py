"""``configurator farm simulate``: output, bad input, plot bytes."""

from __future__ import annotations

import json

from configurator.adapters.workload_data import load_job_sizes
from configurator.engines.simulation.simulate import SimConfig, simulate
from configurator.engines.simulation.workload import make_workload
from configurator.entrypoints.cli import main

ARGS = ["farm", "simulate", "--nodes", "5", "--jobs", "60", "--seed", "4", "--failures", "0.1"]


def test_json_report_is_complete_and_stable(capsys):
    assert main([*ARGS, "--policy", "round-robin", "--json"]) == 0
    first = capsys.readouterr().out
    data = json.loads(first)
    for key in (
        "makespan_s",
        "lower_bound_s",
        "mean_flow_s",
        "p95_flow_s",
        "deadline_misses",
        "reroutes",
        "per_node",
    ):
        assert key in data
    assert data["policy"] == "round-robin"
    assert data["done"] + data["dead_lettered"] == 60
    assert len(data["per_node"]) == 5
    assert data["makespan_s"] >= data["lower_bound_s"] or data["dead_lettered"]
    assert main([*ARGS, "--policy", "round-robin", "--json"]) == 0
    assert capsys.readouterr().out == first


def test_text_report_and_plot(tmp_path, capsys):
    png = tmp_path / "farm.png"
    assert main([*ARGS, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "makespan" in out and "lower bound" in out and "n004" in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    again = tmp_path / "again.png"
    assert main([*ARGS, "--plot", str(again)]) == 0
    assert again.read_bytes() == data


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert_bad(["farm", "simulate", "--nodes", "0"], capsys)
    assert_bad(["farm", "simulate", "--policy", "fastest"], capsys)
    assert_bad(["farm", "simulate", "--failures", "1.5"], capsys)
    assert_bad([*ARGS, "--plot", str(tmp_path / "x.jpg")], capsys)
    assert_bad([*ARGS, "--plot", str(tmp_path / "missing" / "x.png")], capsys)
    assert_bad([*ARGS, "--sizes", str(tmp_path / "nope.csv")], capsys)


def assert_bad(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_setup_calendar_and_batching_flags(capsys):
    off = [*ARGS, "--calendar", "always", "--setup-scale", "0", "--batching", "off", "--json"]
    assert main(off) == 0
    plain = json.loads(capsys.readouterr().out)
    wl = make_workload(n_nodes=5, n_jobs=60, seed=4, failure_rate=0.1, sizes=load_job_sizes())
    today = simulate(wl, policy="least-loaded", config=SimConfig()).report.as_dict()
    for key in ("makespan_s", "mean_flow_s", "p95_flow_s", "deadline_misses", "reroutes"):
        assert plain[key] == today[key]
    assert plain["setups_per_job"] == 1.0 and plain["operator_actions"] == 0
    on = [*ARGS, "--calendar", "Mon-Fri 07:00-23:00", "--batching", "on", "--json"]
    assert main(on) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("setups_per_job", "operator_actions_per_shift", "quote_keeping", "builds"):
        assert key in data
    assert data["model"]["calendar"] == "Mon-Fri 07:00-23:00" and data["model"]["batching"]
    assert data["operator_actions"] > 0 and data["shifts"] > 0


def test_bad_setup_and_calendar_exit_2(capsys):
    assert_bad([*ARGS, "--calendar", "Mon-Fry 07:00-23:00"], capsys)
    assert_bad([*ARGS, "--calendar", "Mon 07:00-25:00"], capsys)
    assert_bad([*ARGS, "--setup-scale", "-1"], capsys)
    assert_bad([*ARGS, "--setup-scale", "abc"], capsys)
    assert_bad([*ARGS, "--batching", "maybe"], capsys)
