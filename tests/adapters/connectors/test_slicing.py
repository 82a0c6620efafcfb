"""Node-side slicing with the real PrusaSlicer: the bed from the printer, the node's
profile, refusals before slicing, PrusaSlicer's own words on failure."""

from __future__ import annotations

import hashlib

import pytest

from configurator.adapters.connectors import PrintJob
from configurator.adapters.connectors.slicing import (
    Bed,
    JobRefusedError,
    NodeSlicer,
    SlicingError,
)
from configurator.core.farm.demo import box_stl
from configurator.errors import SettingsError

pytestmark = pytest.mark.external


def job(material="PLA", size=(20, 20, 5), data=None, technology="FDM", name="p.stl") -> PrintJob:
    return PrintJob(7, 1, material, technology, 60.0, 2.0, name, data or box_stl(*size))


def test_bed_shapes_from_octoprint_profiles():
    vol = {
        "width": 250,
        "depth": 210,
        "height": 220,
        "origin": "lowerleft",
        "formFactor": "rectangular",
    }
    assert Bed.from_octoprint({"volume": vol}).ini() == (
        "bed_shape = 0x0,250x0,250x210,0x210\nmax_print_height = 220\n"
    )
    centred = Bed.from_octoprint({"volume": {**vol, "origin": "center"}}).ini()
    assert centred.startswith("bed_shape = -125x-105,125x-105,125x105,-125x105\n")
    round_ = Bed.from_octoprint({"volume": {**vol, "formFactor": "circular", "origin": "center"}})
    assert round_.circular and round_.ini().splitlines()[0].count(",") == 63
    with pytest.raises(Exception, match="volume"):
        Bed.from_octoprint({"volume": {"width": 0, "depth": 1, "height": 1}})


def test_slices_for_the_printers_bed_and_records_the_facts(tmp_path):
    s = NodeSlicer(tmp_path)
    sliced = s.slice(job(), "j7", Bed(120, 120, 100))
    text = sliced.gcode.read_text()
    xs = [
        float(w[1:]) for ln in text.splitlines() if ln.startswith("G1 X") for w in ln.split()[1:2]
    ]
    assert 45 < min(xs) and max(xs) < 75  # centred on the 120 mm bed
    assert sliced.sha256 == hashlib.sha256(sliced.gcode.read_bytes()).hexdigest()
    assert sliced.grams > 0 and sliced.record["filament_g"] == sliced.grams
    assert (
        sliced.record["slicer"].startswith("PrusaSlicer-")
        and len(sliced.record["profile_sha256"]) == 64
    )
    assert s.load("j7") == sliced  # what a restarted agent reads back
    again = NodeSlicer(tmp_path / "other").adopt("j7", sliced.gcode.read_bytes())
    assert again.grams == sliced.grams and again.sha256 == sliced.sha256


def test_a_3mf_job_slices_too(tmp_path):
    import trimesh

    from configurator.core.export import export_part_bytes

    mesh = trimesh.creation.box((20, 20, 5))
    data = export_part_bytes(mesh, "3mf", design_id="d", material="PLA")
    sliced = NodeSlicer(tmp_path).slice(job(data=data, name="p.3mf"), "j3mf", Bed(200, 200, 200))
    assert sliced.grams > 0


def test_a_job_the_profile_cannot_print_is_refused_before_slicing(tmp_path):
    own = tmp_path / "mk3_petg.ini"
    own.write_text("filament_type = PETG\ntemperature = 240\n")
    s = NodeSlicer(tmp_path / "work", [own])
    with pytest.raises(JobRefusedError, match="profile is for PETG; job 7 is PLA"):
        s.slice(job("PLA"), "x", Bed(200, 200, 200))
    with pytest.raises(JobRefusedError, match="FDM jobs only"):
        NodeSlicer(tmp_path / "w2").slice(job(technology="SLA"), "x", None)
    with pytest.raises(JobRefusedError, match="no slicer profile for material 'TPU'"):
        NodeSlicer(tmp_path / "w3").slice(job("TPU"), "x", None)
    assert not (tmp_path / "work").exists()  # nothing was sliced


def test_an_operator_profile_needs_a_filament_type(tmp_path):
    bare = tmp_path / "bare.ini"
    bare.write_text("layer_height = 0.2\n")
    with pytest.raises(SettingsError, match="sets no filament_type"):
        NodeSlicer(tmp_path, [bare])
    with pytest.raises(SettingsError, match="does not exist"):
        NodeSlicer(tmp_path, [tmp_path / "missing.ini"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (box_stl(300, 20, 5), "Objects could not fit on the bed"),
        (
            b"solid x\nfacet nonsense\nendsolid\n",
            r"bad\.stl: stl_open_count_facets: The input is an empty",
        ),
    ],
)
def test_slicing_failures_carry_prusaslicers_message(tmp_path, data, message):
    with pytest.raises(SlicingError, match=message):
        NodeSlicer(tmp_path).slice(job(data=data), "bad", Bed(200, 200, 200))
