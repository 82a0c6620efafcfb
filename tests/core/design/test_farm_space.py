"""A design space attached to a farm: only the farm's materials are searched, ``printer.*``
reads the farm's printers, the plate must fit a bed of a printer that prints the design's
material (the router's own rule), and records carry the farm's fingerprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.design.farm_fit import FARM_CONSTRAINT
from configurator.core.design.space import DesignSpace
from configurator.core.farm.capability import FarmPrinter, FarmProfile
from configurator.core.farm.router import fits_beds
from configurator.engines.optimize import run_optimization
from configurator.errors import RequirementsError

REPO = Path(__file__).resolve().parents[3]
MK4 = FarmPrinter(name="mk4", technology="FDM", build_volume=(250, 210, 220), materials=["PLA"])
XL_ASA = FarmPrinter(name="xl", technology="FDM", build_volume=(360, 360, 360), materials=["ASA"])


@pytest.fixture(scope="module")
def enclosure():
    return load_catalog(REPO / "catalogs" / "enclosure.yaml")


def random_X(space: DesignSpace, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return space.repair(space.xl + rng.random((n, space.n_var)) * (space.xu - space.xl))


def test_a_pla_only_farm_fixes_the_material_and_refuses_others(enclosure):
    farm = FarmProfile(printers=[MK4])
    space = DesignSpace(enclosure, farm=farm)
    assert space.material == "PLA" and "material" not in [v.name for v in space.variables]
    assert FARM_CONSTRAINT in space.constraint_names
    with pytest.raises(RequirementsError) as exc:
        DesignSpace(enclosure, material="ASA", farm=farm)
    assert exc.value.fields == {"material": "no printer in the farm prints ASA (FDM)"}
    with pytest.raises(RequirementsError) as exc:
        DesignSpace(enclosure, farm=FarmProfile(printers=[]))
    assert "no printer in the farm prints PLA (FDM)" in exc.value.fields["material"]


def test_searched_materials_keep_their_catalog_properties(enclosure):
    farm = FarmProfile(printers=[MK4, XL_ASA])
    space = DesignSpace(enclosure, farm=farm)
    (mat,) = [v for v in space.variables if v.name == "material"]
    assert mat.options == ("PLA", "ASA")  # PETG: no printer
    X = random_X(space, 64, seed=1)
    ev = space.evaluate(X)
    for i in range(len(X)):
        values = space.decode(X[i])
        assert values["material"] in ("PLA", "ASA")
        # the same design evaluated without a farm, material locked: same mass (density)
        plain = DesignSpace(enclosure, material=values["material"])
        params = {k: v for k, v in values.items() if k != "material"}
        reference = plain.evaluate(plain.encode(params)[None, :])
        assert ev.objectives["mass"][i] == pytest.approx(reference.objectives["mass"][0])
    with pytest.raises(RequirementsError):
        space.encode({"material": "PETG"})


def test_the_farm_constraint_is_the_routers_bed_fit_on_the_plate(enclosure):
    farm = FarmProfile(printers=[MK4, XL_ASA])
    space = DesignSpace(enclosure, requirements={"board_length": 125}, farm=farm)
    X = random_X(space, 200, seed=2)
    ev = space.evaluate(X)
    plate = np.column_stack(
        [ev.derived["plate_x"], ev.derived["plate_y"], ev.derived["outer_height"]]
    )
    beds = {"PLA": [MK4.build_volume], "ASA": [XL_ASA.build_volume]}
    fits = np.array(
        [fits_beds(plate[i], beds[space.decode(X[i])["material"]]).any() for i in range(len(X))]
    )
    margin = ev.margins[FARM_CONSTRAINT]
    assert np.array_equal(margin >= 0, fits)
    assert fits.any() and not fits.all()  # the 250 mm bed cuts through this population
    assert not ev.feasible[~fits].any()


def test_printer_lookups_read_the_farm_instead_of_the_catalog(enclosure):
    big = {"board_length": 250, "board_width": 60}
    plain = DesignSpace(enclosure, requirements=big, material="PLA")
    attached = DesignSpace(
        enclosure, requirements=big, material="PLA", farm=FarmProfile(printers=[MK4])
    )
    x = plain.default_x()
    # outer length 250 + 2 + 2 x 2 = 256: the catalog's 360 mm printer holds it, the farm's 250 mm does not
    assert plain.evaluate(x[None, :]).margins["fits the printer"][0] > 0
    assert attached.evaluate(x[None, :]).margins["fits the printer"][0] < 0
    assert plain.values(x)["outer_length"] == pytest.approx(256)


def test_records_carry_the_farm_and_runs_are_reproducible(enclosure):
    farm = FarmProfile(printers=[MK4, XL_ASA])
    space = DesignSpace(enclosure, objectives=["mass"], farm=farm)
    plain = DesignSpace(enclosure, objectives=["mass"], material="PLA")
    rec = space.record(space.encode({"material": "PLA"}))
    assert rec.farm == farm.fingerprint and rec.identity()["farm"] == farm.fingerprint
    assert rec.verify() and FARM_CONSTRAINT in rec.constraints
    base = plain.record(plain.default_x())
    assert base.farm is None and "farm" not in base.identity() and base.verify()
    runs = [
        run_optimization(
            DesignSpace(enclosure, objectives=["mass"], farm=farm), evals=300, seed=4, top=3
        )
        for _ in range(2)
    ]
    a, b = ([r.model_dump_json() for r in run.records] for run in runs)
    assert a == b and a
    assert {r.farm for r in runs[0].records} == {farm.fingerprint}
    assert {r.material for r in runs[0].records} <= {"PLA", "ASA"}
