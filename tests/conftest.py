"""Fixtures shared across the suite: a fresh farm database per test on SQLite and (when
CONFIGURATOR_TEST_POSTGRES_URL is set, see scripts/postgres.sh) on PostgreSQL; a farm
service on it; real meshes with a synthetic slicer-like target for the estimate tests."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from configurator.adapters.db.engine import normalize_url
from configurator.adapters.db.store import Store
from configurator.services.farm.service import FarmService
from configurator.settings import Settings
from tests.support.farm import Clock
from tests.support.solids import fdm_matrix, random_solids, synthetic_seconds

PG_ENV = "CONFIGURATOR_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url():
    """A database of our own on the test server, dropped at the end of the session."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"{PG_ENV} is not set (scripts/test.sh starts a server via scripts/postgres.sh)"
        )
    base = make_url(normalize_url(url))
    name = f"farm_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'farm.db'}"
    url = request.getfixturevalue("postgres_url")
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(
            text(
                "DROP TABLE IF EXISTS farm_batches, farm_events, farm_jobs, farm_nodes, runs, "
                "run_events, run_servers, farm_chain, trace_catalogs, trace_designs, "
                "farm_alembic_version CASCADE"
            )
        )
    eng.dispose()
    return url


@pytest.fixture
def make_farm(db_url, tmp_path):
    made = []

    def make(*, clock=None, **overrides) -> FarmService:
        settings = Settings(data_dir=tmp_path / "data", database_url=db_url, **overrides)
        store = Store(settings.resolved_database_url)
        store.migrate()
        farm = FarmService(store, settings, admin_key="admin-key", clock=clock or Clock())
        made.append(store)
        return farm

    yield make
    for store in made:
        store.dispose()


@pytest.fixture(scope="session")
def solids_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X (120, 15) FDM print-path features, seconds (120,), groups (120,))`` from real
    meshes."""
    meshes = random_solids(120, seed=3)
    X = fdm_matrix(meshes)
    y = synthetic_seconds(X, np.random.default_rng(4))
    groups = np.arange(len(X)) // 2  # pairs share a "design"
    return X, y, groups


# The suite's farms print one job per build and start it at once, as they did before plate
# batching (Settings.batching and batch_wait_s are production defaults): tests of batching
# turn it on with their own settings.
os.environ.setdefault("CONFIGURATOR_BATCHING", "false")
os.environ.setdefault("CONFIGURATOR_BATCH_WAIT_S", "0")
