#!/usr/bin/env python
"""Make the slicer data set: sample designs, slice every part with PrusaSlicer, write CSV.

For every catalog in ``catalogs/`` (``--per-catalog`` designs each, seeded): draw random
requirements inside their bounds and a catalog material, build a DesignSpace, draw random
parameter vectors and keep a random feasible one, build its checked meshes with the geometry
service, lay its parts out on one plate (as the farm prints a piece) and slice the plate
with every bundled FDM profile (``configurator/adapters/data/profiles``: base + PLA,
PETG, ABS). ``--primitives N`` adds N seeded simple solids (boxes, cylinders, tubes, cups,
inverted cones, spheres, tables) for coverage outside the catalogs' shapes.

Every design is sliced with every profile, whatever material the design was sampled with: the
estimator is per slicer profile, and a catalog material without a profile (e.g. Ti-6Al-4V
for the bone plate) is estimated with a stand-in profile (docs/estimate.md).

Writes the CSV (``--out``) and, beside it, ``<stem>.json``: PrusaSlicer version, profile
files with sha256 and merged settings, seed, counts, catalogs with their content hashes.
Same seed + same slicer -> identical bytes. Slicing runs in a process pool (``--workers``).

    .venv/bin/python scripts/make_slicer_dataset.py --seed 7 --per-catalog 150 --primitives 60
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from configurator.adapters.dataset import DATASET_PATH, dumps
from configurator.adapters.slicer import (
    PROFILE_DIR,
    SlicerProfile,
    bundled_materials,
    slice_stl,
    slicer_version,
)
from configurator.core.estimate.features import DEFAULT_LAYER_HEIGHT, mesh_features
from configurator.errors import ConfiguratorError

# ---------------------------------------------------------------- sampling: catalogs


def _sample_requirement(param: Any, rng: np.random.Generator) -> Any:
    kind = getattr(param, "type", "real")
    if kind == "choice":
        return param.options[int(rng.integers(len(param.options)))]
    if kind == "bool":
        return bool(rng.integers(2))
    if kind == "int":
        return int(rng.integers(int(param.min), int(param.max) + 1))
    return float(rng.uniform(float(param.min), float(param.max)))


def catalog_parts(
    catalog: Any, *, n_designs: int, seed: int, tries: int = 40, pop: int = 64
) -> list[dict[str, Any]]:
    """``n_designs`` feasible seeded designs of ``catalog`` -> one dict per design.

    The mesh is the whole design as the farm prints one piece: every part on one plate,
    side by side (:func:`configurator.services.estimate.service.plate_mesh`).
    """
    from configurator.core.design.space import DesignSpace
    from configurator.services.estimate.service import plate_mesh
    from configurator.services.geometry import build_design

    rng = np.random.default_rng(
        [seed, int(hashlib.sha256(catalog.id.encode()).hexdigest()[:8], 16)]
    )
    materials = sorted(catalog.materials)
    out: list[dict[str, Any]] = []
    designs = 0
    for _ in range(n_designs * tries):
        if designs >= n_designs:
            break
        req = {name: _sample_requirement(p, rng) for name, p in catalog.requirements.items()}
        material = materials[int(rng.integers(len(materials)))]
        try:
            space = DesignSpace(catalog, requirements=req, material=material)
        except ConfiguratorError:
            continue
        X = rng.uniform(space.xl, space.xu, size=(pop, len(space.xl)))
        X = space.repair(X)
        ev = space.evaluate(X)
        feasible = np.flatnonzero(ev.feasible)
        if len(feasible) == 0:
            continue
        x = X[feasible[int(rng.integers(len(feasible)))]]
        record = space.record(x)
        try:  # the checked meshes the farm would print
            parts = build_design(catalog, record, check=True)
        except ConfiguratorError as exc:
            print(f"dataset: {catalog.id}: design skipped ({exc})", file=sys.stderr)
            continue
        out.append(
            {
                "source": "catalog",
                "catalog": catalog.id,
                "design_id": record.design_id,
                "part": "+".join(parts.meshes),
                "group": f"{catalog.id}:{record.design_id}",
                "design_material": material,
                "mesh": plate_mesh(parts.meshes),
            }
        )
        designs += 1
    if designs < n_designs:
        print(
            f"dataset: {catalog.id}: only {designs}/{n_designs} feasible designs", file=sys.stderr
        )
    return out


# ---------------------------------------------------------------- sampling: primitives


def _primitive(kind: str, rng: np.random.Generator) -> trimesh.Trimesh:
    u = rng.uniform
    if kind == "box":
        return trimesh.creation.box((u(5, 150), u(5, 150), u(2, 80)))
    if kind == "cylinder":
        return trimesh.creation.cylinder(radius=u(3, 60), height=u(2, 100), sections=96)
    if kind == "tube":
        r = u(6, 60)
        return trimesh.creation.annulus(
            r_min=r - u(1.2, 0.5 * r), r_max=r, height=u(3, 100), sections=96
        )
    if kind == "cup":
        lx, ly, h, wall = u(15, 140), u(15, 140), u(8, 70), u(1.2, 5)
        outer = trimesh.creation.box((lx, ly, h))
        inner = trimesh.creation.box((lx - 2 * wall, ly - 2 * wall, h))
        inner.apply_translation((0, 0, wall + 1e-3))
        return trimesh.boolean.difference([outer, inner], engine="manifold")
    if kind == "cone":  # inverted frustum standing on its small end: overhangs all round
        r0, h = u(4, 20), u(5, 60)
        r1 = r0 + h * u(0.2, 1.2)
        cone = trimesh.creation.cone(radius=r1, height=h * r1 / (r1 - r0), sections=96)
        cut = trimesh.creation.box((4 * r1, 4 * r1, h))
        cut.apply_translation((0, 0, h / 2))
        part = trimesh.boolean.intersection([cone, cut], engine="manifold")
        part.apply_transform(trimesh.transformations.rotation_matrix(np.pi, (1, 0, 0)))
        return part
    if kind == "sphere":
        return trimesh.creation.icosphere(subdivisions=4, radius=u(4, 45))
    if kind == "table":  # a plate on four legs: bridges and overhangs
        lx, ly, t, h, leg = u(20, 120), u(20, 120), u(1.5, 6), u(5, 50), u(3, 10)
        parts = [trimesh.creation.box((lx, ly, t))]
        parts[0].apply_translation((0, 0, h + t / 2))
        for sx in (-1, 1):
            for sy in (-1, 1):
                b = trimesh.creation.box((leg, leg, h + 0.5))
                b.apply_translation((sx * (lx - leg) / 2, sy * (ly - leg) / 2, (h + 0.5) / 2))
                parts.append(b)
        return trimesh.boolean.union(parts, engine="manifold")
    raise ValueError(kind)


PRIMITIVES = ("box", "cylinder", "tube", "cup", "cone", "sphere", "table")


def primitive_parts(n: int, *, seed: int) -> list[dict[str, Any]]:
    """``n`` seeded primitive solids, one dict per mesh."""
    rng = np.random.default_rng([seed, 0x5EED])
    out = []
    for i in range(n):
        kind = PRIMITIVES[i % len(PRIMITIVES)]
        mesh = _primitive(kind, rng)
        digest = hashlib.sha256(np.round(mesh.vertices, 6).tobytes()).hexdigest()[:16]
        out.append(
            {
                "source": "primitive",
                "catalog": "",
                "design_id": digest,
                "part": kind,
                "group": f"primitive:{digest}",
                "design_material": "",
                "mesh": mesh,
            }
        )
    return out


# ---------------------------------------------------------------- slicing


def _slice_job(args: tuple[str, str, str]) -> tuple[float, float, float] | str:
    """One slice -> (seconds, filament mm, grams), or the error line when it failed."""
    stl, material, workdir = args
    try:
        res = slice_stl(stl, profile=material, workdir=Path(workdir) / material)
    except ConfiguratorError as exc:
        return str(exc)
    res.gcode_path.unlink(missing_ok=True)
    return res.seconds, res.filament_mm, res.filament_g


class SliceCache:
    """Results by (STL sha256, profile sha256) in a JSON-lines file, so an interrupted run
    resumes where it stopped. Failures are not cached."""

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict[str, list[float]] = {}
        if path is not None and path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    key, value = json.loads(line)
                except ValueError:
                    continue  # a line cut short by an interruption
                self.data[key] = value

    def get(self, key: str) -> list[float] | None:
        return self.data.get(key)

    def put(self, key: str, value: tuple[float, float, float]) -> None:
        self.data[key] = list(value)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps([key, list(value)]) + "\n")


def _profile_digest(material: str) -> str:
    h = hashlib.sha256()
    for f in SlicerProfile.bundled(material).files:
        h.update(f.read_bytes())
    return h.hexdigest()


def slice_parts(
    parts: list[dict[str, Any]],
    *,
    materials: list[str],
    workers: int,
    cache: SliceCache | None = None,
    layer_height: float = DEFAULT_LAYER_HEIGHT,
) -> tuple[list[dict[str, Any]], list[str]]:
    """``(rows, failures)``: features + one slicer result per (part, material), input order.

    A slice that fails is reported in ``failures`` and its row left out.
    """
    cache = cache or SliceCache(None)
    digests = {m: _profile_digest(m) for m in materials}
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slicer-dataset-") as tmp:
        feats, keys, todo = [], [], []
        for i, part in enumerate(parts):
            mesh: trimesh.Trimesh = part["mesh"]
            feats.append(mesh_features(mesh, layer_height=layer_height))
            blob = mesh.export(file_type="stl")
            stl = Path(tmp) / f"part{i:05d}.stl"
            stl.write_bytes(blob)
            digest = hashlib.sha256(blob).hexdigest()
            for m in materials:
                key = f"{digest}:{digests[m]}"
                keys.append(key)
                if cache.get(key) is None:
                    todo.append((key, (str(stl), m, tmp)))
        t0 = time.perf_counter()
        errors: dict[str, str] = {}
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (key, job), res in zip(
                todo, pool.map(_slice_job, [j for _, j in todo], chunksize=1), strict=True
            ):
                if isinstance(res, str):
                    errors[key] = f"{Path(job[0]).name} {job[1]}: {res}"
                else:
                    cache.put(key, res)
        print(
            f"dataset: sliced {len(todo)} jobs ({len(keys) - len(todo)} cached) "
            f"in {time.perf_counter() - t0:.0f} s, {len(errors)} failed",
            file=sys.stderr,
        )
    it = iter(keys)
    for part, f in zip(parts, feats, strict=True):
        for m in materials:
            key = next(it)
            if key in errors:
                failures.append(f"{part['group']}: {errors[key]}")
                continue
            seconds, mm, grams = cache.get(key)
            row = {k: v for k, v in part.items() if k != "mesh"}
            row.update(material=m, **f, seconds=seconds, filament_mm=mm, grams=grams)
            rows.append(row)
    return rows, failures


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-catalog", type=int, default=150, help="designs per catalog")
    ap.add_argument("--primitives", type=int, default=0, help="extra primitive solids")
    ap.add_argument("--catalogs", type=Path, default=None, help="catalog directory")
    ap.add_argument("--no-catalogs", action="store_true", help="primitives only")
    ap.add_argument("--materials", nargs="+", default=None, help="profiles (default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=DATASET_PATH)
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(".configurator/slicer-dataset-cache.jsonl"),
        help="slice results by STL + profile hash, to resume an interrupted run",
    )
    args = ap.parse_args(argv)

    materials = args.materials or bundled_materials()
    catalogs_meta = []
    parts: list[dict[str, Any]] = []
    try:
        if not args.no_catalogs:
            from configurator.adapters.catalog_yaml import load_catalogs
            from configurator.settings import Settings

            directory = args.catalogs or Settings().catalog_dir
            catalogs = load_catalogs(directory)
            for cid in sorted(catalogs):
                cat = catalogs[cid]
                got = catalog_parts(cat, n_designs=args.per_catalog, seed=args.seed)
                parts.extend(got)
                catalogs_meta.append(
                    {
                        "id": cid,
                        "content_hash": cat.content_hash,
                        "designs": len({p["design_id"] for p in got}),
                        "parts": len(got),
                    }
                )
                print(f"dataset: {cid}: {len(got)} parts", file=sys.stderr)
        parts.extend(primitive_parts(args.primitives, seed=args.seed))
        if not parts:
            raise ConfiguratorError("nothing to slice (no catalogs and no primitives)")
        rows, failures = slice_parts(
            parts, materials=materials, workers=args.workers, cache=SliceCache(args.cache)
        )
        version = slicer_version()
    except ConfiguratorError as exc:
        print(f"make_slicer_dataset: error: {exc}", file=sys.stderr)
        return 2

    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(rows)
    args.out.write_text(text, encoding="utf-8")
    profiles = {m: SlicerProfile.bundled(m) for m in materials}
    meta = {
        "prusa_slicer_version": version,
        "seed": args.seed,
        "per_catalog": args.per_catalog,
        "primitives": args.primitives,
        "rows": len(rows),
        "failed_slices": failures,
        "csv_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "layer_height_mm": DEFAULT_LAYER_HEIGHT,
        "catalogs": catalogs_meta,
        "profiles": {
            m: {
                "files": {
                    str(f.relative_to(PROFILE_DIR.parent.parent.parent.parent)): _sha256(f)
                    for f in p.files
                },
                "settings": p.settings(),
            }
            for m, p in profiles.items()
        },
        "command": (
            f"scripts/make_slicer_dataset.py --seed {args.seed} --per-catalog {args.per_catalog}"
            f" --primitives {args.primitives} --materials {' '.join(materials)}"
            + (" --no-catalogs" if args.no_catalogs else "")
        ),
    }
    args.out.with_suffix(".json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"dataset: wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
