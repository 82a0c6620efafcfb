"""Seeded shape families made independently of the catalogs, for held-out evaluation.

An estimate is only trustworthy on parts it never saw. These families cover proportions
the catalogs never produce, each drawn from its own seeded generator (trimesh primitives
and manifold booleans, mm, print orientation, lowest point at z = 0):

``small``        small cubes, cylinders and hex prisms (5-15 mm)
``tower``        tall thin towers (5-14 mm footprint, 40-110 mm high)
``thin_tube``    tubes with 0.8-2.2 mm walls
``cone``         cones and frustums, upright and inverted (overhangs all round)
``sphere``       spheres and domes
``bar``          long bars (80-170 mm)
``plate_holes``  plates with random round and square through-holes
``open_box``     open boxes (cups) with 1-4 mm walls
``flat``         large flat plates and discs (1-4 mm)
``overhang``     tables, T-beams and bridges (overhangs and bridges over air)
``boolean``      random unions and differences of boxes, cylinders and spheres

:func:`family_parts` returns ``n`` meshes of one family; the same ``(family, n, seed)``
always gives the same vertices. :func:`fit_within` scales a part down (never up) to a
build volume.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import trimesh

from configurator.errors import EstimateError

Rng = np.random.Generator


def _boolean(kind: str, meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    op = {
        "union": trimesh.boolean.union,
        "difference": trimesh.boolean.difference,
        "intersection": trimesh.boolean.intersection,
    }[kind]
    return op(meshes, engine="manifold")


def _at(mesh: trimesh.Trimesh, x: float = 0.0, y: float = 0.0, z: float = 0.0):
    mesh.apply_translation((x, y, z))
    return mesh


def _box(x: float, y: float, z: float) -> trimesh.Trimesh:
    return _at(trimesh.creation.box((x, y, z)), z=z / 2)


def _cyl(r: float, h: float, sections: int = 64) -> trimesh.Trimesh:
    return _at(trimesh.creation.cylinder(radius=r, height=h, sections=sections), z=h / 2)


def _small(rng: Rng) -> trimesh.Trimesh:
    kind = int(rng.integers(3))
    if kind == 0:
        return _box(*rng.uniform(5, 15, 3))
    if kind == 1:
        return _cyl(rng.uniform(2.5, 7.5), rng.uniform(4, 15), 48)
    return _cyl(rng.uniform(3, 8), rng.uniform(4, 15), 6)


def _tower(rng: Rng) -> trimesh.Trimesh:
    h = rng.uniform(40, 110)
    if rng.random() < 0.5:
        return _box(rng.uniform(5, 14), rng.uniform(5, 14), h)
    return _cyl(rng.uniform(2.5, 7), h, 48)


def _thin_tube(rng: Rng) -> trimesh.Trimesh:
    r = rng.uniform(8, 45)
    wall = rng.uniform(0.8, 2.2)
    h = rng.uniform(8, 70)
    tube = trimesh.creation.annulus(r_min=r - wall, r_max=r, height=h, sections=96)
    return _at(tube, z=h / 2)


def _cone(rng: Rng) -> trimesh.Trimesh:
    r1, h = rng.uniform(8, 40), rng.uniform(8, 60)
    r0 = r1 * rng.uniform(0.0, 0.6)
    full = trimesh.creation.cone(radius=r1, height=h * r1 / (r1 - r0), sections=96)
    part = _boolean("intersection", [full, _box(4 * r1, 4 * r1, h)])
    if rng.random() < 0.5:  # inverted: standing on the small end
        part.apply_transform(trimesh.transformations.rotation_matrix(np.pi, (1, 0, 0)))
    return part


def _sphere(rng: Rng) -> trimesh.Trimesh:
    r = rng.uniform(5, 40)
    ball = trimesh.creation.icosphere(subdivisions=4, radius=r)
    if rng.random() < 0.5:  # a dome: cut flat at a random height
        cut = rng.uniform(-0.6, 0.3) * r
        ball = _boolean("intersection", [ball, _at(_box(3 * r, 3 * r, 2 * r), z=cut)])
    return ball


def _bar(rng: Rng) -> trimesh.Trimesh:
    length = rng.uniform(80, 170)
    if rng.random() < 0.5:
        return _box(length, rng.uniform(5, 15), rng.uniform(5, 15))
    bar = trimesh.creation.cylinder(radius=rng.uniform(3, 8), height=length, sections=48)
    bar.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (0, 1, 0)))
    return bar


def _plate_holes(rng: Rng) -> trimesh.Trimesh:
    lx, ly, t = rng.uniform(30, 120), rng.uniform(20, 90), rng.uniform(2, 8)
    cutters = []
    for _ in range(int(rng.integers(1, 9))):
        r = rng.uniform(1.5, min(lx, ly) / 6)
        x = rng.uniform(-lx / 2 + r + 1, lx / 2 - r - 1)
        y = rng.uniform(-ly / 2 + r + 1, ly / 2 - r - 1)
        c = _cyl(r, t + 2, 32) if rng.random() < 0.7 else _box(2 * r, 2 * r, t + 2)
        cutters.append(_at(c, x, y, -1))
    return _boolean("difference", [_box(lx, ly, t), _boolean("union", cutters)])


def _open_box(rng: Rng) -> trimesh.Trimesh:
    lx, ly, h = rng.uniform(20, 120), rng.uniform(20, 100), rng.uniform(10, 60)
    wall, floor = rng.uniform(1.0, 4.0), rng.uniform(1.0, 4.0)
    inner = _at(_box(lx - 2 * wall, ly - 2 * wall, h), z=floor)
    return _boolean("difference", [_box(lx, ly, h), inner])


def _flat(rng: Rng) -> trimesh.Trimesh:
    t = rng.uniform(1.0, 4.0)
    if rng.random() < 0.6:
        return _box(rng.uniform(80, 180), rng.uniform(60, 170), t)
    return _cyl(rng.uniform(40, 85), t, 128)


def _overhang(rng: Rng) -> trimesh.Trimesh:
    kind = int(rng.integers(3))
    if kind == 0:  # table: a top on four legs
        lx, ly, t, h, leg = (
            rng.uniform(20, 100),
            rng.uniform(20, 100),
            rng.uniform(1.5, 5),
            rng.uniform(5, 40),
            rng.uniform(3, 8),
        )
        parts = [_at(_box(lx, ly, t), z=h)]
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(_at(_box(leg, leg, h + 0.5), sx * (lx - leg) / 2, sy * (ly - leg) / 2))
        return _boolean("union", parts)
    if kind == 1:  # T-beam standing on its stem
        w, stem, h, flange, t = (
            rng.uniform(20, 80),
            rng.uniform(3, 10),
            rng.uniform(10, 50),
            rng.uniform(10, 40),
            rng.uniform(2, 6),
        )
        return _boolean("union", [_box(stem, flange, h + 0.5), _at(_box(w, flange, t), z=h)])
    span, w, t, pier = (
        rng.uniform(20, 90),
        rng.uniform(8, 30),
        rng.uniform(2, 6),
        rng.uniform(5, 15),
    )
    h = rng.uniform(5, 30)  # bridge: two piers and a deck
    parts = [_at(_box(span + 2 * pier, w, t), z=h)]
    for sx in (-1, 1):
        parts.append(_at(_box(pier, w, h + 0.5), sx * (span + pier) / 2))
    return _boolean("union", parts)


def _random_solid(rng: Rng, size: float) -> trimesh.Trimesh:
    kind = int(rng.integers(3))
    if kind == 0:
        m = trimesh.creation.box(rng.uniform(0.3, 1.0, 3) * size)
    elif kind == 1:
        m = trimesh.creation.cylinder(
            radius=rng.uniform(0.15, 0.5) * size, height=rng.uniform(0.3, 1.0) * size, sections=48
        )
    else:
        m = trimesh.creation.icosphere(subdivisions=3, radius=rng.uniform(0.2, 0.5) * size)
    return _at(m, *rng.uniform(-0.3, 0.3, 3) * size)


def _boolean_part(rng: Rng) -> trimesh.Trimesh:
    size = rng.uniform(20, 70)
    base = _boolean("union", [_random_solid(rng, size) for _ in range(int(rng.integers(2, 5)))])
    cut = [_random_solid(rng, 0.6 * size) for _ in range(int(rng.integers(0, 3)))]
    part = _boolean("difference", [base, *cut]) if cut else base
    if part.is_empty or part.volume < 1.0:
        return _box(size, size, size / 2)
    return part


FAMILIES: dict[str, Callable[[Rng], trimesh.Trimesh]] = {
    "small": _small,
    "tower": _tower,
    "thin_tube": _thin_tube,
    "cone": _cone,
    "sphere": _sphere,
    "bar": _bar,
    "plate_holes": _plate_holes,
    "open_box": _open_box,
    "flat": _flat,
    "overhang": _overhang,
    "boolean": _boolean_part,
}


def on_bed(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The mesh moved so its bounding box is centred on x = y = 0 with its lowest point at z = 0."""
    lo, hi = mesh.bounds
    mesh = mesh.copy()
    mesh.apply_translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]))
    return mesh


def fit_within(mesh: trimesh.Trimesh, volume_mm: tuple[float, float, float]) -> trimesh.Trimesh:
    """``mesh`` scaled down uniformly (never up) so its extents fit ``volume_mm`` (x, y, z),
    allowing a 90° turn about z; on the bed (:func:`on_bed`)."""
    ext = mesh.extents
    box = np.asarray(volume_mm, dtype=float)
    straight = min(box[0] / ext[0], box[1] / ext[1])
    turned = min(box[0] / ext[1], box[1] / ext[0])
    scale = min(1.0, max(straight, turned), box[2] / ext[2])
    out = mesh.copy()
    if turned > straight and straight < 1.0:  # turning it lets it fit larger
        out.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (0, 0, 1)))
    if scale < 1.0:
        out.apply_scale(scale * 0.98)
    return on_bed(out)


def family_parts(family: str, n: int, *, seed: int) -> list[trimesh.Trimesh]:
    """``n`` seeded meshes of ``family`` (on the bed, mm)."""
    try:
        make = FAMILIES[family]
    except KeyError:
        raise EstimateError(f"unknown shape family {family!r}; known: {sorted(FAMILIES)}") from None
    rng = np.random.default_rng([seed, *family.encode()])
    return [on_bed(make(rng)) for _ in range(n)]
