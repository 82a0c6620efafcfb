"""Demo farm contents (pure): heterogeneous demo nodes and box-shaped demo parts.

Used by ``configurator serve --demo-nodes N``, the farm tests and ``configurator bench``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DemoNode:
    """A demo printer: build volume mm, grams loaded per material, throughput factor
    (relative to the reference printer the print-time estimator was fitted for)."""

    model: str
    technology: str
    build_volume: tuple[float, float, float]
    materials: dict[str, float]
    speed: float


#: The demo farm, in the order ``serve --demo-nodes N`` registers it (cycling past the end).
#: The first six cover every material of the shipped catalogs (a test checks it). Build
#: volumes are the makers' data sheets; speeds are relative throughput (docs/farm.md, "Demo
#: farm", gives the sources).
DEMO_NODES: tuple[DemoNode, ...] = (
    DemoNode("mk4", "FDM", (250, 210, 220), {"PLA": 1000, "PETG": 1000, "ASA": 1000}, 1.0),
    DemoNode(
        "x1c", "FDM", (256, 256, 256), {"PLA": 1000, "PETG": 1000, "ABS": 1000, "ASA": 1000}, 1.8
    ),
    DemoNode("p220", "FDM", (205, 155, 150), {"PEEK": 1000}, 0.5),
    DemoNode("form3", "SLA", (145, 145, 185), {"RESIN": 1000}, 0.8),
    DemoNode("m290", "SLM", (250, 250, 325), {"Ti-6Al-4V": 8000, "316L": 12000}, 0.6),
    DemoNode("xl", "FDM", (360, 360, 360), {"PLA": 3000, "PETG": 2000}, 0.9),
)


def demo_node(i: int) -> tuple[str, DemoNode]:
    """Name and spec of the ``i``-th demo node (0-based), cycling through :data:`DEMO_NODES`."""
    spec = DEMO_NODES[i % len(DEMO_NODES)]
    return f"demo-{spec.model}-{i + 1}", spec


_BOX_FACES = np.array(
    [
        [0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
        [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7],
    ]
)  # fmt: skip


def box_stl(x: float, y: float, z: float) -> bytes:
    """Binary STL of an axis-aligned box ``x`` × ``y`` × ``z`` mm (12 outward triangles)."""
    v = np.array(
        [[0, 0, 0], [x, 0, 0], [x, y, 0], [0, y, 0], [0, 0, z], [x, 0, z], [x, y, z], [0, y, z]],
        dtype=np.float32,
    )
    tri = v[_BOX_FACES]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    rec = np.zeros(12, dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    rec["n"], rec["v"] = n, tri
    header = b"configurator demo box".ljust(80, b" ")
    return header + struct.pack("<I", 12) + rec.tobytes()
