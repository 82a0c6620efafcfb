"""FDM / SLA / SLM features on parts computed by hand, and the closed forms against the mesh."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from configurator.core.estimate.families import FAMILIES, family_parts, fit_within, on_bed
from configurator.core.estimate.fdm import FDM_FEATURES, FdmParams, fdm_analytic, fdm_features
from configurator.core.estimate.features import overhang_support
from configurator.core.estimate.sla import SlaParams, exposure_seconds, sla_features
from configurator.core.estimate.slm import SLM_FEATURES, SlmParams, slm_analytic, slm_features
from configurator.core.estimate.technologies import feature_names, n_terms
from configurator.errors import EstimateError

BOX = on_bed(trimesh.creation.box((30, 20, 10)))


def test_fdm_box_by_hand() -> None:
    f = fdm_features(BOX.vertices, BOX.faces, FdmParams())
    # 50 layers of 600 mm², 100 mm perimeter; walls 2 x 0.45 mm: band 90, interior 510
    assert f["layers"] == 50 and f["outer_wall_mm"] == pytest.approx(5000)
    assert f["inner_wall_mm"] == pytest.approx(5000)
    # 4 bottom + 5 top layers solid, the rest sparse
    assert f["solid_mm2"] == pytest.approx(9 * 510) and f["sparse_mm2"] == pytest.approx(41 * 510)
    assert f["first_layer_mm2"] == pytest.approx(600) and f["overhang_mm2"] == 0
    assert f["loops"] == 50 and f["volume"] == pytest.approx(6000)
    # a middle layer: 100/25 + 100/45 + 510 x 0.15 / 0.45 / 80 + 0.5 s < 15 s: slowed down
    assert f["slowdown_s"] > 0 and f["wall_share"] == pytest.approx(90 / 600)


def test_fdm_thin_wall_is_all_perimeter() -> None:
    tube = on_bed(trimesh.creation.annulus(r_min=19.4, r_max=20, height=10, sections=96))
    f = fdm_features(tube.vertices, tube.faces, FdmParams())
    assert f["sparse_mm2"] == 0 and f["solid_mm2"] == 0 and f["wall_share"] == pytest.approx(1)


def test_fdm_closed_form_matches_the_mesh_on_a_prism() -> None:
    p = FdmParams()
    mesh = fdm_features(BOX.vertices, BOX.faces, p)
    X = fdm_analytic(
        p,
        volume=6000.0,
        area=BOX.area,
        bbox_x=30.0,
        bbox_y=20.0,
        height=10.0,
        side_area=1000.0,
        bottom_area=600.0,
    )
    row = dict(zip(FDM_FEATURES, X[0], strict=True))
    for name in (
        "outer_wall_mm",
        "inner_wall_mm",
        "solid_mm2",
        "sparse_mm2",
        "first_layer_mm2",
        "overhang_mm2",
        "corners",
        "skirt_mm",
        "loops",
        "layers",
        "volume",
        "height",
    ):
        assert row[name] == pytest.approx(mesh[name], rel=1e-9), name


def test_sla_exposure_fade_and_layers() -> None:
    p = SlaParams()
    step = (25 - 2) / 11
    assert exposure_seconds(10, p) == pytest.approx(sum(25 - i * step for i in range(10)))
    assert exposure_seconds(200, p) == pytest.approx(exposure_seconds(10, p) + 190 * 2)
    on = sla_features(BOX.vertices, BOX.faces, p)
    off = sla_features(BOX.vertices, BOX.faces, SlaParams(supports=False, pad=False, elevation=0))
    assert off["layers"] == 200 and on["layers"] == 300  # 5 mm elevation = 100 layers
    assert off["slow_layers"] == 0 and off["pad_mm2"] == 0 and on["pad_mm2"] == 36 * 26
    big = on_bed(trimesh.creation.box((100, 60, 1)))  # 6000 mm² > 45 % of 128 x 81
    assert sla_features(big.vertices, big.faces, p)["slow_layers"] == 20


def test_slm_box_by_hand() -> None:
    p = SlmParams(hatch_inset=0.3)
    box = on_bed(trimesh.creation.box((30, 12, 3)))
    f = slm_features(box.vertices, box.faces, p)
    assert f["layers"] == 100 and f["recoat_s"] == 1000
    assert f["hatch_s"] == pytest.approx(100 * (360 - 0.3 * 84) / 0.12 / 1000)
    assert f["contour_s"] == pytest.approx(100 * 84 * 2 / 500)
    X = slm_analytic(
        p, volume=1080.0, area=box.area, bbox_x=30.0, bbox_y=12.0, height=3.0, side_area=252.0
    )
    row = dict(zip(SLM_FEATURES, X[0], strict=True))
    for name in ("hatch_s", "contour_s", "recoat_s", "volume", "layers"):
        assert row[name] == pytest.approx(f[name], rel=1e-9), name


def test_support_rule_under_an_overhang() -> None:
    table = on_bed(family_parts("overhang", 1, seed=3)[0])
    over, col = overhang_support(table.vertices, table.faces)
    assert over > 0 and col > 0
    assert overhang_support(BOX.vertices, BOX.faces) == (0.0, 0.0)  # its bottom is on the bed


def test_families_are_seeded_and_fit_a_build_volume() -> None:
    for family in FAMILIES:
        a, b = family_parts(family, 2, seed=5), family_parts(family, 2, seed=5)
        assert all(np.array_equal(x.vertices, y.vertices) for x, y in zip(a, b, strict=True))
        assert all(m.is_watertight and m.volume > 0 for m in a), family
    big = fit_within(trimesh.creation.box((300, 50, 20)), (120, 75, 140))
    assert (big.extents <= [120, 75, 140]).all() and big.bounds[0][2] == pytest.approx(0)
    with pytest.raises(EstimateError, match="unknown shape family"):
        family_parts("blob", 1, seed=0)


def test_terms_lead_the_feature_columns() -> None:
    for tech in ("FDM", "SLA", "SLM"):
        names = feature_names(tech)
        assert 0 < n_terms(tech) < len(names) and {"volume", "layers"} <= set(names)
    with pytest.raises(EstimateError, match="unknown technology"):
        feature_names("SLS")
