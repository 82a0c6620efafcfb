"""End to end over real HTTP: agent processes against a server process.

* 8 agents, 500 jobs, agents SIGKILLed and restarted at random: every job done exactly once.
* the server SIGKILLed twice under load and restarted: nothing lost, duplicated or stuck.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from configurator.adapters.db.tables import EventRow, JobRow
from configurator.adapters.farm_client import OperatorClient
from configurator.core.farm.demo import box_stl
from tests.services.farm.cluster import ADMIN, Agent, Server

pytestmark = pytest.mark.slow

NODE_SPECS = [
    ("FDM", (250, 210, 220), {"PLA": 1e6, "PETG": 1e6}, 1.0),
    ("FDM", (256, 256, 256), {"PLA": 1e6}, 1.8),
    ("FDM", (350, 350, 350), {"PETG": 1e6, "PLA": 1e6}, 0.7),
    ("FDM", (180, 180, 180), {"PLA": 1e6, "PETG": 1e6}, 1.2),
]


def register(op: OperatorClient, n: int) -> list[str]:
    keys = []
    for i in range(n):
        tech, bv, mats, speed = NODE_SPECS[i % len(NODE_SPECS)]
        r = op.register_node(
            name=f"node-{i}", technology=tech, build_volume=bv, materials=mats, speed=speed,
            auto_clear=True, setup_s=0.0,
        )  # fmt: skip
        keys.append(r["node_key"])
    return keys


def submit_jobs(op: OperatorClient, n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    stl = box_stl(40, 30, 20)
    ids = []
    for i in range(n):
        fields = {
            "design_id": f"d{i}", "material": rng.choice(["PLA", "PETG"]),
            "bbox_x": rng.uniform(10, 170), "bbox_y": rng.uniform(10, 170), "bbox_z": rng.uniform(5, 170),
            "est_seconds": rng.uniform(10, 60), "grams": rng.uniform(5, 50), "priority": rng.choice([0, 0, 1]),
        }  # fmt: skip
        ids.append(op.submit_job(file_name=f"p{i}.stl", file_bytes=stl, fields=fields)["id"])
    return ids


def wait_all_done(op: OperatorClient, total: int, timeout_s: float, *, tick=None) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = op.status()["jobs"]
        if jobs["done"] == total or time.monotonic() > deadline:
            return jobs
        if tick:
            tick()
        time.sleep(0.2)


def db_facts(data_dir) -> tuple[Counter, Counter, Counter]:
    eng = create_engine(f"sqlite:///{data_dir / 'configurator.db'}")
    with Session(eng) as s:
        states = Counter(s.scalars(select(JobRow.state)))
        completed = Counter(s.scalars(select(EventRow.job_id).where(EventRow.kind == "completed")))
        claimed = Counter(s.scalars(select(EventRow.job_id).where(EventRow.kind == "claimed")))
    eng.dispose()
    return states, completed, claimed


@pytest.fixture
def cluster(tmp_path):
    server = Server(tmp_path / "data")
    agents: list[Agent] = []
    yield server, agents
    for a in agents:
        a.stop()
    server.stop()


def test_eight_agents_500_jobs_with_random_agent_kills(cluster):
    server, agents = cluster
    server.start()
    op = OperatorClient(server.url, ADMIN)
    keys = register(op, 8)
    agents.extend(Agent(server.url, k, seed=i, fail_rate=0.02) for i, k in enumerate(keys))
    for a in agents:
        a.start()
    submitted: list[int] = []
    feeder = threading.Thread(target=lambda: submitted.extend(submit_jobs(op, 500, seed=1)))
    feeder.start()  # the chaos starts while jobs are still arriving
    rng = random.Random(5)
    kills = []
    last = [time.monotonic()]

    def chaos():  # every ~0.7 s kill a random agent; restart the dead ones on the next tick
        for a in agents:
            if not a.alive:
                a.start()
        if time.monotonic() - last[0] > 0.7 and len(kills) < 10:
            victim = rng.randrange(len(agents))
            agents[victim].kill()
            kills.append(victim)
            last[0] = time.monotonic()

    jobs = wait_all_done(op, 500, 180, tick=chaos)  # generous: a loaded 2-core machine
    feeder.join()
    ids = submitted
    assert len(kills) >= 3  # the chaos really happened
    assert jobs["done"] == 500, jobs
    states, completed, claimed = db_facts(server.data_dir)
    assert states == Counter({"done": 500})
    assert set(completed) == set(ids) and set(completed.values()) == {1}  # exactly once
    op.close()


def test_server_sigkill_under_load_loses_and_duplicates_nothing(cluster):
    server, agents = cluster
    server.start()
    op = OperatorClient(server.url, ADMIN, retry_for_s=30)
    keys = register(op, 4)
    ids = submit_jobs(op, 150, seed=2)
    agents.extend(Agent(server.url, k, seed=i, speed=400) for i, k in enumerate(keys))
    for a in agents:
        a.start()
    for threshold in (30, 90):  # kill twice, each time mid-way through the work
        deadline = time.monotonic() + 30
        while op.status()["jobs"]["done"] < threshold and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        time.sleep(0.3)
        server.start()
    jobs = wait_all_done(op, len(ids), 60)
    assert jobs["done"] == 150, jobs
    assert server.starts == 3
    states, completed, claimed = db_facts(server.data_dir)
    assert states == Counter({"done": 150})
    assert set(completed) == set(ids) and set(completed.values()) == {1}
    op.close()
