"""The README's example request gives printable meshes for every returned design.

Regression: vents ending exactly where the rounded corner begins (a tangency allowed by the
catalog's constraint) produced float32-degenerate slivers and a failed mesh check.
"""

from configurator.adapters.catalog_yaml import find_catalog
from configurator.services import geometry
from configurator.services.design.service import design
from configurator.settings import REPO_ROOT


def test_readme_enclosure_example_meshes_pass_every_check():
    result = design(
        "enclosure",
        requirements={"board_length": 100, "board_width": 60, "component_height": 20},
        objectives=["mass", "stiffness"],
        algorithm="nsga2",
        evals=5000,
        seed=1,
        top=8,
    )
    assert result.status == "ok" and len(result.records) == 8
    catalog = find_catalog("enclosure", REPO_ROOT / "catalogs")
    for record in result.records:
        parts = geometry.build_design(catalog, record)  # raises MeshCheckError on a failed check
        assert parts.report.passed
