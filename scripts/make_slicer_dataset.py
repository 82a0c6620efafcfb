#!/usr/bin/env python
"""Make a ground-truth data set (FDM, SLA or SLM): parts, the real tool on each, CSV.

Parts (seeded): ``--per-catalog`` feasible designs of every catalog in ``catalogs/`` (random
requirements and material, a random feasible parameter vector, the geometry service's
checked meshes laid out on one plate as the farm prints a piece) and ``--per-family`` parts
of every shape family of :mod:`configurator.core.estimate.families` (made independently of
the catalogs: small parts, towers, thin-walled tubes, cones, spheres, bars, plates with
holes, open boxes, large flat plates, overhangs, booleans). Parts that exceed the
technology's build volume are scaled down to fit.

Ground truth per ``--technology`` and every committed profile of it
(``configurator.adapters.profiles``):

* ``FDM``: PrusaSlicer G-code estimate (seconds, filament mm and g), PLA/PETG/ASA;
* ``SLA``: ``prusa-slicer --export-sla`` (``printTime`` s, ``usedMaterial`` ml x density),
  supports + pad on (``Resin``) and off (``Resin-nosupports``);
* ``SLM``: PySLM scan + jump time (every k-th of at most 100 layers, scaled) + recoat per
  layer; grams = part volume x density.

Writes the CSV (default: the committed ``configurator/adapters/data/<tech>_dataset.csv``)
and ``<stem>.json`` beside it: tool versions, profile files with sha256 and merged settings,
seed, counts, catalogs with content hashes, failures. Same seed + same tools -> identical
bytes. Tool runs go through a process pool (``--workers``) and a resumable cache.

    nice -n 10 .venv/bin/python scripts/make_slicer_dataset.py --technology FDM --seed 7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from configurator.adapters.dataset import DATASET_PATHS, dumps
from configurator.adapters.profiles import (
    profile_density,
    profile_names,
    profile_params,
    profile_settings,
    slicer_profile,
)
from configurator.adapters.pyslm import SLM_PROFILE, pyslm_version, scan_time
from configurator.adapters.slicer import slice_sla, slice_stl, slicer_version
from configurator.core.estimate.families import FAMILIES, family_parts, fit_within
from configurator.core.estimate.features import mesh_features
from configurator.core.estimate.technologies import FDM, SLA, SLM, technology_features
from configurator.core.geometry.layout import plate_mesh
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
    side by side (:func:`configurator.core.geometry.layout.plate_mesh`).
    """
    from configurator.core.design.space import DesignSpace
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
                "family": catalog.id,
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


# ---------------------------------------------------------------- sampling: families


def family_rows(n: int, *, seed: int, build: tuple[float, float, float]) -> list[dict[str, Any]]:
    """``n`` seeded parts of every shape family (core/estimate/families.py), fitted into the
    ``build`` volume (mm), one dict per mesh."""
    out = []
    made = {family: family_parts(family, n, seed=seed) for family in sorted(FAMILIES)}
    # round-robin (every family's part 0, then every family's part 1, ...): a run cut short
    # has covered every family evenly, and a smaller --per-family is a prefix of the cache
    for k in range(n):
        for family in sorted(FAMILIES):
            mesh = fit_within(made[family][k], build)
            digest = hashlib.sha256(np.round(mesh.vertices, 6).tobytes()).hexdigest()[:16]
            out.append(
                {
                    "source": "family",
                    "catalog": "",
                    "family": family,
                    "design_id": digest,
                    "part": f"{family}{k}",
                    "group": f"{family}:{digest}",
                    "design_material": "",
                    "mesh": mesh,
                }
            )
    return out


# ---------------------------------------------------------------- ground truth


def _truth_job(args: tuple[str, str, str, str]) -> tuple[float, float, float] | str:
    """One ground-truth run -> (seconds, filament mm, grams), or the error line."""
    technology, stl, profile, workdir = args
    try:
        if technology == FDM:
            res = slice_stl(stl, profile=profile, workdir=Path(workdir) / profile)
            res.gcode_path.unlink(missing_ok=True)
            return res.seconds, res.filament_mm, res.filament_g
        if technology == SLA:
            sla = slice_sla(
                stl, profile=slicer_profile(SLA, profile), workdir=Path(workdir) / profile
            )
            sla.archive_path.unlink(missing_ok=True)
            return sla.seconds, 0.0, sla.ml * profile_density(SLA, profile)
        mesh = trimesh.load(stl, force="mesh")
        layers = math.ceil(float(mesh.extents[2]) / SLM_LAYER - 1e-9)
        res = scan_time(mesh, stride=max(1, math.ceil(layers / SLM_SAMPLED_LAYERS)))
        return res.seconds, 0.0, float(mesh.volume) * profile_density(SLM, profile) / 1000.0
    except ConfiguratorError as exc:
        return str(exc)


#: SLM: PySLM hatches at most this many layers per part (every k-th, scaled; < 0.1 % off)
SLM_SAMPLED_LAYERS = 100
SLM_LAYER = 0.03


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


def _profile_files(technology: str, profile: str) -> list[Path]:
    if technology == SLM:
        return [SLM_PROFILE]
    return list(slicer_profile(technology, profile).files)


def _profile_digest(technology: str, profile: str) -> str:
    h = hashlib.sha256(f"{technology}:{SLM_SAMPLED_LAYERS}".encode())
    for f in _profile_files(technology, profile):
        h.update(f.read_bytes())
    return h.hexdigest()


def make_rows(
    parts: list[dict[str, Any]],
    *,
    technology: str,
    profiles: list[str],
    workers: int,
    cache: SliceCache | None = None,
) -> tuple[list[dict[str, Any]], list[str], float]:
    """``(rows, failures, tool seconds)``: features + one ground-truth result per
    (part, profile), in input order. A failed run is reported and its row left out."""
    cache = cache or SliceCache(None)
    digests = {m: _profile_digest(technology, m) for m in profiles}
    params = {m: profile_params(technology, m) for m in profiles}
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dataset-") as tmp:
        feats, keys, todo = [], [], []
        for i, part in enumerate(parts):
            mesh: trimesh.Trimesh = part["mesh"]
            shape = mesh_features(mesh)
            feats.append(
                {
                    m: {
                        **shape,
                        **technology_features(technology, mesh.vertices, mesh.faces, params[m]),
                    }
                    for m in profiles
                }
            )
            blob = mesh.export(file_type="stl")
            stl = Path(tmp) / f"part{i:05d}.stl"
            stl.write_bytes(blob)
            digest = hashlib.sha256(blob).hexdigest()
            for m in profiles:
                key = f"{digest}:{digests[m]}"
                keys.append(key)
                if cache.get(key) is None:
                    todo.append((key, (technology, str(stl), m, tmp)))
        t0 = time.perf_counter()
        errors: dict[str, str] = {}
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (key, job), res in zip(
                todo, pool.map(_truth_job, [j for _, j in todo], chunksize=1), strict=True
            ):
                if isinstance(res, str):
                    errors[key] = f"{Path(job[1]).name} {job[2]}: {res}"
                else:
                    cache.put(key, res)
        elapsed = time.perf_counter() - t0
        print(
            f"dataset: {technology}: {len(todo)} tool runs ({len(keys) - len(todo)} cached) "
            f"in {elapsed:.0f} s, {len(errors)} failed",
            file=sys.stderr,
        )
    it = iter(keys)
    for part, f in zip(parts, feats, strict=True):
        for m in profiles:
            key = next(it)
            if key in errors:
                failures.append(f"{part['group']}: {errors[key]}")
                continue
            seconds, mm, grams = cache.get(key)
            row = {k: v for k, v in part.items() if k != "mesh"}
            row.update(material=m, **f[m], seconds=seconds, filament_mm=mm, grams=grams)
            rows.append(row)
    return rows, failures, elapsed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tool_version(technology: str) -> dict[str, str]:
    if technology == SLM:
        return {"pythonslm": pyslm_version()}
    return {"prusa_slicer": slicer_version()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--technology", default=FDM, choices=[FDM, SLA, SLM])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-catalog", type=int, default=20, help="designs per catalog")
    ap.add_argument("--per-family", type=int, default=8, help="parts per shape family")
    ap.add_argument("--catalogs", type=Path, default=None, help="catalog directory")
    ap.add_argument("--no-catalogs", action="store_true", help="shape families only")
    ap.add_argument("--profiles", nargs="+", default=None, help="profiles (default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="CSV (default: the committed one)")
    ap.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="tool results by STL + profile hash, to resume an interrupted run "
        "(default: .configurator/dataset-cache-<technology>.jsonl)",
    )
    args = ap.parse_args(argv)
    tech = args.technology
    out = args.out or DATASET_PATHS[tech]
    build = BUILD_VOLUMES[tech]

    t_start = time.perf_counter()
    catalogs_meta = []
    parts: list[dict[str, Any]] = []
    try:
        profiles = args.profiles or profile_names(tech)
        if not args.no_catalogs:
            from configurator.adapters.catalog_yaml import load_catalogs
            from configurator.settings import Settings

            directory = args.catalogs or Settings().catalog_dir
            catalogs = load_catalogs(directory)
            for cid in sorted(catalogs):
                cat = catalogs[cid]
                got = catalog_parts(cat, n_designs=args.per_catalog, seed=args.seed)
                for p in got:
                    p["mesh"] = fit_within(p["mesh"], build)
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
        parts.extend(family_rows(args.per_family, seed=args.seed, build=build))
        if not parts:
            raise ConfiguratorError("nothing to make (no catalogs and no families)")
        rows, failures, tool_s = make_rows(
            parts,
            technology=tech,
            profiles=profiles,
            workers=args.workers,
            cache=SliceCache(args.cache or Path(f".configurator/dataset-cache-{tech}.jsonl")),
        )
        versions = _tool_version(tech)
    except ConfiguratorError as exc:
        print(f"make_slicer_dataset: error: {exc}", file=sys.stderr)
        return 2

    out.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(rows, technology=tech)
    out.write_text(text, encoding="utf-8")
    meta = {
        "technology": tech,
        "tools": versions,
        "prusa_slicer_version": versions.get("prusa_slicer"),
        "seed": args.seed,
        "per_catalog": 0 if args.no_catalogs else args.per_catalog,
        "per_family": args.per_family,
        "families": sorted(FAMILIES),
        "build_volume_mm": list(build),
        "rows": len(rows),
        "parts": len(parts),
        "failed_runs": failures,
        "csv_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "catalogs": catalogs_meta,
        "profiles": {
            m: {
                "files": {f.name: _sha256(f) for f in _profile_files(tech, m)},
                "settings": {k: str(v) for k, v in sorted(profile_settings(tech, m).items())},
            }
            for m in profiles
        },
        "slm_sampled_layers": SLM_SAMPLED_LAYERS if tech == SLM else None,
        "command": (
            f"scripts/make_slicer_dataset.py --technology {tech} --seed {args.seed} "
            f"--per-catalog {args.per_catalog} --per-family {args.per_family}"
            + (" --no-catalogs" if args.no_catalogs else "")
        ),
    }
    timing = {
        "tool_seconds_uncached_runs": round(tool_s, 1),
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }
    out.with_suffix(".json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"dataset: wrote {len(rows)} rows to {out} ({timing})", file=sys.stderr)
    return 0


#: parts are scaled down (never up) to fit the printer: FDM bed (the profile's 800 x 800 x
#: 400 mm), the SL1S display (128 x 81 x 150 mm), an EOS M290-like plate (250 x 250 x 325 mm)
BUILD_VOLUMES = {FDM: (800.0, 800.0, 400.0), SLA: (120.0, 75.0, 140.0), SLM: (240.0, 240.0, 300.0)}


if __name__ == "__main__":
    sys.exit(main())
