"""``configurator trace`` and ``configurator reprint`` on a real store (the demo-farm order
of tests/services/trace): JSON record, readable record, an exact reprint, bad input."""

from __future__ import annotations

import json

import pytest

from configurator.entrypoints.cli import main
from tests.services.trace.test_trace import world  # noqa: F401  (the fixture)


def test_trace_and_reprint_commands(world, tmp_path, monkeypatch, capsys):  # noqa: F811
    c, record, order = world
    monkeypatch.setenv("CONFIGURATOR_CATALOG_DIR", str(tmp_path / "catalogs"))
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["trace", order.token, "--json", *data]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["order"]["token"] == order.token
    assert rec["pieces"][0]["design"]["design_id"] == record.design_id
    assert main(["trace", str(order.jobs[0].job_id), *data]) == 0
    text = capsys.readouterr().out
    assert "history:" in text and "submitted" in text and "catalog_hash" in text
    assert main(["reprint", order.token, "--quantity", "2", "--priority", "rush", *data]) == 0
    out = capsys.readouterr().out
    assert f"reprint of {order.token}" in out and "2 piece(s)" in out
    assert main(["trace", "no-such-order", *data]) == 2
    assert "no such order" in capsys.readouterr().err
    assert main(["reprint", "no-such-order", *data]) == 2
    with pytest.raises(SystemExit) as bad:
        main(["reprint", order.token, "--quantity", "0", *data])
    assert bad.value.code == 2
    assert main(["trace", "verify", *data]) == 0
