"""Optimizer test fixtures: a small real catalog (tests/engines/optimize/catalogs/box.yaml) whose
generator is registered here, so the real loader and design space are used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from configurator.core.geometry.registry import register

CATALOGS = Path(__file__).parent / "catalogs"
BOX = CATALOGS / "box.yaml"


@register("test-box", parameters=("side", "height", "finish", "ribs"))
def box_generator(values: Mapping[str, Any]) -> dict[str, Any]:
    """A plain box side x side x height (mm)."""
    import trimesh

    s, h = float(values["side"]), float(values["height"])
    return {"box": trimesh.creation.box(extents=(s, s, h))}


@pytest.fixture(scope="session")
def box_catalog():
    from configurator.adapters.catalog_yaml import load_catalog

    return load_catalog(BOX)


@pytest.fixture
def box_space(box_catalog):
    from configurator.core.design.space import DesignSpace

    def make(**kwargs: Any):
        return DesignSpace(box_catalog, **kwargs)

    return make
