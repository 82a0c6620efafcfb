"""Mesh conformance, parametrized over every catalog in catalogs/.

A new family (one YAML + one registered generator) gets all of this for free: seeded
samples and hypothesis-drawn designs over the whole requirement/parameter space must give
meshes passing every check (watertight, one body, volume = the catalog's formula, printer
fit, wall thickness, ...); every STL written here must be clean under ``admesh`` and read
back by numpy-stl with the same triangle count and volume; one part per catalog is sliced
by PrusaSlicer into G-code with an estimated printing time, from its STL and from its 3MF
(same time and filament).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stl import mesh as npstl

from configurator.adapters.catalog_yaml import catalog_paths, load_catalog
from configurator.core.design.space import DesignSpace
from configurator.errors import RequirementsError
from configurator.services import catalog_check, geometry

REPO = Path(__file__).resolve().parents[2]
PATHS = catalog_paths(REPO / "catalogs")
CATALOGS = {p.stem: load_catalog(p) for p in PATHS}
SAMPLES = 3
EXAMPLES = int(os.environ.get("CONFIGURATOR_MESH_EXAMPLES", "6"))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def admesh_report(stl_path: Path) -> dict[str, int]:
    """Run admesh (its exit code is 0 even for broken meshes) and parse its report."""
    # admesh echoes the 80-byte STL header, which is not text (the design id's bytes):
    # decode leniently
    out = subprocess.run(
        [_tool("admesh"), str(stl_path)], capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    fields = {
        "facets": r"Number of facets\s*:\s*(\d+)",
        "disconnected": r"Total disconnected facets\s*:\s*\d+\s+(\d+)",
        "disconnected_original": r"Total disconnected facets\s*:\s*(\d+)",
        "parts": r"Number of parts\s*:\s*(\d+)",
        "degenerate": r"Degenerate facets\s*:\s*(\d+)",
        "edges_fixed": r"Edges fixed\s*:\s*(\d+)",
        "facets_removed": r"Facets removed\s*:\s*(\d+)",
        "facets_added": r"Facets added\s*:\s*(\d+)",
        "facets_reversed": r"Facets reversed\s*:\s*(\d+)",
        "backwards_edges": r"Backwards edges\s*:\s*(\d+)",
        "normals_fixed": r"Normals fixed\s*:\s*(\d+)",
    }
    report = {}
    for key, pattern in fields.items():
        m = re.search(pattern, out)
        assert m, f"admesh report has no {key!r}:\n{out}"
        report[key] = int(m.group(1))
    return report


def assert_clean_stl(path: Path, mesh) -> None:
    rep = admesh_report(path)
    assert rep["facets"] == len(mesh.faces)
    assert rep["disconnected_original"] == 0 and rep["disconnected"] == 0, rep
    assert rep["degenerate"] == 0 and rep["edges_fixed"] == 0, rep
    assert rep["facets_removed"] == rep["facets_added"] == rep["facets_reversed"] == 0, rep
    assert rep["backwards_edges"] == 0 and rep["normals_fixed"] == 0, rep
    assert rep["parts"] == 1, rep
    back = npstl.Mesh.from_file(str(path))
    assert len(back.vectors) == len(mesh.faces)
    v0, v1, v2 = (back.vectors[:, i].astype(np.float64) for i in range(3))
    volume = float(np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6.0)  # divergence thm
    assert volume == pytest.approx(float(mesh.volume), rel=1e-5)


@pytest.fixture(scope="module", params=sorted(CATALOGS))
def catalog(request):
    return CATALOGS[request.param]


@pytest.fixture(scope="module")
def samples(catalog):
    """Seeded feasible designs of the catalog, built and checked (module-cached)."""
    values = catalog_check.sample_designs(catalog, samples=SAMPLES, seed=0)
    assert len(values) == SAMPLES, "the catalog should have feasible designs to sample"
    out = []
    for v in values:
        parts = geometry.build_design(catalog, v, check=False)
        geometry.check_parts(catalog, parts)
        out.append(parts)
    return out


def test_seeded_samples_pass_every_check(samples):
    for parts in samples:
        assert parts.report.ok, [str(r) for r in parts.report.failures]
        expected = set(geometry.check_spec(CATALOGS[parts.catalog_id], parts.values).printers)
        assert parts.report.printer in expected


def test_mesh_volume_matches_the_catalog_formula_closely(samples):
    # The catalogs' formulas are exact for the generated shapes; the rest is faceting.
    for parts in samples:
        rel = sum(parts.volumes.values()) / parts.values["volume"] - 1
        assert abs(rel) < 2e-3, (parts.design_id, rel)


def test_every_stl_is_clean_under_admesh_and_reads_back(samples, tmp_path):
    for parts in samples:
        for name, data in geometry.export_parts(parts, "stl").items():
            path = tmp_path / f"{parts.design_id[:12]}-{name}.stl"
            path.write_bytes(data)
            assert_clean_stl(path, parts.meshes[name])


def test_export_is_byte_identical_for_the_same_design(catalog, samples):
    first = samples[0]
    geometry.clear_memory_cache()
    again = geometry.build_design(catalog, dict(first.values))
    assert again is not first and again.design_id == first.design_id
    for fmt in ("stl", "3mf"):
        assert geometry.export_parts(again, fmt) == geometry.export_parts(first, fmt)


@pytest.mark.external
def test_smallest_part_slices_from_stl_and_3mf_alike(samples, tmp_path):
    from configurator.adapters.slicer import slice_stl

    _tool("prusa-slicer")
    # the smallest part of all samples: quickest to slice
    parts, name = min(
        ((p, n) for p in samples for n in p.meshes),
        key=lambda pn: float(pn[0].meshes[pn[1]].volume),
    )
    path = tmp_path / f"{name}.stl"
    path.write_bytes(geometry.export_parts(parts, "stl")[name])
    result = slice_stl(path, profile="PLA", workdir=tmp_path)
    assert result.seconds > 0 and result.filament_mm > 0
    assert "; estimated printing time" in result.gcode_path.read_text(errors="replace")
    # the same part as 3MF: PrusaSlicer reads our package (units mm, one object) and gets
    # the same print (float32 STL vs decimal 3MF coordinates: a few seconds at most)
    path_3mf = tmp_path / f"{name}-3mf.3mf"
    path_3mf.write_bytes(geometry.export_parts(parts, "3mf")[name])
    from_3mf = slice_stl(path_3mf, profile="PLA", workdir=tmp_path)
    assert from_3mf.seconds == pytest.approx(result.seconds, rel=5e-3)
    assert from_3mf.filament_mm == pytest.approx(result.filament_mm, rel=5e-3)


def test_catalog_check_reports_no_mesh_problems(catalog):
    assert catalog_check.check_catalog_meshes(catalog, samples=2, seed=1) == []


@pytest.mark.parametrize("catalog_id", sorted(CATALOGS))
def test_hypothesis_over_the_whole_space(catalog_id):
    """Every in-bounds feasible design gives a mesh that passes every check."""
    catalog = CATALOGS[catalog_id]
    reqs = {
        name: st.floats(float(spec.min), float(spec.max), allow_nan=False)
        for name, spec in catalog.requirements.items()
        if spec.type == "real" and spec.min is not None and spec.max is not None
    }
    space0 = DesignSpace(catalog)
    n_var = space0.n_var

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )
    @given(
        requirements=st.fixed_dictionaries(reqs),
        point=st.lists(st.floats(0.0, 1.0), min_size=n_var, max_size=n_var),
        seed=st.integers(0, 2**16),
    )
    def check(requirements, point, seed):
        try:
            space = DesignSpace(catalog, requirements=requirements)
        except RequirementsError:
            assume(False)
        # the drawn point, else the feasible design nearest to it among seeded candidates
        target = space.xl + np.asarray(point) * (space.xu - space.xl)
        rng = np.random.default_rng(seed)
        X = space.repair(np.vstack([target, rng.uniform(space.xl, space.xu, (2048, n_var))]))
        ev = space.evaluate(X)
        feasible = np.flatnonzero(ev.feasible)
        assume(len(feasible) > 0)
        span = np.where(space.xu > space.xl, space.xu - space.xl, 1.0)
        best = feasible[np.argmin(np.linalg.norm((X[feasible] - target) / span, axis=1))]
        values = space.values(X[best])
        parts = geometry.build_design(catalog, values, check=False)
        report = geometry.check_parts(catalog, parts)
        assert report.ok, [f"{r.part}: {r.name}: {r.detail}" for r in report.failures]

    check()
