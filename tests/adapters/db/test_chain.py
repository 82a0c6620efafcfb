"""The farm event log's hash chain on SQLite and PostgreSQL: an edited, a deleted and a
cut-off event are named by ``trace verify``; two processes appending at once keep one
valid chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from configurator.entrypoints.cli import main
from tests.support.farm import add_node, submit

ROOT = Path(__file__).resolve().parents[3]
APPENDER = """
import sys
from configurator.adapters.db.store import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[2])):
    with store.transaction() as s:
        for k in range(2):
            store.log_event(s, at=float(i), job_id=None, node_id=None, actor="system",
                            kind="bench", reason=f"{sys.argv[3]} {i}.{k}", data={"i": i})
store.dispose()
"""


def _farm_with_events(make_farm):
    farm = make_farm()
    node, _ = add_node(farm, "a")
    for _ in range(3):
        submit(farm)
    job = farm.claim(node.id)
    farm.complete(node.id, job.id, actual_seconds=60.0, grams_used=9.0, record={"slicer": "x"})
    return farm


def test_verify_names_an_edited_a_deleted_and_a_cut_off_event(make_farm, db_url, capsys):
    farm = _farm_with_events(make_farm)
    store = farm.store
    report = store.verify_chain()
    assert report.ok and report.events >= 8, report
    assert main(["trace", "verify", "--database", db_url]) == 0
    assert f"intact ({report.events} events)" in capsys.readouterr().out
    with store.engine.begin() as c:
        c.execute(text("UPDATE farm_events SET reason = 'nothing happened' WHERE id = 4"))
    bad = store.verify_chain()
    assert not bad.ok and bad.bad_event == 4 and bad.problem == "edited"
    assert main(["trace", "verify", "--database", db_url]) == 1
    assert "event 4" in capsys.readouterr().err
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM farm_events WHERE id = 4"))
    gone = store.verify_chain()
    assert not gone.ok and gone.bad_event == 5 and gone.problem == "deleted", gone
    assert "event 4 deleted" in gone.message
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM farm_events WHERE id >= 4"))
    cut = store.verify_chain()
    assert not cut.ok and cut.problem == "head", cut


def test_two_processes_appending_keep_one_chain(make_farm, db_url):
    farm = _farm_with_events(make_farm)
    before = farm.store.verify_chain().events
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, db_url, "60", name], env=env)
        for name in ("p1", "p2")
    ]
    farm.heartbeat(farm.list_nodes()[0].id, printer={"fw": "1"})  # a third writer meanwhile
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    report = farm.store.verify_chain()
    assert report.ok, report
    assert report.events == before + 2 * 60 * 2 + 1
