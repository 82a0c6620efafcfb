"""`configurator bench`: the table and --json output (values are not asserted: they are times)."""

import json

from configurator.entrypoints.cli import main


def test_bench_json_is_machine_readable(capsys):
    assert main(["bench", "--only", "catalog", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["meta"]["date"] and "cores" in out["meta"]["machine"]
    assert out["rows"] and {r["area"] for r in out["rows"]} == {"catalog"}
    for row in out["rows"]:
        assert set(row) >= {"metric", "ours", "peer_name", "peer", "ratio", "target", "ok"}
        assert row["ok"] in (True, False, None)


def test_bench_table_and_unknown_name(capsys):
    assert main(["bench", "--only", "catalog", "--quick"]) == 0
    assert "configurator bench" in capsys.readouterr().out
    assert main(["bench", "--only", "no-such-bench"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark" in err and "Traceback" not in err
