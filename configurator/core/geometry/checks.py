"""Checks run on every generated mesh (pure; no files).

``run_checks(parts, spec, design_id=...)`` returns a :class:`CheckReport` listing every
:class:`CheckResult` (a check that fails does not stop the others);
``report.raise_for_failure()`` raises :class:`~configurator.errors.MeshCheckError` naming the
design, the check (and part) and the measured value — the one documented failure.

Checks (names as they appear in design records, ``mesh.checks``):

``watertight``          every edge is shared by exactly two faces (per part)
``winding_consistent``  neighbouring faces traverse their shared edge in opposite directions
``one_body``            each part is one connected body
``positive_volume``     each part's signed volume is > 0 (outward normals)
``no_degenerate``       no triangle with a repeated vertex, area < 1e-9 mm^2, or two vertices
                        that coincide after rounding to float32 (STL precision; what admesh
                        would call degenerate)
``volume``              |sum of part volumes / analytic volume - 1| <= volume_tolerance
``fits_printer``        every part fits the build volume of at least one printer class (the same
                        class for all parts), as generated or turned 90 degrees about z
``min_wall``            sampled ray-cast thickness >= min_wall (see :func:`sampled_thickness`)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import trimesh

from configurator.errors import MeshCheckError

CHECK_NAMES = (
    "watertight",
    "winding_consistent",
    "one_body",
    "positive_volume",
    "no_degenerate",
    "volume",
    "fits_printer",
    "min_wall",
)

#: rays per part for the wall-thickness check (area-weighted face samples)
WALL_SAMPLES = 384
#: a sampled thickness may undershoot the limit by this much (mm): float noise only
WALL_EPS = 1e-3
DEGENERATE_AREA = 1e-9
#: a ray that leaves the solid through a surface within 60 degrees of parallel to it has met
#: an edge or a curved rim (a straight ray leaves a curved plate near its edge), not a wall
GRAZING_COS = 0.5


@dataclass(frozen=True)
class CheckSpec:
    """What the catalog asks of a design's meshes (mm, mm^3)."""

    expected_volume: float | None
    volume_tolerance: float = 0.01
    min_wall: float | None = None
    printers: Mapping[str, Sequence[float]] = field(default_factory=dict)
    seed: int = 0
    wall_samples: int = WALL_SAMPLES


@dataclass(frozen=True)
class CheckResult:
    """One check: ``passed`` and a one-line ``detail`` with the measured value."""

    name: str
    passed: bool
    detail: str
    part: str | None = None
    value: float | None = None


@dataclass
class CheckReport:
    """All check results for one design; ``passed`` maps check name -> all parts passed."""

    design_id: str | None
    results: list[CheckResult]
    volume_mm3: float = 0.0
    min_wall_mm: float | None = None
    printer: str | None = None

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def passed(self) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for r in self.results:
            out[r.name] = out.get(r.name, True) and r.passed
        return out

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def raise_for_failure(self) -> None:
        """Raise MeshCheckError for the first failed check (all failures in the detail)."""
        bad = self.failures
        if not bad:
            return
        first = bad[0]
        detail = "; ".join(
            (f"[{r.part}] " if r.part else "") + f"{r.name}: {r.detail}" for r in bad
        )
        raise MeshCheckError(self.design_id or "<unsaved>", first.name, detail)


def run_checks(
    parts: Mapping[str, trimesh.Trimesh], spec: CheckSpec, *, design_id: str | None = None
) -> CheckReport:
    """Run every check on ``parts`` (part name -> mesh, mm). Never raises for a failed check."""
    results: list[CheckResult] = []
    total = 0.0
    walls: list[float] = []
    for name, mesh in parts.items():
        results.extend(_topology(name, mesh))
        vol = float(mesh.volume)
        total += vol
        results.append(
            CheckResult("positive_volume", vol > 0, f"{vol:.3f} mm^3", part=name, value=vol)
        )
        if spec.min_wall is not None:
            t, at = thinnest_wall(mesh, samples=spec.wall_samples, seed=spec.seed)
            walls.append(t)
            ok = t >= spec.min_wall - WALL_EPS
            where = f" at ({at[0]:.2f}, {at[1]:.2f}, {at[2]:.2f})" if at else ""
            results.append(
                CheckResult(
                    "min_wall",
                    ok,
                    f"thinnest sampled wall {t:.3f} mm{where} "
                    f"({'>=' if ok else '<'} limit {spec.min_wall:g} mm)",
                    part=name,
                    value=t,
                )
            )
    if spec.expected_volume is not None:
        exp = float(spec.expected_volume)
        rel = total / exp - 1.0 if exp > 0 else math.inf
        ok = math.isfinite(rel) and abs(rel) <= spec.volume_tolerance
        results.append(
            CheckResult(
                "volume",
                ok,
                f"mesh {total:.3f} mm^3 vs formula {exp:.3f} mm^3 ({rel:+.3%}, "
                f"tolerance {spec.volume_tolerance:.2%})",
                value=rel,
            )
        )
    printer = None
    if spec.printers:
        printer = fitting_printer(parts, spec.printers)
        size = " + ".join(
            "x".join(f"{e:.1f}" for e in m.extents) + f" ({n})" for n, m in parts.items()
        )
        detail = f"fits {printer}" if printer else f"{size} mm fits no printer in the catalog"
        results.append(CheckResult("fits_printer", printer is not None, detail))
    return CheckReport(
        design_id=design_id,
        results=results,
        volume_mm3=total,
        min_wall_mm=min(walls) if walls else None,
        printer=printer,
    )


def _topology(name: str, mesh: trimesh.Trimesh) -> list[CheckResult]:
    out = []
    faces = np.asarray(mesh.faces)
    if len(faces) == 0:
        return [CheckResult(c, False, "mesh has no faces", part=name) for c in CHECK_NAMES[:5]]
    n_vert = np.int64(max(int(faces.max()) + 1, 1))
    directed = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2).astype(np.int64)
    lo, hi = directed.min(axis=1), directed.max(axis=1)
    counts = _key_counts(lo * n_vert + hi)
    open_edges = int(np.sum(counts != 2))
    out.append(
        CheckResult(
            "watertight",
            open_edges == 0,
            f"{open_edges} edges not shared by exactly two faces",
            part=name,
            value=open_edges,
        )
    )
    dcounts = _key_counts(directed[:, 0] * n_vert + directed[:, 1])
    bad_dir = int(np.sum(dcounts > 1))
    out.append(
        CheckResult(
            "winding_consistent",
            bad_dir == 0,
            f"{bad_dir} edges traversed twice in the same direction",
            part=name,
            value=bad_dir,
        )
    )
    bodies = body_count(mesh)
    out.append(CheckResult("one_body", bodies == 1, f"{bodies} bodies", part=name, value=bodies))
    degenerate = degenerate_count(mesh)
    out.append(
        CheckResult(
            "no_degenerate",
            degenerate == 0,
            f"{degenerate} degenerate triangles",
            part=name,
            value=degenerate,
        )
    )
    return out


def _key_counts(keys: np.ndarray) -> np.ndarray:
    """Multiplicity of each distinct int64 key (sort + run lengths; faster than unique)."""
    keys = np.sort(keys)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return np.diff(np.append(starts, len(keys)))


def body_count(mesh: trimesh.Trimesh) -> int:
    """Connected components of the triangle graph (triangles sharing a vertex connect)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = np.asarray(mesh.faces)
    n = len(mesh.vertices)
    a = np.concatenate([faces[:, 0], faces[:, 1]])
    b = np.concatenate([faces[:, 1], faces[:, 2]])
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return int(len(np.unique(labels[np.unique(faces)])))


def degenerate_count(mesh: trimesh.Trimesh) -> int:
    """Triangles that are degenerate in float64 or after rounding to float32 (STL)."""
    faces = np.asarray(mesh.faces)
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    repeated = (
        (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    )
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    tiny = area < DEGENERATE_AREA
    t32 = tri.astype(np.float32)
    same32 = (
        np.all(t32[:, 0] == t32[:, 1], axis=1)
        | np.all(t32[:, 1] == t32[:, 2], axis=1)
        | np.all(t32[:, 0] == t32[:, 2], axis=1)
    )
    return int(np.sum(repeated | tiny | same32))


def fitting_printer(
    parts: Mapping[str, trimesh.Trimesh], printers: Mapping[str, Sequence[float]]
) -> str | None:
    """First printer (catalog order) whose build volume [x, y, z] mm holds every part.

    A part may be turned 90 degrees about z (x and y swapped), never tipped over.
    """
    sizes = [np.asarray(m.extents, dtype=float) for m in parts.values()]
    for name, volume in printers.items():
        bx, by, bz = (float(v) for v in volume)
        if all(
            s[2] <= bz and ((s[0] <= bx and s[1] <= by) or (s[1] <= bx and s[0] <= by))
            for s in sizes
        ):
            return name
    return None


def sampled_thickness(
    mesh: trimesh.Trimesh, *, samples: int = WALL_SAMPLES, seed: int = 0
) -> float:
    """Thinnest wall (mm) seen by ``samples`` inward rays; ``inf`` for an empty mesh."""
    return thinnest_wall(mesh, samples=samples, seed=seed)[0]


def thinnest_wall(
    mesh: trimesh.Trimesh, *, samples: int = WALL_SAMPLES, seed: int = 0
) -> tuple[float, tuple[float, float, float] | None]:
    """(thinnest sampled wall mm, the sampled point (x, y, z) mm) — see below.

    Sampling (documented, seeded, ``numpy.random.default_rng(seed)``): half of the samples
    draw faces with probability proportional to area (the big walls), half draw faces
    uniformly (small faces sit on small features — holes, bosses, slots — where thin walls
    hide); duplicates are dropped. From each face centre a ray is cast along the
    inward normal (starting 1e-4 mm inside) and the distance to the first surface it meets is
    that point's wall thickness. A ray whose exit surface is within 60 degrees of parallel to
    it (``|cos| < GRAZING_COS``) met an edge or a curved rim, not an opposite wall, and is
    not counted. Rays use manifold3d's BVH ray cast.
    """
    from manifold3d import Manifold, Mesh64

    faces = np.asarray(mesh.faces)
    if len(faces) == 0:
        return math.inf, None
    verts = np.array(mesh.vertices, dtype=np.float64)
    solid = Manifold(Mesh64(vert_properties=verts, tri_verts=np.array(faces, dtype=np.uint64)))
    tri = verts[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    ok = area > DEGENERATE_AREA
    if not np.any(ok):
        return math.inf, None
    rng = np.random.default_rng(seed)
    by_area = np.where(ok, area, 0.0)
    by_face = ok.astype(np.float64)
    k = min(samples // 2, int(ok.sum()))
    idx = np.unique(
        np.concatenate(
            [
                rng.choice(len(faces), size=k, replace=False, p=by_area / by_area.sum()),
                rng.choice(len(faces), size=k, replace=False, p=by_face / by_face.sum()),
            ]
        )
    )
    normals = cross[idx] / area[idx, None]
    centres = tri[idx].mean(axis=1)
    reach = float(np.linalg.norm(mesh.extents)) + 1.0
    best, where = math.inf, None
    for c, n in zip(centres, normals, strict=True):
        origin = c - 1e-4 * n
        hits = solid.ray_cast(tuple(origin), tuple(origin - reach * n))
        if hits and float(np.dot(hits[0].normal, -n)) >= GRAZING_COS:
            d = float(np.linalg.norm(np.asarray(hits[0].position) - c))
            if d < best:
                best, where = d, (float(c[0]), float(c[1]), float(c[2]))
    return best, where
