"""What ``configurator catalog check`` does beyond loading a catalog: evaluate it as the
optimizer does (an expression non-finite at the defaults or at every sampled design is a
problem at its line), and build seeded sample designs of the family and report every
failed mesh check; each as a ``PATH:LINE:COL`` problem."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from configurator.adapters.catalog_yaml import locate
from configurator.core.design.sanity import nonfinite_issues
from configurator.core.design.space import DesignSpace
from configurator.errors import GeometryError, Problem, RequirementsError
from configurator.services.geometry import build_design, check_parts


def check_catalog_evaluation(catalog: Any, *, samples: int = 256, seed: int = 0) -> list[Problem]:
    """Every derived value, objective, constraint margin or volume of ``catalog`` that is
    non-finite at the defaults or at every sampled design, at its ``PATH:LINE:COL``, with
    its expression (:func:`~configurator.core.design.sanity.nonfinite_issues`)."""
    return locate(catalog, nonfinite_issues(catalog, samples=samples, seed=seed))


def check_catalog_meshes(catalog: Any, *, samples: int = 3, seed: int = 0) -> list[Problem]:
    """Build ``samples`` seeded feasible designs of ``catalog`` and report every failed mesh
    check as a :class:`~configurator.errors.Problem` (path, line of ``volume:`` for a volume
    disagreement, else line 0). Designs come from the catalog's default requirements and
    from seeded random requirements; an empty list means every sample passed."""
    path = str(catalog.path) if catalog.path else catalog.id
    problems: list[Problem] = []
    for k, values in enumerate(sample_designs(catalog, samples=samples, seed=seed)):
        label = f"sample {k + 1} (seed {seed})"
        try:
            parts = build_design(catalog, values, check=False)
            report = check_parts(catalog, parts)
        except GeometryError as exc:
            problems.append(Problem(path, 0, 0, f"mesh: {label}: {exc}"))
            continue
        for r in report.failures:
            where = f"[{r.part}] " if r.part else ""
            line = _key_line(catalog, "volume") if r.name == "volume" else 0
            problems.append(
                Problem(
                    path,
                    line,
                    1 if line else 0,
                    f"mesh check '{r.name}' failed for {label} ({_brief(values, catalog)}): "
                    f"{where}{r.detail}",
                )
            )
    return problems


def sample_designs(catalog: Any, *, samples: int, seed: int) -> list[dict[str, Any]]:
    """Up to ``samples`` feasible designs (values dicts), deterministic for ``seed``.

    The first comes from the default requirements; the others from requirements drawn
    uniformly in their ranges. For each, 256 seeded random parameter vectors are evaluated
    and the first feasible one is kept (requirements with no feasible draw are skipped;
    at most ``20 * samples`` attempts).
    """
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    attempts = 0
    while len(out) < samples and attempts < 20 * samples:
        attempts += 1
        if attempts == 1:
            reqs: dict[str, Any] = {}
        else:
            reqs = {}
            for name, spec in catalog.requirements.items():
                if spec.type == "real" and spec.min is not None and spec.max is not None:
                    reqs[name] = float(rng.uniform(spec.min, spec.max))
                elif spec.type == "int" and spec.min is not None and spec.max is not None:
                    reqs[name] = int(rng.integers(int(spec.min), int(spec.max) + 1))
        try:
            space = DesignSpace(catalog, requirements=reqs)
        except RequirementsError:
            continue
        X = space.repair(rng.uniform(space.xl, space.xu, size=(256, space.n_var)))
        ev = space.evaluate(X)
        feasible = np.flatnonzero(ev.feasible)
        if len(feasible):
            out.append(space.values(X[feasible[0]]))
    return out


def _brief(values: Mapping[str, Any], catalog: Any) -> str:
    shown = [*catalog.parameters, "material"]
    return ", ".join(f"{k}={_short(values.get(k))}" for k in shown if k in values)


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _key_line(catalog: Any, key: str) -> int:
    """1-based line of a top-level ``key:`` in the catalog file (plain text search), or 0."""
    try:
        text = Path(catalog.path).read_text(encoding="utf-8")
    except (OSError, TypeError):
        return 0
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for i, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return i
    return 0
