"""The optimization engine on a real catalog with closed-form optima (tests/engines/optimize/catalogs/box.yaml).

Box: minimize area = 2 s^2 + 4 s h (x finish factor, + ribs x s) subject to
s^2 h >= capacity and h <= max_height. With capacity 1000 the optimum is the cube
s = h = 10, area 600; with max_height 8 it is h = 8, s = sqrt(125), area 250 + 32 sqrt(125).
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from pymoo.optimize import minimize

from configurator.engines.optimize import ProgressEvent, run_optimization
from configurator.engines.optimize.algorithms import build_algorithm, population_size
from configurator.engines.optimize.problem import SpaceProblem, search_bounds
from configurator.errors import OptimizationError, RequirementsError

SO = ("ga", "pso")


def _params(record):
    return {k: v.value for k, v in record.parameters.items()}


def _dump(result):
    return json.dumps([r.model_dump(mode="json") for r in result.records], sort_keys=True)


@pytest.mark.parametrize(
    ("algorithm", "objectives"),
    [("ga", ["area"]), ("pso", ["area"]), ("nsga2", ["area", "footprint"])],
)
def test_same_seed_gives_identical_records(box_space, algorithm, objectives):
    runs = [
        run_optimization(
            box_space(objectives=objectives), algorithm=algorithm, evals=800, seed=7, top=4
        )
        for _ in range(2)
    ]
    a, b = runs
    assert a.status == b.status == "ok"
    assert [r.design_id for r in a.records] == [r.design_id for r in b.records]
    assert _dump(a) == _dump(b)
    assert a.stats.evaluations == b.stats.evaluations
    other = run_optimization(
        box_space(objectives=objectives), algorithm=algorithm, evals=800, seed=8, top=4
    )
    assert [r.design_id for r in other.records] != [r.design_id for r in a.records]


@pytest.mark.parametrize("algorithm", SO)
def test_finds_the_cube_on_the_capacity_boundary(box_space, algorithm):
    res = run_optimization(box_space(objectives=["area"]), algorithm=algorithm, evals=3000, seed=1)
    best = res.records[0]
    p = _params(best)
    assert best.feasible
    assert best.objectives["area"].value == pytest.approx(600.0, rel=5e-3)
    assert p["side"] == pytest.approx(10.0, rel=0.03)
    assert p["height"] == pytest.approx(10.0, rel=0.05)
    assert (p["finish"], p["ribs"]) == ("matte", 0)
    # the optimum sits on the constraint: volume equals capacity within tolerance
    assert best.constraints["holds capacity"].margin == pytest.approx(0.0, abs=10.0)


@pytest.mark.parametrize("algorithm", SO)
def test_finds_the_optimum_on_two_active_constraints(box_space, algorithm):
    # a corner of the feasible set: GA closes in along the diagonal ridge slowly (within
    # ~2 % at 5000 evaluations over seeds 0..6); PSO is exact unless it stalls on a finish
    space = box_space(objectives=["area"], requirements={"max_height": 8})
    res = run_optimization(space, algorithm=algorithm, evals=5000, seed=1)
    best = res.records[0]
    p = _params(best)
    assert best.objectives["area"].value == pytest.approx(250 + 32 * math.sqrt(125), rel=0.025)
    assert p["height"] <= 8.0 and p["side"] ** 2 * p["height"] >= 1000 * (1 - 1e-9)
    assert p["height"] == pytest.approx(8.0, rel=0.03)
    assert p["side"] == pytest.approx(math.sqrt(125), rel=0.03)


def test_single_objective_results_are_best_first_and_distinct(box_space):
    res = run_optimization(
        box_space(objectives=["area"]), algorithm="ga", evals=1500, seed=3, top=6
    )
    values = [r.objectives["area"].value for r in res.records]
    assert len(res.records) == 6
    assert values == sorted(values)
    assert len({r.design_id for r in res.records}) == 6
    assert all(r.feasible for r in res.records)


def test_nsga2_front_is_feasible_non_dominated_and_near_the_analytic_front(box_space):
    res = run_optimization(
        box_space(objectives=["area", "footprint"]), algorithm="nsga2", evals=4000, seed=4, top=8
    )
    assert res.status == "ok" and 2 <= len(res.records) <= 8
    F = np.array(
        [[r.objectives["area"].value, r.objectives["footprint"].value] for r in res.records]
    )
    for i, f in enumerate(F):
        others = np.delete(F, i, axis=0)
        assert not np.any(np.all(others <= f, axis=1) & np.any(others < f, axis=1))
    assert list(F[:, 0]) == sorted(F[:, 0])  # ordered along the front
    # for footprint f = s^2 the least area holding 1000 mm^3 is 2 f + 4000 / sqrt(f)
    lower = 2 * F[:, 1] + 4000 / np.sqrt(F[:, 1])
    assert np.all(F[:, 0] >= lower * (1 - 1e-9))
    assert np.all(F[:, 0] <= lower * 1.03)
    assert all(r.feasible for r in res.records)
    assert len({r.design_id for r in res.records}) == len(res.records)
    assert res.stats.hypervolume is not None and res.stats.hypervolume > 0


def test_weighted_sum_follows_the_weights(box_space):
    area = run_optimization(
        box_space(objectives=["area", "footprint"], weights=[1, 0]), evals=2000, seed=5, top=1
    )
    assert area.stats.algorithm == "ga"  # one weighted objective -> ga by default
    assert area.records[0].objectives["area"].value == pytest.approx(600, rel=0.01)
    foot = run_optimization(
        box_space(objectives=["area", "footprint"], weights=[0, 1]), evals=2000, seed=5, top=1
    )
    # least footprint holding 1000 mm^3 under the 50 mm height limit: 1000 / 50
    assert foot.records[0].objectives["footprint"].value == pytest.approx(20, rel=0.02)


@pytest.mark.parametrize(
    ("algorithm", "objectives"),
    [("ga", ["area"]), ("pso", ["area"]), ("nsga2", ["area", "footprint"])],
)
def test_locks_and_bounds_hold_in_every_design(box_space, algorithm, objectives):
    space = box_space(
        objectives=objectives,
        locks={"finish": "gloss", "ribs": 2},
        bounds={"side": (12, 15), "height": (2, 9)},
    )
    res = run_optimization(space, algorithm=algorithm, evals=600, seed=0, top=5)
    assert res.records
    for r in res.records:
        p = _params(r)
        assert (p["finish"], p["ribs"]) == ("gloss", 2)
        assert 12 <= p["side"] <= 15 and 2 <= p["height"] <= 9


@pytest.mark.parametrize("algorithm", ["ga", "pso", "nsga2"])
def test_discrete_variables_only_ever_take_legal_values(box_space, algorithm):
    space = box_space(objectives=["area"] if algorithm != "nsga2" else ["area", "footprint"])
    kinds = {v.name: v for v in space.variables}
    j_finish = [v.name for v in space.variables].index("finish")
    j_ribs = [v.name for v in space.variables].index("ribs")
    j_mat = [v.name for v in space.variables].index("material")
    seen: list[np.ndarray] = []

    def observe(X, F, G, feasible):
        seen.append(X.copy())

    problem = SpaceProblem(space, observer=observe)
    algo = build_algorithm(algorithm, pop_size=population_size(algorithm, 600))
    minimize(problem, algo, ("n_evals", 600), seed=11)
    X = np.vstack(seen)
    for j, name in ((j_finish, "finish"), (j_ribs, "ribs"), (j_mat, "material")):
        col = X[:, j]
        assert np.all(col == np.round(col)), name
        assert col.min() >= kinds[name].lower and col.max() <= kinds[name].upper
    # end options are reachable (search bounds widened by half a step)
    assert set(np.unique(X[:, j_finish])) == {0.0, 1.0, 2.0}
    assert {0.0, 5.0} <= set(np.unique(X[:, j_ribs]))


def test_search_bounds_widen_discrete_variables_by_half_a_step(box_space):
    space = box_space()
    xl, xu = search_bounds(space)
    names = [v.name for v in space.variables]
    i = names.index("ribs")
    assert xl[i] == pytest.approx(-0.5) and xu[i] == pytest.approx(5.5)
    assert space.repair(np.array([xl, xu]))[:, i].tolist() == [0.0, 5.0]
    s = names.index("side")  # continuous: unchanged
    assert (xl[s], xu[s]) == (1.0, 20.0)


def test_progress_events_per_generation(box_space):
    events: list[ProgressEvent] = []
    res = run_optimization(
        box_space(objectives=["area", "footprint"]),
        algorithm="nsga2",
        evals=1000,
        seed=0,
        on_progress=events.append,
    )
    assert [e.generation for e in events] == list(range(1, res.stats.generations + 1))
    evals = [e.evaluations for e in events]
    assert evals == sorted(evals) and evals[-1] == res.stats.evaluations <= 1000
    assert events[-1].fraction == 1.0
    assert set(events[-1].best) == {"area", "footprint"}
    assert events[-1].hypervolume is not None and events[-1].hypervolume > 0
    assert events[-1].n_feasible == res.stats.n_feasible
    again = pickle.loads(pickle.dumps(events[-1]))
    assert again == events[-1]
    assert json.loads(events[-1].model_dump_json())["generation"] == events[-1].generation


def test_single_objective_progress_reports_the_best_design(box_space):
    events: list[ProgressEvent] = []
    res = run_optimization(
        box_space(objectives=["area"]),
        algorithm="pso",
        evals=500,
        seed=0,
        on_progress=events.append,
    )
    assert events[-1].best["area"] == pytest.approx(res.records[0].objectives["area"].value)
    assert events[-1].hypervolume is None
    bests = [e.best["area"] for e in events if e.best]
    assert bests == sorted(bests, reverse=True)  # best so far never gets worse


def test_budget_is_never_exceeded(box_space):
    res = run_optimization(box_space(objectives=["area"]), algorithm="ga", evals=1234, seed=0)
    assert res.stats.evaluations <= 1234 and res.stats.stopped_by == "evals"
    assert res.stats.evaluations > 1234 - res.stats.pop_size


def test_time_cap_stops_the_run(box_space):
    res = run_optimization(
        box_space(objectives=["area"]), algorithm="ga", evals=10**8, seed=0, time_cap_s=0.2
    )
    assert res.stats.stopped_by == "time" and res.status == "ok"
    assert res.stats.evaluations < 10**8


def test_cancellation_returns_a_partial_result(box_space):
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    res = run_optimization(
        box_space(objectives=["area"]),
        algorithm="ga",
        evals=10_000,
        seed=0,
        should_stop=should_stop,
    )
    assert res.status == "cancelled" and res.stats.stopped_by == "cancelled"
    assert res.stats.generations == 3
    assert res.stats.evaluations < 10_000
    assert res.records and all(r.feasible for r in res.records)


def test_infeasible_requirements_give_a_report_not_designs(box_space):
    res = run_optimization(
        box_space(objectives=["area"], requirements={"capacity": 30000}), evals=500, seed=0
    )
    assert res.status == "infeasible" and res.records == []
    report = res.infeasibility
    assert [v.name for v in report.violations] == ["holds capacity"]
    v = report.violations[0]
    # the largest box is 20 x 20 x 50 = 20000 mm^3: at least 10000 short
    assert 10000 <= v.violation <= 10500 and v.margin == -v.violation
    assert v.unit == "mm^3" and v.message == "The box is too small for the capacity."
    assert "holds capacity" in report.summary and f"{v.violation:,.0f} mm^3" in report.summary
    assert set(report.least_violating) == {"side", "height", "finish", "ribs", "material"}


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"algorithm": "ga"}, OptimizationError, "optimizes one objective"),
        ({"algorithm": "pso"}, OptimizationError, "weights"),
        ({"algorithm": "cmaes"}, OptimizationError, "unknown algorithm"),
        ({"evals": 5}, OptimizationError, "at least"),
        ({"top": 0}, OptimizationError, "top"),
        ({"seed": -1}, OptimizationError, "seed"),
        ({"time_cap_s": 0}, OptimizationError, "time cap"),
    ],
)
def test_bad_run_settings_are_clear_errors(box_space, kwargs, error, text):
    with pytest.raises(error, match=text):
        run_optimization(box_space(objectives=["area", "footprint"]), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"objectives": ["volume"]}, "objectives"),
        ({"objectives": ["area", "area"]}, "objectives"),
        ({"objectives": ["area", "footprint"], "weights": [1]}, "weights"),
        ({"objectives": ["area", "footprint"], "weights": [1, -1]}, "weights"),
        ({"objectives": ["area", "footprint"], "weights": [0, 0]}, "weights"),
    ],
)
def test_objective_and_weight_errors_name_the_field(box_space, kwargs, field):
    with pytest.raises(RequirementsError) as exc:
        box_space(**kwargs)
    assert field in exc.value.fields


def test_result_round_trips_through_json_and_pickle(box_space):
    from configurator.engines.optimize import OptimizationResult

    res = run_optimization(box_space(objectives=["area", "footprint"]), evals=300, seed=0, top=3)
    assert OptimizationResult.model_validate_json(res.model_dump_json()) == res
    assert pickle.loads(pickle.dumps(res)) == res
