"""The structured report for requirements that no design can meet.

Built from the least violating design a run found: which constraints it violates, by
how much (the catalog's message and units), and — when the caller can rebuild the space
with other requirements — which single requirement change would admit feasible designs
(found by sampling the space at the catalog's requirement limits, then bisecting to the
smallest change that still samples feasible designs). The least violating design is
described, never returned as a result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from configurator.engines.optimize.problem import DesignSpaceLike, search_bounds
from configurator.errors import ConfiguratorError


class ConstraintViolation(BaseModel):
    """One violated constraint of the least violating design (margin < 0)."""

    name: str
    message: str
    margin: float = Field(description="constraint margin; negative = violated by -margin")
    violation: float = Field(ge=0, description="how far the constraint is missed (= -margin)")
    unit: str | None = None


class RequirementChange(BaseModel):
    """A single requirement change under which sampled designs become feasible."""

    name: str
    label: str | None = None
    current: Any
    suggested: Any
    direction: Literal["increase", "decrease", "change"]
    unit: str | None = None
    text: str


class InfeasibilityReport(BaseModel):
    """Why no feasible design was found."""

    summary: str
    evaluations: int
    violations: list[ConstraintViolation]
    least_violating: dict[str, Any] = Field(
        description="parameter values of the least violating design (NOT a result)"
    )
    requirement_changes: list[RequirementChange] = Field(default_factory=list)


class RequirementSpec(BaseModel):
    """A requirement the probe may vary: its current value and catalog range/options."""

    name: str
    type: Literal["real", "int", "choice", "bool"]
    current: Any
    min: float | None = None
    max: float | None = None
    options: list[Any] | None = None
    unit: str | None = None
    label: str | None = None


#: ``factory({name: value}) -> space`` with that requirement overridden (raises on bad value)
SpaceFactory = Callable[[Mapping[str, Any]], DesignSpaceLike]


def _fmt(v: Any) -> str:
    """A number for people: 4 significant digits, thousands separated, no exponent."""
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return str(v)
    v = float(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _round_towards(v: float, digits: int, direction: str) -> float:
    """``v`` to ``digits`` significant digits, rounded down ("decrease") or up ("increase")."""
    if v == 0 or not np.isfinite(v):
        return v
    q = 10.0 ** (int(np.floor(np.log10(abs(v)))) - digits + 1)
    r = np.floor(v / q) * q if direction == "decrease" else np.ceil(v / q) * q
    return float(np.round(r, 12))


def expression_unit(catalog: Any, expr: str) -> str | None:
    """Unit of a constraint ``A <op> B`` whose one side is a bare name with a unit.

    Looks the name up among requirements, parameters and derived values of ``catalog``;
    None when the expression is not a single comparison or no side has a known unit.
    """
    import ast

    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    for side in (node.left, node.comparators[0]):
        if isinstance(side, ast.Name):
            unit = _unit_of(catalog, side.id)
            if unit:
                return unit
    return None


def _unit_of(catalog: Any, name: str) -> str | None:
    for section in ("requirements", "parameters"):
        spec = (getattr(catalog, section, None) or {}).get(name)
        if spec is not None:
            return getattr(spec, "unit", None)
    if name in (getattr(catalog, "derived", None) or {}):
        derived_unit = getattr(catalog, "derived_unit", None)
        return derived_unit(name) if derived_unit else None
    return None


def constraint_violations(space: DesignSpaceLike, x: np.ndarray) -> list[ConstraintViolation]:
    """Violated constraints of design ``x`` (n_var,), worst first (relative to the catalog)."""
    ev = space.evaluate(np.asarray(x, dtype=float)[None, :])
    info = _constraint_info(space, x)
    out = []
    for name in space.constraint_names:
        margin = float(np.asarray(ev.margins[name]).ravel()[0])
        if margin < 0:
            message, unit = info.get(name, (name, None))
            out.append(
                ConstraintViolation(
                    name=name, message=message, margin=margin, violation=-margin, unit=unit
                )
            )
    G = np.asarray(ev.G, dtype=float).ravel()
    order = {n: i for i, n in enumerate(space.constraint_names)}
    # worst first by the (scaled) pymoo violation, then by name
    out.sort(key=lambda v: (-(G[order[v.name]] if order[v.name] < len(G) else v.violation), v.name))
    return out


def _constraint_info(space: DesignSpaceLike, x: np.ndarray) -> dict[str, tuple[str, str | None]]:
    """name -> (message, unit) from the design record (falls back to the catalog)."""
    info: dict[str, tuple[str, str | None]] = {}
    try:
        record = space.record(np.asarray(x, dtype=float))
        for name, c in dict(getattr(record, "constraints", {}) or {}).items():
            get = c.get if isinstance(c, Mapping) else lambda k, d=None, c=c: getattr(c, k, d)
            info[name] = (str(get("message", None) or name), get("unit", None))
    except ConfiguratorError:
        pass
    catalog = getattr(space, "catalog", None)
    for c in getattr(catalog, "constraints", None) or []:
        name = getattr(c, "name", None)
        if name is None:
            continue
        message, unit = info.get(name, (getattr(c, "message", None) or name, None))
        if unit is None:
            unit = getattr(c, "unit", None) or expression_unit(catalog, str(c.expr))
        info[name] = (message, unit)
    return info


class _Prober:
    """Samples a space (seeded LHS + the run's least violating designs) for feasibility."""

    def __init__(self, factory: SpaceFactory, seeds_X: np.ndarray, *, samples: int, seed: int):
        self.factory = factory
        self.seeds_X = seeds_X
        self.samples = samples
        self.seed = seed

    def feasible(self, overrides: Mapping[str, Any]) -> bool:
        try:
            space = self.factory(overrides)
        except ConfiguratorError:
            return False
        xl, xu = search_bounds(space)
        rng = np.random.default_rng(self.seed)
        n, d = self.samples, len(xl)
        # Latin hypercube: one stratum per sample in each dimension, shuffled per column
        U = (rng.permuted(np.tile(np.arange(n), (d, 1)), axis=1).T + rng.random((n, d))) / n
        X = xl + U * (xu - xl)
        if self.seeds_X is not None and len(self.seeds_X) and self.seeds_X.shape[1] == d:
            X = np.vstack([self.seeds_X, X])
        X = np.asarray(space.repair(X), dtype=float)
        return bool(np.any(np.asarray(space.evaluate(X).feasible, dtype=bool)))


def suggest_changes(
    factory: SpaceFactory,
    requirements: Sequence[RequirementSpec],
    *,
    seeds_X: np.ndarray,
    samples: int = 512,
    bisections: int = 10,
    seed: int = 0,
) -> list[RequirementChange]:
    """Single requirement changes that admit feasible (sampled) designs, smallest first.

    For a numeric requirement each direction is tried at the catalog limit; where that
    samples feasible designs, the value is bisected ``bisections`` times towards the
    current one. Choice/bool requirements try every other option.
    """
    prober = _Prober(factory, seeds_X, samples=samples, seed=seed)
    found: list[tuple[float, RequirementChange]] = []
    for req in requirements:
        if req.type in ("real", "int") and req.min is not None and req.max is not None:
            found.extend(_numeric(prober, req, bisections))
        else:
            found.extend(_categorical(prober, req))
    found.sort(key=lambda t: (t[0], t[1].name, str(t[1].suggested)))
    return [c for _, c in found]


def _numeric(prober: _Prober, req: RequirementSpec, bisections: int):
    cur = float(req.current)
    span = float(req.max) - float(req.min) or 1.0
    unit = f" {req.unit}" if req.unit else ""
    for end, direction in ((float(req.min), "decrease"), (float(req.max), "increase")):
        if end == cur or not prober.feasible({req.name: _cast(req, end)}):
            continue
        bad, good = cur, end
        for _ in range(bisections):
            mid = (bad + good) / 2.0
            if req.type == "int" and round(mid) in (round(bad), round(good)):
                break
            if prober.feasible({req.name: _cast(req, mid)}):
                good = mid
            else:
                bad = mid
        value = _cast(req, good)
        # the roundest value on the feasible side within 2 % of the change that still samples
        # feasible designs (bisection noise is not worth showing)
        slack = 0.02 * abs(float(good) - cur)
        for digits in (1, 2, 3, 4):
            nice = _cast(req, _round_towards(float(good), digits, direction))
            inside = float(req.min) <= float(nice) <= float(req.max)
            close = abs(float(nice) - float(good)) <= slack
            if inside and close and (nice == value or prober.feasible({req.name: nice})):
                value = nice
                break
        op = "<=" if direction == "decrease" else ">="
        text = f"{req.label or req.name} {op} {_fmt(value)}{unit} (now {_fmt(req.current)}{unit})"
        yield (
            abs(float(value) - cur) / span,
            RequirementChange(
                name=req.name,
                label=req.label,
                current=req.current,
                suggested=value,
                direction=direction,
                unit=req.unit,
                text=text,
            ),
        )


def _categorical(prober: _Prober, req: RequirementSpec):
    options = (
        req.options if req.options is not None else ([False, True] if req.type == "bool" else [])
    )
    for opt in options:
        if opt == req.current or not prober.feasible({req.name: opt}):
            continue
        text = f"{req.label or req.name} = {opt} (now {_fmt(req.current)})"
        yield (
            1.0,
            RequirementChange(
                name=req.name,
                label=req.label,
                current=req.current,
                suggested=opt,
                direction="change",
                unit=req.unit,
                text=text,
            ),
        )


def _cast(req: RequirementSpec, v: float) -> Any:
    if req.type == "int":
        return int(round(v))
    return float(np.round(v, 6))


def build_report(
    space: DesignSpaceLike,
    least_X: np.ndarray,
    *,
    evaluations: int,
    changes: list[RequirementChange] | None = None,
) -> InfeasibilityReport:
    """Report for a run without feasible designs; ``least_X`` (k, n_var), best first."""
    x = np.asarray(least_X, dtype=float)[0]
    violations = constraint_violations(space, x)
    parts = []
    for v in violations[:3]:
        unit = f" {v.unit}" if v.unit else ""
        parts.append(f"'{v.message}' ({v.name}) missed by {_fmt(v.violation)}{unit}")
    summary = f"no feasible design in {evaluations} evaluations"
    if parts:
        summary += "; least violated: " + "; ".join(parts)
    if changes:
        summary += "; would need " + " or ".join(c.text for c in changes[:3])
    decoded = space.decode(x)
    return InfeasibilityReport(
        summary=summary,
        evaluations=evaluations,
        violations=violations,
        least_violating={k: _plain(v) for k, v in decoded.items()},
        requirement_changes=list(changes or []),
    )


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
