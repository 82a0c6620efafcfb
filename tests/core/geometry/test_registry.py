from __future__ import annotations

import pytest

from configurator.core.geometry import registry
from configurator.errors import GeometryError


def test_builtin_families_are_registered_with_their_parameters():
    assert {"enclosure", "bone-plate"} <= set(registry.names())
    assert registry.parameters_of("enclosure") == (
        "wall",
        "floor",
        "corner_radius",
        "screw",
        "boss_diameter",
        "vent_count",
        "vent_width",
    )
    assert "contour_radius" in registry.parameters_of("bone-plate")


def test_unknown_generator_is_a_geometry_error_listing_known_ones():
    with pytest.raises(GeometryError, match="unknown generator 'teapot'.*enclosure"):
        registry.get("teapot")


def test_registering_another_function_under_a_taken_name_is_refused():
    with pytest.raises(GeometryError, match="already registered"):

        @registry.register("enclosure", parameters=("wall",))
        def impostor(values):  # pragma: no cover - never called
            return {}


def test_duplicate_parameter_names_are_refused():
    with pytest.raises(GeometryError, match="duplicate"):
        registry.register("x-dup", parameters=("a", "a"))


def test_generate_stamps_family_part_parameters_and_design_id(enclosure):
    parts = registry.generate("enclosure", enclosure(), design_id="d" * 64)
    assert list(parts) == ["base", "lid"]
    for name, mesh in parts.items():
        assert mesh.metadata["family"] == "enclosure"
        assert mesh.metadata["part"] == name
        assert mesh.metadata["design_id"] == "d" * 64
        assert mesh.metadata["parameters"]["screw"] == "M3"
        assert set(mesh.metadata["parameters"]) == set(registry.parameters_of("enclosure"))


def test_missing_value_names_the_family_and_value(enclosure):
    values = enclosure()
    del values["boss_x"]
    with pytest.raises(GeometryError, match="enclosure: missing value 'boss_x'"):
        registry.generate("enclosure", values)


def test_a_failure_inside_a_generator_becomes_a_geometry_error():
    @registry.register("test-broken", parameters=())
    def broken(values):
        raise ZeroDivisionError("boom")

    with pytest.raises(GeometryError, match="test-broken: generator failed for design abc"):
        registry.generate("test-broken", {}, design_id="abc")
