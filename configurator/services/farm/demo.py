"""The demo farm: heterogeneous simulated nodes (and demo jobs) for ``serve --demo-nodes``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters import storage
from configurator.core.farm.demo import box_stl, demo_node

DEMO_KEYS_FILE = "demo-nodes.json"


def ensure_demo_nodes(
    farm: Any, count: int, *, jobs: int = 0, time_scale: float = 1.0, seed: int = 0
) -> list[tuple[str, str]]:
    """Make sure exactly ``count`` demo nodes exist (heterogeneous, see
    :mod:`configurator.core.farm.demo`) and return their (name, key).

    ``time_scale``: the demo agents play prints that many times faster than real time; the
    nodes are registered with it, so routing, quotes and order pages use the compressed
    time (docs/farm.md, "Demo farm"). Keys are kept in ``data_dir/demo-nodes.json`` (mode
    0600) so a restart reuses the same nodes (their spec and time scale brought up to date);
    a demo node whose key was lost, or that is no longer wanted (fewer demo nodes than last
    time, an older demo line-up), is removed. When the farm has no jobs yet, ``jobs`` demo
    box jobs are submitted (for a dashboard demo; none by default).

    Demo nodes are simulated, so their plates clear themselves (``auto_clear``) after the
    technology's plate change compressed like their prints (divided by ``time_scale``).
    """
    path = Path(farm.settings.data_dir) / DEMO_KEYS_FILE
    keys: dict[str, str] = {}
    if path.exists():
        try:
            keys = dict(json.loads(storage.read_bytes(path)))
        except ValueError:
            keys = {}
    existing = {n.name: n for n in farm.list_nodes()}
    wanted = dict(demo_node(i) for i in range(count))
    for name in sorted(set(keys) - set(wanted)):  # ours, no longer wanted
        if name in existing:
            farm.remove_node(existing[name].id)
        del keys[name]
    out = []
    for name, spec in wanted.items():
        key = keys.get(name)
        node = existing.get(name)
        if node is not None and key and farm.node_id_for_key(key) == node.id:
            if (
                node.technology != spec.technology
                or (node.bv_x, node.bv_y, node.bv_z) != tuple(map(float, spec.build_volume))
                or set(node.materials or {}) != set(spec.materials)
            ):
                farm.remove_node(node.id)  # another machine under the same name
            else:
                setup_s = farm.settings.setup_for(spec.technology) / time_scale
                if (
                    node.speed != spec.speed
                    or node.time_scale != time_scale
                    or not node.auto_clear
                    or node.setup_s != setup_s
                ):
                    farm.update_node(
                        node.id,
                        speed=spec.speed,
                        time_scale=time_scale,
                        auto_clear=True,
                        setup_s=setup_s,
                    )
                out.append((name, key))
                continue
        elif node is not None:
            farm.remove_node(node.id)
        _, key = farm.register_node(
            name=name,
            technology=spec.technology,
            build_volume=spec.build_volume,
            materials=spec.materials,
            speed=spec.speed,
            time_scale=time_scale,
            auto_clear=True,
            setup_s=farm.settings.setup_for(spec.technology) / time_scale,
        )
        keys[name] = key
        out.append((name, key))
    storage.write_bytes_atomic(path, json.dumps(keys, indent=1).encode(), mode=0o600)
    if count and jobs and not farm.list_jobs(limit=1):
        _submit_demo_jobs(farm, count, jobs, seed=seed)
    return out


def _submit_demo_jobs(farm: Any, count: int, jobs: int, *, seed: int) -> None:
    """``jobs`` box-shaped demo jobs, spread over the demo nodes' materials."""
    rng = np.random.default_rng(seed)
    for k in range(jobs):
        _, spec = demo_node(k % count)
        material = sorted(spec.materials)[0]
        size = np.round(rng.uniform(20, 120, 3), 1)
        size[:2] = np.minimum(size[:2], min(spec.build_volume[:2]))
        size[2] = min(size[2], 100, spec.build_volume[2])
        volume_cm3 = float(np.prod(size)) / 1000 * 0.25  # 25 % infill-ish
        farm.submit_job(
            design_id=f"demo-box-{k + 1}",
            material=material,
            technology=spec.technology,
            bbox=tuple(float(v) for v in size),
            est_seconds=float(600 + volume_cm3 * 60),
            grams=round(volume_cm3 * 1.2, 1),
            file_bytes=box_stl(*size),
            file_name=f"demo-box-{k + 1}.stl",
            label="demo",
        )
