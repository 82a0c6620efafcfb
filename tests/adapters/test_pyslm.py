"""PySLM ground truth: real hatching on tiny parts; layer sampling and the jump-delay rule."""

from __future__ import annotations

import pytest
import trimesh

from configurator.adapters.pyslm import load_profile, scan_time
from configurator.core.estimate.families import on_bed
from configurator.core.estimate.slm import SlmParams, slm_features
from configurator.errors import EstimateError

pytest.importorskip("pyslm")


@pytest.fixture(scope="module")
def box():
    return on_bed(trimesh.creation.box((12, 6, 1.5)))


def test_scan_time_of_a_small_box(box) -> None:
    full = scan_time(box)
    assert full.layers == 50 and full.sampled_layers == 50
    assert full.recoat_s == pytest.approx(50 * 10.0)
    assert full.seconds == pytest.approx(full.scan_s + full.recoat_s)
    sampled = scan_time(box, stride=5)
    assert sampled.sampled_layers == 10
    assert sampled.scan_s == pytest.approx(full.scan_s, rel=1e-3)  # within 0.1 % on solids
    # the physical terms: hatch + contour seconds are most of PySLM's scan time
    f = slm_features(box.vertices, box.faces, SlmParams.from_settings(load_profile()))
    assert 0.8 < (f["hatch_s"] + f["contour_s"] + f["jump_s"]) / full.scan_s < 1.2


def test_jump_delay_must_stay_zero(box) -> None:
    prof = {**load_profile(), "jump_delay_us": 5.0}
    with pytest.raises(EstimateError, match="jump_delay_us"):
        scan_time(box, profile=prof)
