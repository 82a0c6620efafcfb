"""What a worker process executes for a run: the catalog file is parsed once per process
and reused while its bytes stay the same; a changed file is parsed again."""

from __future__ import annotations

import shutil

from configurator.services.design.request import DesignRequest, RunContext
from configurator.services.design.run_task import execute_run, run_catalog
from configurator.settings import REPO_ROOT


def test_the_catalog_file_is_parsed_once_while_it_is_unchanged(tmp_path):
    path = tmp_path / "enclosure.yaml"
    shutil.copy(REPO_ROOT / "catalogs" / "enclosure.yaml", path)
    context = RunContext(catalog_path=str(path))
    first = run_catalog(context)
    assert first is not None and first.id == "enclosure"
    assert run_catalog(context) is first
    path.write_bytes(path.read_bytes() + b"\n# edited\n")
    edited = run_catalog(context)
    assert edited is not first and edited.content_hash != first.content_hash
    assert run_catalog(context) is edited
    assert run_catalog(RunContext()) is None
    assert run_catalog(RunContext(catalog_path=str(tmp_path / "gone.yaml"))) is None


def test_a_run_executes_on_the_cached_catalog(tmp_path):
    path = tmp_path / "enclosure.yaml"
    shutil.copy(REPO_ROOT / "catalogs" / "enclosure.yaml", path)
    request = DesignRequest(catalog_id="enclosure", objectives=["mass"], evals=100, seed=1, top=2)
    context = RunContext(catalog_path=str(path))
    events: list[tuple[str, dict]] = []
    runs = [
        execute_run(
            request.model_dump(mode="json"),
            context.model_dump(mode="json"),
            emit=lambda kind, data: events.append((kind, data)),
            should_stop=lambda: False,
        )
        for _ in range(2)
    ]
    assert [r.status for r in runs] == ["ok", "ok"]
    assert [d.design_id for d in runs[0].records] == [d.design_id for d in runs[1].records]
    assert runs[0].records[0].catalog_hash == run_catalog(context).content_hash
    assert events[0] == ("status", {"status": "started", "pid": events[0][1]["pid"]})
