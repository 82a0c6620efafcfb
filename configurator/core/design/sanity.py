"""Does a catalog evaluate like the optimizer needs it to? (``configurator catalog check``)

The optimizer evaluates every derived value, objective, constraint margin and the
``volume`` for whole populations; a design with a non-finite one is never feasible, and
the design record of one cannot be made (``design-space`` refuses it). A catalog whose
expression is non-finite at the catalog defaults, or at every design sampled, is broken
for every customer — yet loads fine. :func:`nonfinite_issues` evaluates the catalog as the
optimizer does (vectorized, analytic print estimator for host functions) at the defaults
and at ``samples`` seeded designs (the default requirements and a few drawn in their
ranges) and reports each such expression as an :class:`~configurator.core.catalog.checks.Issue`
at its ``loc`` — the first in dependency order only: what reads a broken value is named in
the message, not reported again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from configurator.core.catalog.checks import Issue
from configurator.core.catalog.model import Catalog, Derived
from configurator.core.design.space import DesignSpace
from configurator.errors import RequirementsError

REQUIREMENT_DRAWS = 4


def _requirement_draws(catalog: Catalog, rng: np.random.Generator, n: int) -> list[dict]:
    out: list[dict[str, Any]] = [{}]
    for _ in range(n):
        reqs: dict[str, Any] = {}
        for name, spec in catalog.requirements.items():
            if spec.type == "real" and spec.min is not None and spec.max is not None:
                reqs[name] = float(rng.uniform(spec.min, spec.max))
            elif spec.type == "int" and spec.min is not None and spec.max is not None:
                reqs[name] = int(rng.integers(int(spec.min), int(spec.max) + 1))
        out.append(reqs)
    return out


def _entries(catalog: Catalog) -> list[tuple[str, str, tuple, Any]]:
    """(kind, name, loc, compiled) of everything evaluated, in dependency order."""
    program = catalog.program
    out = []
    for name in program.order:
        if name == "volume":
            out.append(("volume", name, ("volume",), program.derived[name]))
        else:
            spec = catalog.derived[name]
            loc = ("derived", name, "expr") if isinstance(spec, Derived) else ("derived", name)
            out.append(("derived value", name, loc, program.derived[name]))
    for name in catalog.objectives:
        out.append(("objective", name, ("objectives", name, "expr"), program.objectives[name]))
    for i, c in enumerate(catalog.constraints):
        out.append(("constraint", c.name, ("constraints", i, "expr"), program.constraints[c.name]))
    return out


def nonfinite_issues(catalog: Catalog, *, samples: int = 256, seed: int = 0) -> list[Issue]:
    """One :class:`Issue` per expression that is non-finite at the defaults or at every
    sampled design (see the module docstring); ``samples`` designs per requirement set."""
    rng = np.random.default_rng(seed)
    at_default: dict[str, float] = {}
    finite_somewhere: dict[str, bool] = {}
    for k, reqs in enumerate(_requirement_draws(catalog, rng, REQUIREMENT_DRAWS)):
        try:
            space = DesignSpace(catalog, requirements=reqs)
        except RequirementsError:
            continue
        X = space.repair(rng.uniform(space.xl, space.xu, size=(samples, space.n_var)))
        if k == 0:
            X = np.vstack([space.default_x()[None, :], X])
        ev = space.evaluate(X)
        values = {**ev.derived, **ev.objectives, **ev.margins}
        for name, arr in values.items():
            arr = np.broadcast_to(np.asarray(arr, dtype=float), (len(X),))
            if k == 0:
                at_default[name] = float(arr[0])
            finite_somewhere[name] = finite_somewhere.get(name, False) or bool(
                np.isfinite(arr).any()
            )
    issues: list[Issue] = []
    broken: set[str] = set()
    for kind, name, loc, compiled in _entries(catalog):
        key = name
        default = at_default.get(key)
        everywhere = not finite_somewhere.get(key, True)
        bad_default = default is not None and not np.isfinite(default)
        if not (bad_default or everywhere):
            continue
        causes = sorted(n for n in compiled.names if n in broken)
        broken.add(name)
        if causes:
            continue  # reported where it starts
        where = (
            f"at every one of the designs sampled (and at the catalog defaults: {default})"
            if everywhere
            else f"at the catalog defaults ({default})"
        )
        dependents = _dependents(catalog, name)
        also = f"; so are {', '.join(dependents)}" if dependents else ""
        issues.append(
            Issue(loc, f"{kind} {name!r} = {compiled.text.strip()} is not finite {where}{also}")
        )
    return issues


def _dependents(catalog: Catalog, root: str) -> list[str]:
    """Names whose expressions read ``root``, directly or through other derived values."""
    program = catalog.program
    reads = {n: c.names for n, c in program.derived.items()}
    reads.update({n: c.names for n, c in program.objectives.items()})
    reads.update({n: c.names for n, c in program.constraints.items()})
    tainted, changed = {root}, True
    while changed:
        changed = False
        for name, names in reads.items():
            if name not in tainted and names & tainted:
                tainted.add(name)
                changed = True
    tainted.discard(root)
    shown = sorted(tainted)
    return shown[:6] + ([f"{len(shown) - 6} more"] if len(shown) > 6 else [])
