"""Bad input to the ``serve``, ``node run`` and ``farm simulate`` commands: exit 2 with one
readable line on stderr, never a traceback, never a hang (in-process, real sockets)."""

from __future__ import annotations

import socket

import pytest

from configurator.entrypoints.cli import main


def _one_line(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_a_busy_port_is_one_line_before_any_setup(tmp_path, capsys):
    """Regression: uvicorn logged the bind error after "serving on ..." and the command
    exited 3 (the "no feasible design" code)."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_line(capsys, ["serve", "--port", str(port), "--data-dir", str(tmp_path)])
    assert line.startswith(f"configurator: error: cannot listen on 127.0.0.1:{port}: ")
    assert not (tmp_path / "configurator.db").exists()


def test_serve_with_an_unreachable_database_is_one_line(tmp_path, capsys):
    """Regression: psycopg's multi-line message (hint, background link) reached stderr."""
    url = "postgresql://nobody@127.0.0.1:1/none"
    argv = ["serve", "--port", str(_free_port()), "--data-dir", str(tmp_path), "--database", url]
    line = _one_line(capsys, argv)
    assert line.startswith(f"configurator: error: cannot open the database {url}: ")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--retry-for", "nan"], "--retry-for"),  # used to retry forever, deaf to SIGTERM
        (["--retry-for", "-1"], "--retry-for"),
        (["--speed", "nan"], "--speed"),
        (["--poll", "nan"], "--poll"),
        (["--max-jobs", "0"], "--max-jobs"),
    ],
)
def test_node_run_refuses_bad_numbers_before_connecting(capsys, extra, needle):
    argv = ["node", "run", "--simulate", "--server", "http://127.0.0.1:1", "--node-key", "k"]
    line = _one_line(capsys, [*argv, *extra])
    assert needle in line and "heartbeat" not in line


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--seed", "-1"], "--seed: must be at least 0"),  # was exit 4 (ValueError)
        (["--jobs", "100000000000"], "--jobs: must be at most"),  # was exit 4 (MemoryError)
        (["--nodes", "10000000000"], "--nodes: must be at most"),
    ],
)
def test_farm_simulate_bounds_its_numbers(capsys, extra, needle):
    with pytest.raises(SystemExit) as info:
        main(["farm", "simulate", *extra])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_cli_integer_options_have_bounds(capsys):
    from configurator.entrypoints.cli import main

    for argv in (
        ["design", "enclosure", "--evals", "99999999999999999999", "--out", "x"],
        ["catalog", "check", "--mesh-samples", "-1"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--evals: must be between 1 and 10,000,000" in err
    assert "--mesh-samples: must be between 0 and 100" in err
    assert "Traceback" not in err
