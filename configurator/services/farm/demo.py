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
    farm: Any, count: int, *, jobs_per_node: int = 2, seed: int = 0, time_scale: float = 1.0
) -> list[tuple[str, str]]:
    """Make sure ``count`` demo nodes exist (heterogeneous, see
    :mod:`configurator.core.farm.demo`) and return their (name, key).

    Keys are kept in ``data_dir/demo-nodes.json`` (mode 0600) so a restart reuses the
    same nodes; a demo node whose key was lost is removed and registered again. When the
    farm has no jobs yet, ``jobs_per_node × count`` demo box jobs are submitted.

    Demo nodes are simulated, so their plates clear themselves (``auto_clear``) after
    the technology's plate change times ``time_scale`` (the agents' 1 / ``--demo-speed``).
    """
    path = Path(farm.settings.data_dir) / DEMO_KEYS_FILE
    keys: dict[str, str] = {}
    if path.exists():
        try:
            keys = dict(json.loads(storage.read_bytes(path)))
        except ValueError:
            keys = {}
    existing = {n.name: n for n in farm.list_nodes()}
    out = []
    for i in range(count):
        name, spec = demo_node(i)
        key = keys.get(name)
        node = existing.get(name)
        if node is not None and key and farm.node_id_for_key(key) == node.id:
            out.append((name, key))
            continue
        if node is not None:
            farm.remove_node(node.id)
        _, key = farm.register_node(
            name=name,
            technology=spec.technology,
            build_volume=spec.build_volume,
            materials=spec.materials,
            speed=spec.speed,
            auto_clear=True,
            setup_s=farm.settings.setup_for(spec.technology) * time_scale,
        )
        keys[name] = key
        out.append((name, key))
    storage.write_bytes_atomic(path, json.dumps(keys, indent=1).encode(), mode=0o600)
    if count and not farm.list_jobs(limit=1):
        rng = np.random.default_rng(seed)
        for k in range(jobs_per_node * count):
            _, spec = demo_node(k % count)
            material = sorted(spec.materials)[0]
            size = np.round(rng.uniform(20, 120, 3), 1)
            size[2] = min(size[2], 100)
            volume_cm3 = float(np.prod(size)) / 1000 * 0.25  # 25 % infill-ish
            farm.submit_job(
                design_id=f"demo-box-{k + 1}",
                material=material,
                bbox=tuple(float(v) for v in size),
                est_seconds=float(600 + volume_cm3 * 60),
                grams=round(volume_cm3 * 1.2, 1),
                file_bytes=box_stl(*size),
                file_name=f"demo-box-{k + 1}.stl",
                label="demo",
            )
    return out
