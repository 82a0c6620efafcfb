"""Farm test helpers: an injected clock, a small job, node registration (the database
fixtures ``db_url`` and ``make_farm`` are in tests/conftest.py)."""

from __future__ import annotations

import httpx

from configurator.core.farm.demo import box_stl
from configurator.services.farm.service import FarmService

PG_ENV = "CONFIGURATOR_TEST_POSTGRES_URL"
STL = box_stl(20, 20, 10)


class Clock:
    """Injected time source (POSIX seconds) so heartbeat timeouts are exact."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


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
        auto_clear=True,  # clears itself at once: the farm as it ran before plate changes
        setup_s=0.0,
    )
    args.update(kw)
    return farm.register_node(**args)


#: an FDM printer that prints every enclosure material: server runs are limited to what
#: the server's farm can make, so a server that should run enclosure searches needs one
ENCLOSURE_PRINTER = {
    "name": "fdm",
    "technology": "FDM",
    "build_volume": [256, 256, 256],
    "materials": {"PLA": 1e4, "PETG": 1e4, "ASA": 1e4},
}


def register_printer(base_url: str, admin_key: str, node: dict | None = None) -> dict:
    """Register ``node`` (default :data:`ENCLOSURE_PRINTER`) on a running server."""
    r = httpx.post(
        f"{base_url}/api/v1/farm/nodes",
        json=node or ENCLOSURE_PRINTER,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return r.json()
