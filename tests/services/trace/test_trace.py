"""Production records and exact reprints on a real store (SQLite) with the demo farm: a
design made from the shipped enclosure catalog, ordered, printed by a demo node that
reports a connector record; then the YAML edited, the design files deleted, the server
restarted — the reprint is byte-identical; a changed generator is refused with the reason."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.geometry import registry
from configurator.errors import ConflictError, NotFoundError
from configurator.services import geometry
from configurator.services.container import Container
from configurator.services.design.service import build_space
from configurator.services.farm.demo import ensure_demo_nodes
from configurator.services.orders import OrderCreate
from configurator.services.trace.record import NOT_RECORDED
from configurator.services.trace.reprint import ReprintRequest
from configurator.settings import Settings

CATALOGS = Path(__file__).resolve().parents[3] / "catalogs"
CONNECTOR_RECORD = {
    "slicer": "PrusaSlicer 2.7.1",
    "slicer_profile": "PLA.ini",
    "profile_sha256": "ab" * 32,
    "gcode_sha256": "cd" * 32,
    "filament_g": 12.5,
}


def _container(tmp_path: Path) -> Container:
    settings = Settings(
        data_dir=tmp_path / "data", catalog_dir=tmp_path / "catalogs", admin_key="admin"
    )
    return Container.build(settings)


@pytest.fixture
def world(tmp_path):
    """(container, design record, order) — an enclosure order on a 3-node demo farm."""
    shutil.copytree(CATALOGS, tmp_path / "catalogs", ignore=shutil.ignore_patterns("[bc]*"))
    c = _container(tmp_path)
    ensure_demo_nodes(c.farm, 3)
    catalog = c.catalogs.get("enclosure")
    space = build_space(catalog, material="PLA", settings=c.settings)
    record = space.record(space.default_x())
    c.book.put(record)
    order = c.orders.place(OrderCreate(design_id=record.design_id, material="PLA", quantity=1))
    yield c, record, order
    c.close()
    geometry.clear_memory_cache()


def _print(c: Container, job_id: int, *, record=None, lot=None, printer=None) -> None:
    job = c.farm.get_job(job_id)
    node = c.farm.get_node(job.node_id)
    if lot:
        c.farm.update_node(node.id, material_lots={job.material: lot})
    c.farm.heartbeat(node.id, state="idle", printer=printer)
    claimed = c.farm.claim(node.id)
    assert claimed is not None and claimed.id == job_id
    c.farm.complete(node.id, job_id, actual_seconds=1234.0, grams_used=11.5, record=record)


def _nulls(value, path="") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{path}[{i}]")]
    return [path] if value is None or value == "" else []


def test_record_of_a_demo_farm_order_is_complete(world):
    c, record, order = world
    job_id = order.jobs[0].job_id
    _print(c, job_id, record=CONNECTOR_RECORD, lot="LOT-2026-0042", printer={"firmware": "4.7"})
    rec = c.trace.job_record(job_id)
    assert _nulls(rec) == []  # every field present or "not recorded"
    assert rec["order"]["token"] == order.token and rec["order"]["quantity"] == 1
    assert rec["order"]["priority"] == "normal" and "not a reprint" in rec["order"]["reprint_of"]
    d = rec["design"]
    assert d["design_id"] == record.design_id and d["catalog_hash"] == record.catalog_hash
    assert d["catalog_version"] == "1.0.0" and d["catalog_source"].startswith("stored")
    assert d["generator_identity"]["module"].endswith("families.enclosure")
    assert len(d["generator_identity"]["module_sha256"]) == 64
    for key in ("requirements", "parameters", "material", "objectives", "margins", "estimator"):
        assert d[key] not in (NOT_RECORDED, {}), key
    assert set(rec["files"]["parts_sha256"]) == set(
        geometry.build_meshes(record, settings=c.settings)
    )
    assert rec["files"]["job_file"]["sha256"] == c.farm.get_job(job_id).file_sha256
    assert rec["slicing"]["slicer"] == "PrusaSlicer 2.7.1"
    assert rec["slicing"]["gcode_sha256"] == "cd" * 32
    assert rec["slicing"]["other"] == {"filament_g": 12.5}
    assert rec["node"]["printer"] == {"firmware": "4.7"} and rec["node"]["technology"] == "FDM"
    assert rec["material"]["lot"] == "LOT-2026-0042"
    kinds = [e["kind"] for e in rec["history"]]
    assert kinds[0] == "submitted" and "claimed" in kinds and kinds[-1] == "completed"
    assert {e["actor"] for e in rec["history"]} >= {"system", "node"}
    assert all(len(e["hash"]) == 64 for e in rec["history"])
    assert rec["outcome"]["actual_seconds"] == 1234.0 and rec["outcome"]["grams_used"] == 11.5
    # the customer's view: no node ids, no event data or hashes
    cust = c.trace.order_record(order.token)
    piece = cust["pieces"][0]
    assert _nulls(cust) == [] and "id" not in piece["node"]
    assert all(set(e) == {"at", "kind", "actor", "by", "reason"} for e in piece["history"])
    # a second piece that is not printed yet: absent facts read "not recorded"
    other = c.orders.place(OrderCreate(design_id=record.design_id, material="PLA"))
    fresh = c.trace.job_record(other.jobs[0].job_id)
    assert fresh["slicing"]["slicer"] == NOT_RECORDED and fresh["material"]["lot"] == NOT_RECORDED
    assert fresh["outcome"]["actual_seconds"] == NOT_RECORDED
    assert c.store.verify_chain().ok
    with pytest.raises(NotFoundError):
        c.trace.record("999999")
    with pytest.raises(NotFoundError):
        c.trace.record("no-such-token")


def test_reprint_after_the_catalog_was_edited_is_byte_identical(world, tmp_path):
    c, record, order = world
    original = c.farm.get_job(order.jobs[0].job_id)
    first_bytes = Path(original.file_path).read_bytes()
    c.close()
    # the designer edits the YAML: another default, a new version
    path = tmp_path / "catalogs" / "enclosure.yaml"
    text = path.read_text().replace('version: "1.0.0"', 'version: "1.1.0"')
    path.write_text(
        text.replace("default: 2.0, unit: mm, label: Wall", "default: 2.4, unit: mm, label: Wall")
    )
    assert load_catalog(path).content_hash != record.catalog_hash
    # the design's files are deleted from the data dir; the server restarts
    shutil.rmtree(tmp_path / "data" / "designs")
    (tmp_path / "data" / "records" / f"{record.design_id}.json").unlink()
    Path(original.file_path).unlink()
    geometry.clear_memory_cache()
    c2 = _container(tmp_path)
    try:
        again = c2.reprints.reprint(order.token, ReprintRequest(quantity=2, priority="rush"))
        assert again.design_id == record.design_id and again.quantity == 2
        assert again.reprint_of == order.token and again.priority == "rush"
        job = c2.farm.get_job(again.jobs[0].job_id)
        assert job.file_sha256 == original.file_sha256
        assert Path(job.file_path).read_bytes() == first_bytes  # byte-identical
        rec = c2.trace.order_record(again.token)
        assert rec["order"]["reprint_of"] == order.token
        # the design's own files are served again from the stored catalog version
        assert c2.book.file_bytes(c2.book.record(record.design_id), "3mf") == first_bytes
        with pytest.raises(NotFoundError):
            c2.reprints.reprint("unknown-token", ReprintRequest())
    finally:
        c2.close()


def test_reprint_after_a_generator_change_is_refused_with_the_reason(world, monkeypatch):
    c, record, order = world
    entry = registry.entry("enclosure")

    def changed(values):  # the "new code": every part 0.05 mm longer in x
        parts = entry.fn(values)
        for mesh in parts.values():
            mesh.apply_scale([1.0 + 0.05 / mesh.extents[0], 1.0, 1.0])
        return parts

    monkeypatch.setitem(
        registry._REGISTRY, "enclosure", entry.__class__("enclosure", changed, entry.parameters)
    )
    new_identity = {**c.provenance.identity("enclosure"), "code_id": "0.1.0+feedfacecafe0000",
                    "module_sha256": "feedfacecafe" + "0" * 52}  # fmt: skip
    monkeypatch.setattr(c.provenance, "identity", lambda name: new_identity)
    geometry.clear_memory_cache()
    with pytest.raises(ConflictError) as refused:
        c.reprints.reprint(order.token, ReprintRequest())
    msg = str(refused.value)
    assert "generator code changed" in msg and "feedfacecafe" in msg and "revalidate" in msg
    assert len(c.farm.jobs_for_order(order.token)) == 1  # nothing was ordered
    redo = c.reprints.reprint(order.token, ReprintRequest(revalidate=True))
    assert redo.design_id != record.design_id and redo.reprint_of == order.token
    rec = c.trace.order_record(redo.token)["pieces"][0]["design"]
    assert rec["revalidated_from"] == record.design_id
    assert rec["generator_code"] == "0.1.0+feedfacecafe0000"
    new_job = c.farm.get_job(redo.jobs[0].job_id)
    assert new_job.file_sha256 != c.farm.get_job(order.jobs[0].job_id).file_sha256
    assert hashlib.sha256(Path(new_job.file_path).read_bytes()).hexdigest() == new_job.file_sha256
