"""Every field kind end to end: choice requirement, bool and int parameters, choice tables.

Registers a small real generator ("test-widget") so the loader's generator check passes.
"""

from __future__ import annotations

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.space import DesignSpace
from configurator.core.geometry import registry
from configurator.errors import RequirementsError


def _widget(values):  # a real generator: a box of the requested size
    import trimesh

    return {"body": trimesh.creation.box(extents=[values["size"]] * 3)}


CATALOG = """\
schema: 1
id: widget
name: Widget
version: "1"
generator: test-widget
materials:
  PLA: {density: 1.24, cost_per_kg: 25, technology: FDM}
  Resin: {density: 1.10, cost_per_kg: 80, technology: SLA}
printers:
  mk4: {technology: FDM, build_volume: [250, 210, 220]}
requirements:
  grade: {type: choice, options: [basic, pro], default: basic}
  rugged: {type: bool, default: false}
parameters:
  size: {type: real, min: 10, max: 50, step: 5, default: 20, unit: mm}
  hollow: {type: bool, default: true}
  finish: {type: choice, options: [matte, gloss]}
  count: {type: int, min: 1, max: 9, step: 2, default: 3}
tables:
  grade: {basic: {factor: 1.0}, pro: {factor: 1.5}}
  finish: {matte: {cost: 0.0}, gloss: {cost: 2.5}}
derived:
  shell: "0.3 if hollow else 1.0"
objectives:
  mass:
    expr: size ** 3 * shell * count * material.density / 1000 * grade.factor
    unit: g
    sense: min
  price: {expr: 'finish.cost + (5 if material == "Resin" else 1) + (2 if rugged else 0)', sense: min}
constraints:
  - {name: fits, expr: "size <= printer.z", message: too big}
volume: size ** 3 * shell * count
"""


@pytest.fixture(scope="module")
def widget(tmp_path_factory):
    registry.register("test-widget", parameters=("size", "hollow", "finish", "count"))(_widget)
    path = tmp_path_factory.mktemp("widget") / "widget.yaml"
    path.write_text(CATALOG)
    try:
        yield load_catalog(path)
    finally:  # leave the registry as other suites expect it
        registry._REGISTRY.pop("test-widget", None)


def test_kinds_encode_and_evaluate(widget):
    space = DesignSpace(widget, requirements={"grade": "pro", "rugged": "yes"})
    kinds = {v.name: v.kind for v in space.variables}
    assert kinds == {
        "size": "real",
        "hollow": "bool",
        "finish": "choice",
        "count": "int",
        "material": "choice",
    }
    x = space.encode(
        {"size": 20, "hollow": False, "finish": "gloss", "count": 5, "material": "Resin"}
    )
    assert space.decode(x) == {
        "size": 20.0,
        "hollow": False,
        "finish": "gloss",
        "count": 5,
        "material": "Resin",
    }
    ev = space.evaluate(x)
    assert ev.objectives["mass"][0] == pytest.approx(20**3 * 1.0 * 5 * 1.10 / 1000 * 1.5)
    assert ev.objectives["price"][0] == pytest.approx(2.5 + 5 + 2)
    # Resin is SLA and no SLA printer exists: printer.z is 0, so the fit constraint fails
    assert ev.margins["fits"][0] == -20 and not ev.feasible[0]


def test_int_step_grid_and_defaults(widget):
    space = DesignSpace(widget, bounds={"count": (2, 8)})
    count = next(v for v in space.variables if v.name == "count")
    assert (count.lower, count.upper) == (3, 7)  # grid 1, 3, 5, 7, 9
    x = space.default_x()
    d = space.decode(x)
    assert d["finish"] == "matte" and d["hollow"] is True and d["size"] == 20.0
    values = space.values(x)
    assert (
        values["grade.factor"] == 1.0 and values["finish.cost"] == 0.0 and values["rugged"] is False
    )


@pytest.mark.parametrize(
    ("requirements", "field", "reason"),
    [
        ({"grade": "ultra"}, "grade", "must be one of basic, pro (got 'ultra')"),
        ({"rugged": "maybe"}, "rugged", "must be true or false (got 'maybe')"),
        ({"rugged": 2}, "rugged", "must be true or false"),
        ({"grade": True}, "grade", "must be one of basic, pro"),
    ],
)
def test_choice_and_bool_requirements_are_validated(widget, requirements, field, reason):
    with pytest.raises(RequirementsError) as info:
        DesignSpace(widget, requirements=requirements)
    assert info.value.fields[field].startswith(reason)


def test_generator_reads_values(widget):
    space = DesignSpace(widget)
    meshes = registry.get("test-widget")(space.values(space.default_x()))
    assert np.isclose(meshes["body"].volume, 20**3)
