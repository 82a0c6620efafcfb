"""DesignSpace: requirement validation, variables, repair, vectorized evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.space import DesignSpace
from configurator.errors import OptimizationError, RequirementsError

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def enclosure():
    return load_catalog(REPO / "catalogs" / "enclosure.yaml")


@pytest.fixture(scope="module")
def plate():
    return load_catalog(REPO / "catalogs" / "bone-plate.yaml")


def fields(excinfo) -> dict[str, str]:
    return excinfo.value.fields


# --------------------------------------------------------------- requirements validation


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        (
            {"requirements": {"board_length": 10}},
            "board_length",
            "must be between 20 and 250 mm (got 10)",
        ),
        (
            {"requirements": {"board_length": "1e9"}},
            "board_length",
            "must be between 20 and 250 mm",
        ),
        (
            {"requirements": {"board_length": "wide"}},
            "board_length",
            "must be a number (got 'wide')",
        ),
        ({"requirements": {"board_length": True}}, "board_length", "must be a number"),
        ({"requirements": {"board_length": [1]}}, "board_length", "must be a number (got list)"),
        (
            {"requirements": {"board_length": float("nan")}},
            "board_length",
            "must be a finite number",
        ),
        ({"requirements": {"colour": "red"}}, "colour", "unknown requirement"),
        ({"locks": {"screw": "M9"}}, "locks.screw", "must be one of M2, M2.5, M3"),
        ({"locks": {"vent_count": 2.5}}, "locks.vent_count", "must be a whole number"),
        ({"locks": {"wall": 99}}, "locks.wall", "must be between 0.6 and 5 mm"),
        (
            {"locks": {"board_length": 50}},
            "locks.board_length",
            "unknown parameter (it is a requirement)",
        ),
        ({"bounds": {"wall": (3, 2)}}, "bounds.wall", "low (3) is greater than high (2)"),
        ({"bounds": {"wall": (0.1, 2)}}, "bounds.wall", "low must be between"),
        ({"bounds": {"screw": (0, 1)}}, "bounds.screw", "only real and int parameters take bounds"),
        ({"bounds": {"wall": 3}}, "bounds.wall", "must be a pair"),
        ({"bounds": {"wall": (2.01, 2.09)}}, "bounds.wall", "contains no value on the 0.1 grid"),
        ({"objectives": ["mass", "beauty"]}, "objectives", "unknown objective(s) beauty"),
        ({"objectives": []}, "objectives", "choose at least one objective"),
        ({"objectives": ["mass", "mass"]}, "objectives", "an objective is listed twice"),
        ({"objectives": ["mass"], "weights": [1, 2]}, "weights", "expected 1 weight(s)"),
        ({"objectives": ["mass"], "weights": [-1]}, "weights", "must be finite and >= 0"),
        ({"material": "Unobtainium"}, "material", "unknown material 'Unobtainium'"),
        (
            {"material": "PLA", "locks": {"material": "ASA"}},
            "material",
            "conflicts with locks.material",
        ),
    ],
)
def test_each_bad_input_has_a_readable_reason(enclosure, kwargs, field, reason):
    with pytest.raises(RequirementsError) as info:
        DesignSpace(enclosure, **kwargs)
    assert field in fields(info), fields(info)
    assert fields(info)[field].startswith(reason), fields(info)[field]


def test_missing_requirement_without_default(enclosure):
    cat = enclosure.model_copy(deep=True)
    cat.requirements["board_length"] = cat.requirements["board_length"].model_copy(
        update={"default": None}
    )
    cat._program = enclosure.program
    with pytest.raises(RequirementsError) as info:
        DesignSpace(cat)
    assert fields(info) == {"board_length": "required"}


def test_all_bad_fields_reported_at_once(enclosure):
    with pytest.raises(RequirementsError) as info:
        DesignSpace(
            enclosure,
            requirements={"board_length": "x", "board_width": 1, "nope": 1},
            locks={"screw": "M9"},
            objectives=["zzz"],
        )
    assert set(fields(info)) == {"board_length", "board_width", "nope", "locks.screw", "objectives"}


def test_text_values_are_accepted(enclosure):
    space = DesignSpace(enclosure, requirements={"board_length": " 120 "}, locks={"screw": "M2"})
    assert space.requirements["board_length"] == 120.0
    assert space.locks["screw"] == "M2"


# --------------------------------------------------------------------------- variables


def test_variables_locks_and_bounds(enclosure):
    space = DesignSpace(
        enclosure, locks={"screw": "M2.5"}, bounds={"wall": (1.05, 3.0)}, material="PETG"
    )
    names = [v.name for v in space.variables]
    assert "screw" not in names and "material" not in names
    wall = space.variables[names.index("wall")]
    assert (wall.lower, wall.upper) == (1.1, 3.0)  # snapped inwards onto the 0.1 grid
    assert space.xl.shape == space.xu.shape == (space.n_var,)
    assert space.material == "PETG"


def test_choices_and_material_encoded_as_indices(enclosure):
    space = DesignSpace(enclosure)
    v = {v.name: v for v in space.variables}
    assert (v["screw"].lower, v["screw"].upper, v["screw"].options) == (0, 2, ("M2", "M2.5", "M3"))
    assert v["material"].options == ("PLA", "PETG", "ASA")
    assert space.variables[-1].name == "material"


def test_objective_selection_and_senses(enclosure):
    space = DesignSpace(enclosure, objectives=["stiffness", "mass"])
    assert space.objective_names == ["stiffness", "mass"]
    assert list(space.senses) == [-1, 1]
    ev = space.evaluate(space.default_x())
    np.testing.assert_allclose(ev.F[0], [-ev.objectives["stiffness"][0], ev.objectives["mass"][0]])


def test_repair_rounds_snaps_and_clips(enclosure):
    space = DesignSpace(enclosure)
    idx = {v.name: i for i, v in enumerate(space.variables)}
    x = space.default_x()
    x[idx["wall"]] = 1.234
    x[idx["vent_count"]] = 3.6
    x[idx["screw"]] = 7.0
    x[idx["corner_radius"]] = -5
    r = space.repair(x)
    assert r[idx["wall"]] == 1.2
    assert r[idx["vent_count"]] == 4
    assert r[idx["screw"]] == 2
    assert r[idx["corner_radius"]] == 0.5
    np.testing.assert_array_equal(space.repair(r), r)


def test_encode_decode_round_trip(enclosure):
    space = DesignSpace(enclosure, locks={"floor": 2.5})
    x = space.encode({"screw": "M2", "vent_count": 7, "material": "ASA", "wall": 1.5})
    d = space.decode(x)
    assert (d["screw"], d["vent_count"], d["material"], d["wall"], d["floor"]) == (
        "M2",
        7,
        "ASA",
        1.5,
        2.5,
    )
    with pytest.raises(RequirementsError) as info:
        space.encode({"floor": 3, "bogus": 1, "screw": "M7"})
    assert set(fields(info)) == {"floor", "bogus", "screw"}


# -------------------------------------------------------------------------- evaluation


def test_population_matches_row_by_row(enclosure):
    space = DesignSpace(enclosure)
    rng = np.random.default_rng(7)
    X = space.repair(rng.uniform(space.xl, space.xu, size=(64, space.n_var)))
    ev = space.evaluate(X)
    assert ev.F.shape == (64, space.n_obj) and ev.G.shape == (64, space.n_con)
    assert ev.feasible.shape == (64,)
    for i in (0, 17, 63):
        one = space.evaluate(X[i])
        np.testing.assert_allclose(one.F[0], ev.F[i])
        np.testing.assert_allclose(one.G[0], ev.G[i])
    np.testing.assert_array_equal(ev.feasible, np.all(ev.G <= 0, axis=1))
    for name, g in zip(space.constraint_names, ev.G.T, strict=True):
        np.testing.assert_allclose(-g, ev.margins[name])


def test_locked_material_changes_results(enclosure):
    pla = DesignSpace(enclosure, material="PLA")
    asa = DesignSpace(enclosure, material="ASA")
    m_pla = pla.evaluate(pla.default_x()).objectives["mass"][0]
    m_asa = asa.evaluate(asa.default_x()).objectives["mass"][0]
    assert m_asa == pytest.approx(m_pla * 1.07 / 1.24)


def test_requirements_feed_the_evaluation(plate):
    light = DesignSpace(plate, requirements={"body_weight": 50}, material="Ti-6Al-4V")
    heavy = DesignSpace(plate, requirements={"body_weight": 100}, material="Ti-6Al-4V")
    sf_light = light.evaluate(light.default_x()).objectives["safety_factor"][0]
    sf_heavy = heavy.evaluate(heavy.default_x()).objectives["safety_factor"][0]
    assert sf_light == pytest.approx(2 * sf_heavy)


def test_values_have_everything_a_generator_reads(enclosure):
    space = DesignSpace(enclosure)
    values = space.values(space.default_x())
    for key in (
        "wall",
        "floor",
        "screw",
        "screw.hole",
        "screw.clearance",
        "material",
        "standoff",
        "inner_radius",
        "lid_thickness",
        "vent_height",
        "vent_z",
        "boss_x",
        "boss_y",
        "volume",
        "board_length",
        "material.density",
    ):
        assert key in values, key
    assert values["screw"] == "M3" and values["material"] == "PLA"
    assert isinstance(values["vent_count"], int)


def test_wrong_width_is_refused(enclosure):
    space = DesignSpace(enclosure)
    with pytest.raises(OptimizationError, match="expected 8 variables"):
        space.evaluate(np.zeros((3, 5)))


def test_describe_is_plain_data(enclosure):
    import json

    d = DesignSpace(enclosure, locks={"screw": "M3"}).describe()
    json.dumps(d)
    assert d["locks"] == {"screw": "M3"} and d["catalog"]["id"] == "enclosure"


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_repair_is_idempotent_and_inside_bounds(enclosure, data):
    space = DesignSpace(enclosure, bounds={"wall": (1.0, 2.5)})
    row = [
        data.draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
        for _ in space.variables
    ]
    x = space.repair(np.array(row))
    assert np.all(x >= space.xl) and np.all(x <= space.xu)
    np.testing.assert_array_equal(space.repair(x), x)
    for v, value in zip(space.variables, x, strict=True):
        if v.kind != "real":
            assert value == round(value)
        elif v.step:
            k = (value - v.origin) / v.step
            assert abs(k - round(k)) < 1e-6
