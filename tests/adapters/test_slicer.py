"""The PrusaSlicer adapter, run for real on small solids."""

from __future__ import annotations

import shutil

import pytest
import trimesh

from configurator.adapters.slicer import (
    SlicerProfile,
    bundled_materials,
    parse_duration,
    parse_gcode,
    slice_stl,
    slicer_version,
)
from configurator.errors import EstimateError

needs_slicer = pytest.mark.skipif(
    shutil.which("prusa-slicer") is None, reason="prusa-slicer missing"
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("33m 1s", 1981), ("1h 2m 3s", 3723), ("2d 0h 1m 0s", 172860), ("45s", 45)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_refuses_garbage() -> None:
    with pytest.raises(EstimateError):
        parse_duration("about an hour")


def test_parse_gcode(tmp_path) -> None:
    g = tmp_path / "x.gcode"
    g.write_text(
        "G1 X0\n; filament used [mm] = 1000.50\n; filament used [cm3] = 2.41\n"
        "; filament used [g] = 2.99\n; estimated printing time (normal mode) = 1h 0m 5s\n"
    )
    assert parse_gcode(g) == (3605.0, 1000.5, 2.99)
    g.write_text("G1 X0\n")
    with pytest.raises(EstimateError, match="no estimated printing time"):
        parse_gcode(g)


def test_bundled_profiles() -> None:
    assert set(bundled_materials()) >= {"PLA", "PETG", "ASA"}
    conf = SlicerProfile.bundled("PETG").settings()
    assert conf["layer_height"] == "0.2" and conf["perimeters"] == "2"
    assert conf["fill_density"] == "15%" and conf["nozzle_diameter"] == "0.4"
    assert conf["filament_density"] == "1.27"
    with pytest.raises(EstimateError, match="no slicer profile"):
        SlicerProfile.bundled("Unobtainium")


@needs_slicer
def test_slicing_a_box_gives_time_and_filament(tmp_path) -> None:
    stl = tmp_path / "box.stl"
    stl.write_bytes(trimesh.creation.box((20, 20, 10)).export(file_type="stl"))
    pla = slice_stl(stl, profile="PLA", workdir=tmp_path / "pla")
    big = tmp_path / "big.stl"
    big.write_bytes(trimesh.creation.box((40, 40, 10)).export(file_type="stl"))
    pla_big = slice_stl(big, profile="PLA", workdir=tmp_path / "pla")
    assert pla.gcode_path.is_file()
    assert 60 < pla.seconds < 3 * 3600
    # 4 cm³ solid box: extruded filament is at most the solid volume (plus skirt)
    assert 0.5 < pla.filament_g < 4.0 * 1.24 + 0.5
    assert pla.filament_g == pytest.approx(
        pla.filament_mm * 3.14159 * 0.875**2 / 1000 * 1.24, rel=0.02
    )
    # 4x the footprint: more than twice the filament; the small box is held back by the
    # profile's 15 s minimum layer time (50 layers), so its time is at least 750 s
    assert pla_big.filament_g > 2 * pla.filament_g
    assert pla.seconds >= 50 * 15 and pla_big.seconds > pla.seconds
    assert slicer_version().startswith("PrusaSlicer-")


@needs_slicer
def test_slicer_failure_is_one_readable_error(tmp_path) -> None:
    stl = tmp_path / "broken.stl"
    stl.write_text("solid nothing\nendsolid nothing\n")
    with pytest.raises(EstimateError, match="PrusaSlicer failed on broken.stl"):
        slice_stl(stl, profile="PLA", workdir=tmp_path)
    with pytest.raises(EstimateError, match="does not exist"):
        slice_stl(tmp_path / "nope.stl", profile="PLA", workdir=tmp_path)


@pytest.mark.external
@pytest.mark.skipif(shutil.which("prusa-slicer") is None, reason="prusa-slicer missing")
def test_sla_export_of_a_small_box(tmp_path) -> None:
    """The real SLA export: printTime is the layer count x (exposure + fast tilt) plus the
    exposure fade and a constant; usedMaterial is the box's volume in ml."""
    from configurator.adapters.slicer import parse_sl1, sla_materials, sla_profile, slice_sla
    from configurator.core.estimate.sla import SlaParams, exposure_seconds

    stl = tmp_path / "box.stl"
    stl.write_bytes(trimesh.creation.box((20, 10, 5)).export(file_type="stl"))
    assert sla_materials() == ["Resin"]
    prof = sla_profile("Resin", supports="nosupports")
    assert prof.name == "Resin-nosupports"
    res = slice_sla(stl, profile=prof, workdir=tmp_path)
    assert (res.fast_layers, res.slow_layers) == (100, 0)
    assert res.ml == pytest.approx(1.0, rel=0.02)
    p = SlaParams.from_settings(prof.settings())
    assert not p.supports and p.exposure_time == 2
    physical = exposure_seconds(100, p) + 100 * p.fast_tilt_time
    assert 0 < res.seconds - physical < 120  # PrusaSlicer adds a fixed overhead
    assert parse_sl1(res.archive_path) == res
    with pytest.raises(EstimateError, match="no SLA profile"):
        sla_profile("Unobtainium")


def test_bad_sla_archive_is_one_error(tmp_path) -> None:
    from configurator.adapters.slicer import parse_sl1

    bad = tmp_path / "x.sl1"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EstimateError, match="cannot read the SLA archive"):
        parse_sl1(bad)
