"""Result selection: distinct rows, Pareto filtering and even thinning of a front."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from configurator.engines.optimize.selection import distinct_rows, pareto_front, thin_front


def test_distinct_rows_keeps_first_occurrence_in_order():
    X = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [3.0, 1.0], [0.0, 0.0]])
    assert distinct_rows(X).tolist() == [0, 1, 3]


def test_pareto_front_drops_dominated_and_duplicates_and_sorts():
    X = np.arange(10, dtype=float).reshape(5, 2)
    X[4] = X[1]  # duplicate design
    F = np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 3.0], [1.0, 3.0]])
    Xf, Ff = pareto_front(X, F)
    assert Ff.tolist() == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    assert Xf.tolist() == [X[1].tolist(), X[2].tolist(), X[0].tolist()]


def test_thin_front_takes_extremes_and_spreads_evenly():
    t = np.linspace(0.0, 1.0, 101)
    F = np.column_stack([t, 1.0 - t])  # a straight front, points 0.01 apart
    idx = thin_front(F, 5)
    assert idx.tolist() == [0, 25, 50, 75, 100]


def test_thin_front_keeps_everything_when_k_is_large():
    F = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert thin_front(F, 5).tolist() == [0, 1]


@settings(max_examples=60, deadline=None)
@given(
    F=arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.integers(2, 3)),
        elements=st.floats(-100, 100, allow_nan=False),
    ),
    k=st.integers(1, 12),
)
def test_thin_front_returns_k_distinct_sorted_indices(F, k):
    idx = thin_front(F, k)
    assert len(idx) == min(k, len(F))
    assert len(set(idx.tolist())) == len(idx)
    assert idx.tolist() == sorted(idx.tolist())
    assert thin_front(F, k).tolist() == idx.tolist()  # deterministic


@settings(max_examples=60, deadline=None)
@given(
    F=arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.just(2)),
        elements=st.floats(-10, 10, allow_nan=False),
    )
)
def test_pareto_front_members_are_mutually_non_dominated(F):
    X = np.arange(len(F) * 2, dtype=float).reshape(len(F), 2)
    _, Ff = pareto_front(X, F)
    for a in Ff:
        assert not np.any(np.all(Ff <= a, axis=1) & np.any(Ff < a, axis=1))
    # every input point is weakly dominated by some front member
    for a in F:
        assert np.any(np.all(Ff <= a, axis=1))
