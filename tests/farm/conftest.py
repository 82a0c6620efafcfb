"""Farm test fixtures: a fresh database per test on SQLite and (when
CONFIGURATOR_TEST_POSTGRES_URL is set, see scripts/postgres.sh) on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from configurator.farm.demo import box_stl
from configurator.farm.store import Store, normalize_url
from configurator.services.farm import FarmService
from configurator.settings import Settings

PG_ENV = "CONFIGURATOR_TEST_POSTGRES_URL"
STL = box_stl(20, 20, 10)


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
                "DROP TABLE IF EXISTS farm_events, farm_jobs, farm_nodes, farm_alembic_version CASCADE"
            )
        )
    eng.dispose()
    return url


class Clock:
    """Injected time source (POSIX seconds) so heartbeat timeouts are exact."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


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


#: a small PLA job: what submit() sends unless told otherwise
JOB_ARGS = dict(
    design_id="d1",
    material="PLA",
    bbox=(20, 20, 10),
    est_seconds=600.0,
    grams=10.0,
    file_bytes=STL,
    file_name="part.stl",
)


def submit(farm: FarmService, **kw):
    return farm.submit_job(**{**JOB_ARGS, **kw})


def add_node(farm: FarmService, name: str, **kw):
    args = dict(
        name=name,
        technology="FDM",
        build_volume=(200, 200, 200),
        materials={"PLA": 5000.0},
        speed=1.0,
    )
    args.update(kw)
    return farm.register_node(**args)
