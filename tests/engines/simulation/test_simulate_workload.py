"""Seeded workload generator and the makespan lower bound of the farm simulator."""

from __future__ import annotations

import numpy as np
import pytest

from configurator.core.farm.router import fits_bed
from configurator.engines.simulation.report import lower_bound
from configurator.engines.simulation.simulate import workload_lower_bound
from configurator.engines.simulation.workload import (
    MATERIALS,
    JobSpec,
    NodeSpec,
    SizeSample,
    Workload,
    make_workload,
)
from configurator.errors import FarmError


def test_same_seed_same_workload_and_independent_streams():
    a = make_workload(n_nodes=20, n_jobs=300, seed=5, failure_rate=0.05)
    assert a == make_workload(n_nodes=20, n_jobs=300, seed=5, failure_rate=0.05)
    assert a != make_workload(n_nodes=20, n_jobs=300, seed=6, failure_rate=0.05)
    # more jobs does not change the fleet
    assert make_workload(n_nodes=20, n_jobs=50, seed=5).nodes == a.nodes


def test_fleet_is_heterogeneous_and_every_job_has_a_capable_node():
    wl = make_workload(n_nodes=20, n_jobs=500, seed=1)
    assert len({n.speed for n in wl.nodes}) >= 3
    assert len({n.bed_mm for n in wl.nodes}) >= 3
    assert {m for n in wl.nodes for m in n.materials} == set(MATERIALS)
    for job in wl.jobs:
        assert any(
            job.material in n.materials and fits_bed(job.bbox_mm, n.bed_mm) for n in wl.nodes
        ), job
    assert {j.priority for j in wl.jobs} == {0, 1, 2}
    assert all(j.deadline_s > j.arrival_s for j in wl.jobs)
    arrivals = [j.arrival_s for j in wl.jobs]
    assert arrivals == sorted(arrivals)


def test_offered_load_is_the_requested_share_of_capacity():
    wl = make_workload(n_nodes=20, n_jobs=4000, seed=2, failure_rate=0.05, offered_load=0.9)
    work = sum(j.work_s for j in wl.jobs)
    span = wl.jobs[-1].arrival_s
    capacity = sum(n.speed for n in wl.nodes) * (1 - 0.05)
    assert work / (span * capacity) == pytest.approx(0.9, rel=0.05)


def test_sizes_come_from_the_given_sample_per_material():
    n = 30
    sample = SizeSample(
        work_s=np.arange(1, n + 1) * 100.0,
        grams=np.full(n, 20.0),
        bbox_mm=np.tile([40.0, 30.0, 20.0], (n, 1)),
        material=np.array(["PLA", "PETG", "ABS"] * 10),
        source="test",
    )
    wl = make_workload(n_nodes=10, n_jobs=200, seed=3, sizes=sample, estimate_sigma=0.0)
    by_material = {m: set() for m in MATERIALS}
    for j in wl.jobs:
        by_material[j.material].add(j.work_s)
        assert j.actual_s == j.work_s
    for k, m in enumerate(["PLA", "PETG", "ABS"]):
        allowed = {float(w) for w in sample.work_s[k::3]}
        assert by_material[m] and by_material[m] <= allowed
    assert wl.size_source == "test"


def test_bad_workload_parameters_are_refused():
    with pytest.raises(FarmError, match="--nodes"):
        make_workload(n_nodes=0, n_jobs=5, seed=1)
    with pytest.raises(FarmError, match="--jobs"):
        make_workload(n_nodes=2, n_jobs=0, seed=1)
    with pytest.raises(FarmError, match="--failures"):
        make_workload(n_nodes=2, n_jobs=5, seed=1, failure_rate=0.95)


def test_fits_bed_allows_rotation_about_z_only():
    assert fits_bed((200.0, 240.0, 100.0), (250.0, 210.0, 220.0))  # rotated
    assert not fits_bed((200.0, 240.0, 230.0), (250.0, 210.0, 220.0))  # too tall
    assert not fits_bed((260.0, 100.0, 10.0), (250.0, 210.0, 220.0))


def test_lower_bound_respects_arrivals_and_capabilities():
    bed = (250.0, 210.0, 220.0)
    nodes = (
        NodeSpec("a", "mk4", "FDM", ("PLA",), 1.0, bed),
        NodeSpec("b", "corexy", "FDM", ("PLA", "ABS"), 2.0, bed),
        NodeSpec("c", "large", "FDM", ("ABS",), 1.0, (350.0, 350.0, 400.0)),
    )

    def job(jid, arrival, material, work, box=(50.0, 50.0, 50.0)):
        return JobSpec(jid, arrival, material, "FDM", work, 10.0, box, 0, 1e9)

    jobs = (
        job("p1", 100.0, "PLA", 300.0),  # PLA class: 100 + 600 / (1 + 2) = 300
        job("p2", 500.0, "PLA", 300.0),
        job("x1", 0.0, "ABS", 900.0),  # ABS class: 0 + 1200 / (2 + 1) = 400
        job("x2", 1000.0, "ABS", 300.0, box=(300.0, 300.0, 300.0)),  # only c: 1000 + 300
    )
    wl = Workload(1, nodes, jobs, 0.0, 7200.0, 0.9, "hand")
    lb = workload_lower_bound(wl)
    assert lb.per_class == pytest.approx({"ABS/FDM": 400.0, "PLA/FDM": 300.0})
    # jobs: p1 100+150, p2 500+150, x1 0+450, x2 1000+300 (only the large bed fits)
    assert lb.job_bound == pytest.approx(1300.0)
    assert (lb.value, lb.binding) == (pytest.approx(1300.0), "job x2")
    # a bound ignoring capabilities would let x2 run on b at speed 2: 1150
    naive = lower_bound(wl, lambda node, j: j.material in node.materials)
    assert naive.job_bound == pytest.approx(1150.0)


def test_job_sizes_load_from_a_slicer_data_set_file(tmp_path):
    from configurator.adapters.dataset import COLUMNS, dumps
    from configurator.adapters.workload_data import load_job_sizes

    rows = []
    for k, material in enumerate(["PLA", "PETG", "ABS", "PLA"]):
        row = dict.fromkeys(COLUMNS, 1.0)
        row.update(
            source="primitive",
            catalog="-",
            design_id=f"d{k}",
            part="body",
            group=f"g{k}",
            design_material=material,
            material=material,
            bbox_x=10.0 + k,
            bbox_y=20.0,
            height=30.0,
            seconds=600.0 * (k + 1),
            grams=5.0 * (k + 1),
        )
        rows.append(row)
    path = tmp_path / "sizes.csv"
    path.write_text(dumps(rows), encoding="utf-8")
    sample = load_job_sizes(path)
    assert list(sample.work_s) == [600.0, 1200.0, 1800.0, 2400.0]
    assert sample.bbox_mm.tolist()[1] == [11.0, 20.0, 30.0]
    assert list(sample.material) == ["PLA", "PETG", "ABS", "PLA"]
    wl = make_workload(n_nodes=6, n_jobs=50, seed=1, sizes=sample, estimate_sigma=0.0)
    allowed = {"PLA": {600.0, 2400.0}, "PETG": {1200.0}, "ABS": {1800.0}}
    assert all(j.work_s in allowed[j.material] for j in wl.jobs)
    assert wl.size_source.startswith("sizes.csv (4 rows")


def test_data_set_workload_draws_parts_that_fit_the_reference_bed():
    """Whole-plate rows too big for a reference printer would pin the benchmark on the few
    large-format nodes; the workload leaves them out (sizes still come from the data set)."""
    from configurator.adapters.workload_data import load_job_sizes
    from configurator.engines.simulation.workload import (
        PRINTER_MODELS,
        REFERENCE_MODEL,
        fits_bed,
        make_workload,
    )

    sizes = load_job_sizes()
    assert sizes is not None
    too_big = [
        b for b in sizes.bbox_mm if not fits_bed(tuple(b), PRINTER_MODELS[REFERENCE_MODEL][1])
    ]
    assert too_big, "the committed data set has large-format plates (the case this guards)"
    wl = make_workload(n_nodes=8, n_jobs=300, seed=3, sizes=sizes)
    bed = PRINTER_MODELS[REFERENCE_MODEL][1]
    assert all(fits_bed(j.bbox_mm, bed) for j in wl.jobs)
