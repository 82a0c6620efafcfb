"""``serve --demo-nodes``: the demo farm is registered with its time scale, kept across
restarts (keys reused, spec and time scale brought up to date), trimmed to the count asked,
and queues demo jobs only when asked."""

from __future__ import annotations

from configurator.core.farm.demo import demo_node
from configurator.services.farm.demo import ensure_demo_nodes


def test_demo_farm_registration_restart_and_jobs(make_farm):
    farm = make_farm()
    first = ensure_demo_nodes(farm, 6, time_scale=60.0)
    assert [n for n, _ in first] == [demo_node(i)[0] for i in range(6)]
    nodes = {n.name: n for n in farm.list_nodes()}
    assert {n.time_scale for n in nodes.values()} == {60.0}
    assert farm.list_jobs() == []  # no demo jobs unless asked
    view = farm.capabilities(max_age_s=0)
    assert view.time_scale == 60.0
    for material, tech in (("Ti-6Al-4V", "SLM"), ("316L", "SLM"), ("PEEK", "FDM"), ("ASA", "FDM")):
        assert view.availability(material, tech).available

    again = ensure_demo_nodes(farm, 6, time_scale=600.0, jobs=5)  # a restart, faster
    assert again == first  # same nodes, same keys
    assert {n.time_scale for n in farm.list_nodes()} == {600.0}
    jobs = farm.list_jobs(limit=100)  # asked for, and the farm had none
    assert len(jobs) == 5 and {j.label for j in jobs} == {"demo"}
    assert {j.state for j in jobs} == {"assigned"}  # every demo box fits its printer

    fewer = ensure_demo_nodes(farm, 3, time_scale=600.0, jobs=4)
    assert [n for n, _ in fewer] == [n for n, _ in first[:3]]
    assert sorted(n.name for n in farm.list_nodes()) == sorted(n for n, _ in fewer)
    assert len(farm.list_jobs(limit=100)) == 5  # not an empty farm: no more demo jobs
